"""Noise-residual analyzer: does the image's noise behave like a camera's, everywhere?

A camera photo carries sensor noise that the processing chain shapes in a consistent
way across the frame: its level depends on brightness (photon shot noise), it is
spatially correlated by demosaicing, correlated across colour channels, and its level
is the same in every region of equal brightness and texture. A diffusion decoder
paints pixels instead: an img2img pass replaces the camera noise with the decoder's own
texture, and an inpainted region has noise unlike its surroundings.

The residual is the image minus a 3x3 median denoiser (fast: ~40 ms for 12 MP). Global
statistics are measured in low-texture blocks, where the residual is noise rather than
edges; the local map compares every block's noise level with what the image's own
brightness-and-texture model predicts for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy import stats

from forensics.analyzers.base import Analyzer, Heatmap
from forensics.signal import block_mean, luminance, median_residual

if TYPE_CHECKING:
    from forensics.analyzers.base import Evidence
    from forensics.media import Media

MAP_CELLS = 128  # the long side of the inconsistency map has at most this many blocks
MIN_BLOCK = 16  # pixels; smaller blocks give too noisy a level estimate
MIN_BLOCKS = 16  # fewer usable blocks than this: features are NaN
SATURATED = (16.0, 240.0)  # blocks darker or brighter than this have clipped noise
FLAT_QUANTILE = 0.4  # the least textured 40% of blocks measure the noise
MAX_FLAT_BLOCKS = 256  # bounds the cost of the per-pixel statistics on large images
Z_INCONSISTENT = 3.0  # robust z above which a block's noise level is called inconsistent

FEATURES = (
    "noise_level",
    "kurtosis",
    "autocorr_h",
    "autocorr_v",
    "autocorr_2",
    "cross_channel_corr",
    "nlf_corr",
    "nlf_slope",
    "local_spread",
    "inconsistent_fraction",
    "inconsistency_p99",
)


def block_size_for(height: int, width: int) -> int:
    """Block side (pixels, a multiple of 8) so the long side has at most ``MAP_CELLS`` blocks."""
    cells_per_block = -(-max(height, width) // MAP_CELLS)
    return max(MIN_BLOCK, -(-cells_per_block // 8) * 8)


def coarse_texture(plane: np.ndarray, block: int) -> np.ndarray:
    """Mean |Laplacian| of the plane shrunk 4 times (area average), per block: rows x cols float32.

    Measured at a coarser scale than the noise on purpose: a smoothed or regenerated region
    loses its fine noise but keeps its coarse texture, so the texture term of the noise model
    cannot explain the missing noise away.
    """
    rows, cols = plane.shape[0] // block, plane.shape[1] // block
    small = cv2.resize(
        plane[: rows * block, : cols * block], (cols * block // 4, rows * block // 4), interpolation=cv2.INTER_AREA
    )
    return block_mean(np.abs(cv2.Laplacian(small, cv2.CV_32F)), block // 4)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays (NaN if either is constant)."""
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / denom) if denom > 0 else math.nan


