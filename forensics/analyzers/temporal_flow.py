"""Motion-compensated comparison of two consecutive video frames (OpenCV DIS optical flow).

The temporal analyzer asks one question of each frame pair: once the motion is undone,
how much of the current frame's *texture* is new? Real footage carries its texture along
with the motion (only sensor noise, compression and occlusions differ); frame-by-frame
img2img re-synthesises texture in every frame, so detail "boils" where the scene does not move.

Frames are compared as greyscale float32 images in [0, 1] at a fixed *analysis resolution*
(long side ``ANALYSIS_LONG_SIDE`` px by default), for speed and scale-independent bands.
The module also holds :func:`upright`, shared with the generator's video mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Long side (px) of the analysis resolution: every clip is resized to it (shrunk, or enlarged when smaller), so
#: the bands below are fixed fractions of the frame whatever the clip's size (the sea/sky clips' real ripples
#: flicker at 1-8 px of a 480 px frame, and are averaged away at 256 px).
ANALYSIS_LONG_SIDE = 256

#: Band-pass scales (Gaussian sigmas, px at analysis resolution) of the detail compared between frames.
#: "fine" (0-1 px) holds sensor noise, compression noise and the finest texture; "mid" (1-3 px) texture;
#: "coarse" (3-8 px) the blobs a latent-diffusion model re-creates from its 1/8-resolution latent cells
#: (one cell is 8 px of a 256 px generated frame) and that real footage keeps from frame to frame.
BANDS: dict[str, tuple[float, float]] = {"fine": (0.0, 1.0), "mid": (1.0, 3.0), "coarse": (3.0, 8.0)}

#: Blur (Gaussian sigma, px at analysis resolution) applied before flow estimation; see FramePairMeter.flow.
STRUCTURE_SIGMA = 1.5

#: Local band-pass amplitude (grey levels / 255) under which a region counts as flat.
_TEXTURE_FLOOR = 2.0 / 255.0
#: Forward-backward flow disagreement tolerated (px) before a pixel counts as occluded.
_FB_TOLERANCE_PX = 0.5
_FB_TOLERANCE_REL = 0.05


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A stored frame (H x W x 3) turned as players show it; ``rotation`` in degrees, counter-clockwise positive
    (the container's display matrix, as ``VideoInfo.rotation`` reports it)."""
    quarter_turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns)) if quarter_turns else rgb