def robust_fit(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares refitted once without the outliers (> 2.5 robust sd).

    Returns ``(residuals of every row, robust sd of the inlier residuals)``; the robust sd
    is 1.4826 x the median absolute residual.
    """
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    spread = 1.4826 * np.median(np.abs(resid)) + 1e-6
    inliers = np.abs(resid) < 2.5 * spread
    if inliers.sum() > design.shape[1] * 3:
        coef, *_ = np.linalg.lstsq(design[inliers], target[inliers], rcond=None)
        resid = target - design @ coef
        spread = 1.4826 * np.median(np.abs(resid[inliers])) + 1e-6
    return resid, float(spread)


def channel_residuals(rgb: np.ndarray, corners: np.ndarray, block: int) -> np.ndarray:
    """Median residuals of the R, G, B channels inside the given blocks: K x block x block x 3 float32.

    Each block is cut with a 1-pixel margin so the median filter sees real neighbours, and all
    crops are filtered in one call (stacked vertically; the seams fall in the discarded margins).
    """
    padded = np.pad(rgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
    crops = np.concatenate([padded[y : y + block + 2, x : x + block + 2] for y, x in corners])
    residual = crops.astype(np.float32) - cv2.medianBlur(crops, 3).astype(np.float32)
    return residual.reshape(len(corners), block + 2, block + 2, 3)[:, 1:-1, 1:-1]


class NoiseAnalyzer(Analyzer):
    """Camera-noise statistics of the median residual and a map of locally inconsistent noise."""

    name = "noise"
    version = "1"
    description = (
        "Noise residual (image minus a median denoiser): level, kurtosis, spatial and cross-channel "
        "correlation, dependence on brightness, and a map of regions whose noise does not match the rest."
    )

    def analyze(self, media: Media) -> Evidence:
        rgb = media.image
        height, width = rgb.shape[:2]
        block = block_size_for(height, width)
        rows, cols = height // block, width // block
        if rows * cols < MIN_BLOCKS or min(rows, cols) < 2:
            return self.new_evidence(
                features=dict.fromkeys(FEATURES, math.nan),
                details={"reason": f"image {width}x{height} has too few {block}-pixel blocks"},
            )
        residual, denoised = median_residual(luminance(rgb))
        level = np.sqrt(block_mean(residual * residual, block))  # rows x cols, residual RMS per block
        brightness = block_mean(denoised, block)
        texture = coarse_texture(denoised, block)

        usable = (brightness > SATURATED[0]) & (brightness < SATURATED[1]) & (level > 0)
        if usable.sum() < MIN_BLOCKS:
            return self.new_evidence(
                features=dict.fromkeys(FEATURES, math.nan),
                details={"reason": "too few unsaturated, non-constant blocks", "block": block},
            )
        flat = usable & (texture <= np.quantile(texture[usable], FLAT_QUANTILE))
        zmap, spread = self._inconsistency(level, brightness, texture, usable)
        features = {
            **self._flat_statistics(rgb, residual, level, brightness, flat, block),
            # spread (log units) of block noise levels around the image's own model: camera noise is uniform
            "local_spread": spread,
            "inconsistent_fraction": float((np.abs(zmap[usable]) > Z_INCONSISTENT).mean()),
            "inconsistency_p99": float(np.quantile(np.abs(zmap[usable]), 0.99)),
        }
        heat = np.where(usable, np.abs(zmap), 0.0).astype(np.float32)
        return self.new_evidence(
            features=features,
            figures=[
                Heatmap(
                    name="noise_inconsistency",
                    title="Local noise inconsistency",
                    caption="How far the noise level around each block departs from what the rest of the image "
                    "predicts for its brightness and texture (robust z-score over 3 x 3 blocks). Bright regions "
                    "have noise unlike the rest: an inpainted or regenerated area, or simply an unusual surface.",
                    data=heat,
                    vmin=0.0,
                    vmax=2 * Z_INCONSISTENT,
                )
            ],
            details={"block": block, "blocks": [rows, cols], "flat_blocks": int(flat.sum())},
        )

    @staticmethod
    def _inconsistency(
        level: np.ndarray, brightness: np.ndarray, texture: np.ndarray, usable: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Regional robust z-score map of log noise level against a model fitted on this image.

        log level ~ 1 + b + b^2 + log(1 + texture), b = brightness / 255: the quadratic follows the
        gamma-shaped noise level function of JPEG cameras, the texture term absorbs edge leakage.
        The model residuals are averaged over each block's 3 x 3 neighbourhood and divided by their
        robust sd. Returns ``(z map, robust sd of the per-block model residuals in log units)``;
        unusable blocks are 0.
        """
        b = brightness[usable] / 255.0
        design = np.column_stack([np.ones_like(b), b, b * b, np.log1p(texture[usable])])
        resid, spread = robust_fit(design, np.log(level[usable]))
        zmap = np.zeros(level.shape, np.float32)
        zmap[usable] = resid
        # regional mean over 3 x 3 blocks (usable ones only): an edited region is contiguous, a
        # block's estimation noise is not, so the region stands out ~3 times more clearly
        weight = cv2.blur(usable.astype(np.float32), (3, 3))
        regional = cv2.blur(zmap, (3, 3)) / np.maximum(weight, 1e-6)
        regional_spread = 1.4826 * float(np.median(np.abs(regional[usable]))) + 1e-6
        return np.where(usable, regional / regional_spread, 0.0), spread

    @staticmethod
    def _flat_statistics(
        rgb: np.ndarray,
        residual: np.ndarray,
        level: np.ndarray,
        brightness: np.ndarray,
        flat: np.ndarray,
        block: int,
    ) -> dict[str, float]:
        """Noise statistics over the low-texture blocks (at most ``MAX_FLAT_BLOCKS``, spread evenly)."""
        index = np.flatnonzero(flat)
        index = index[np.linspace(0, len(index) - 1, min(len(index), MAX_FLAT_BLOCKS)).astype(int)]
        by, bx = np.unravel_index(index, flat.shape)
        corners = np.column_stack([by * block, bx * block])
        cells = np.stack([residual[y : y + block, x : x + block] for y, x in corners])  # K x B x B
        lag1_h = correlation(cells[:, :, :-1], cells[:, :, 1:])
        lag1_v = correlation(cells[:, :-1, :], cells[:, 1:, :])
        lag2 = 0.5 * (correlation(cells[:, :, :-2], cells[:, :, 2:]) + correlation(cells[:, :-2, :], cells[:, 2:, :]))
        colour = channel_residuals(rgb, corners, block)
        cross = np.mean([correlation(colour[..., i], colour[..., j]) for i, j in ((0, 1), (1, 2), (0, 2))])
        mu, sigma = brightness[flat], level[flat]
        varied = len(mu) > 2 and np.ptp(mu) > 0 and np.ptp(sigma) > 0
        return {
            # RMS of the residual in flat areas, grey levels: sensor noise after the camera's denoising
            "noise_level": float(np.median(sigma)),
            # excess kurtosis: camera noise is near-Gaussian; painted texture and clean areas are not
            "kurtosis": float(stats.kurtosis(cells.ravel())),
            # lag-1 correlation: demosaicing and the camera's processing correlate neighbouring noise
            "autocorr_h": lag1_h,
            "autocorr_v": lag1_v,
            # lag 2 follows the Bayer pattern's 2-pixel period
            "autocorr_2": float(lag2),
            # mean correlation of the R, G, B residuals: demosaicing and chroma subsampling tie them together
            "cross_channel_corr": float(cross),
            # signal-dependent noise: rank correlation and slope of log level against brightness
            "nlf_corr": float(stats.spearmanr(mu, sigma).statistic) if varied else math.nan,
            "nlf_slope": float(np.polyfit(mu / 255.0, np.log(sigma), 1)[0]) if varied else math.nan,
        }