def analysis_gray(rgb: np.ndarray, long_side: int = ANALYSIS_LONG_SIDE) -> np.ndarray:
    """RGB frame (H x W x 3 uint8) -> greyscale float32 in [0, 1], resized so its long side is ``long_side`` px."""
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def band_pass(image: np.ndarray, sigma_low: float, sigma_high: float) -> np.ndarray:
    """Difference of Gaussians: detail between ``sigma_low`` and ``sigma_high`` px (``sigma_low = 0``: all of it)."""
    low = cv2.GaussianBlur(image, (0, 0), sigma_low) if sigma_low > 0 else image
    return low - cv2.GaussianBlur(image, (0, 0), sigma_high)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (H x W) at ``x + flow(x)`` (flow H x W x 2, px), bilinear, edges reflected."""
    h, w = image.shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def histogram_similarity(a: np.ndarray, b: np.ndarray, bins: int = 64) -> float:
    """Correlation of the grey-level histograms of two frames, in [-1, 1]; a scene cut drops it."""
    ha = cv2.calcHist([a], [0], None, [bins], [0.0, 1.0])
    hb = cv2.calcHist([b], [0], None, [bins], [0.0, 1.0])
    return float(cv2.compareHist(ha, hb, cv2.HISTCMP_CORREL))


@dataclass(frozen=True)
class PairMeasure:
    """Evidence from one pair of consecutive analysis frames.

    Attributes:
        flicker: per band (``BANDS``), the energy of the motion-compensated residual divided by the
            energy of the current frame, both band-passed and summed over reliable textured pixels
            (dimensionless; 0 = texture fully explained by motion, about 2 = unrelated texture).
        noise_corr_static: correlation of the fine-band noise residuals of the two frames at the same
            pixel positions (a pattern fixed to the frame grid, such as reused diffusion noise, raises it).
        noise_corr_warped: the same correlation after motion compensation (real sensor-plus-scene texture).
        motion_px: median flow magnitude, px at analysis resolution.
        reliable_fraction: share of pixels whose forward and backward flows agree.
        textured_fraction: share of pixels that are reliable and textured (where flicker is measured).
        residual: amplitude of the residual's mid plus coarse bands (H x W float32, grey levels / 255), for figures.
    """

    flicker: dict[str, float]
    noise_corr_static: float
    noise_corr_warped: float
    motion_px: float
    reliable_fraction: float
    textured_fraction: float
    residual: np.ndarray


class FramePairMeter:
    """Measures :class:`PairMeasure` for consecutive greyscale frames with DIS optical flow."""

    def __init__(
        self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, structure_sigma: float = STRUCTURE_SIGMA
    ) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)
        self.structure_sigma = structure_sigma

    def flow(self, target: np.ndarray, source: np.ndarray) -> np.ndarray:
        """Flow (H x W x 2, px) such that ``target(x) ~ source(x + flow(x))``, estimated on the frames' structure.

        Both frames are blurred first (``structure_sigma``): the motion is that of the scene's shapes, not of
        fine texture, so texture that does not move with its scene (re-synthesised, or a noise pattern fixed to
        the frame grid) cannot drag the flow along and shows up in the residual instead.
        """
        if self.structure_sigma > 0:
            target = cv2.GaussianBlur(target, (0, 0), self.structure_sigma)
            source = cv2.GaussianBlur(source, (0, 0), self.structure_sigma)
        return self._dis.calc(_to_u8(target), _to_u8(source), None)

    def measure(self, previous: np.ndarray, current: np.ndarray, reliable_only: bool = True) -> PairMeasure:
        """Compare ``current`` with ``previous`` warped onto it (both H x W float32 in [0, 1]).

        ``reliable_only=False`` measures every textured pixel, also where the flow is inconsistent: for clips
        whose frames do not follow each other at all, where no pixel has a trustworthy flow.
        """
        backward = self.flow(current, previous)
        forward = self.flow(previous, current)
        reliable = _consistent(backward, forward)
        warped = warp(previous, backward)
        residual = current - warped

        texture = np.sqrt(cv2.GaussianBlur(band_pass(current, *BANDS["fine"]) ** 2, (0, 0), 3.0))
        mask = (reliable if reliable_only else True) & (texture > _TEXTURE_FLOOR)
        if mask.any():
            mask &= texture >= np.median(texture[mask])  # the more textured half: where boiling shows

        flicker = {}
        for name, (low, high) in BANDS.items():
            residual_energy = float(np.sum(band_pass(residual, low, high)[mask] ** 2))
            frame_energy = float(np.sum(band_pass(current, low, high)[mask] ** 2))
            flicker[name] = residual_energy / max(frame_energy, 1e-12) if mask.any() else np.nan

        noise_cur = band_pass(current, *BANDS["fine"])
        noise_prev = band_pass(previous, *BANDS["fine"])
        return PairMeasure(
            flicker=flicker,
            noise_corr_static=_correlation(noise_cur, noise_prev, mask),
            noise_corr_warped=_correlation(noise_cur, warp(noise_prev, backward), mask),
            motion_px=float(np.median(np.hypot(backward[..., 0], backward[..., 1]))),
            reliable_fraction=float(reliable.mean()),
            textured_fraction=float(mask.mean()),
            residual=np.abs(band_pass(residual, BANDS["mid"][0], BANDS["coarse"][1])),
        )


def _to_u8(image: np.ndarray) -> np.ndarray:
    """DIS works on 8-bit images."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels whose backward flow, followed by the forward flow, returns home (not occluded), eroded by 2 px."""
    forward_at = np.dstack([warp(forward[..., 0], backward), warp(forward[..., 1], backward)])
    error = np.hypot(*(backward + forward_at).transpose(2, 0, 1))
    magnitude = np.hypot(backward[..., 0], backward[..., 1])
    ok = (error < _FB_TOLERANCE_PX + _FB_TOLERANCE_REL * magnitude).astype(np.uint8)
    return cv2.erode(ok, np.ones((5, 5), np.uint8)).astype(bool)


def _correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation of ``a`` and ``b`` over ``mask``; NaN when undefined."""
    if mask.sum() < 16:
        return float("nan")
    x = a[mask] - a[mask].mean()
    y = b[mask] - b[mask].mean()
    denom = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    return float(np.sum(x * y) / denom) if denom > 0 else float("nan")
