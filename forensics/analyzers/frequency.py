"""Frequency analyzer: periodic spectral traces of latent-decoder upsampling and of the JPEG grid.

A latent-diffusion decoder turns a latent of 1/8 resolution into pixels through three
x2 upsamplings followed by convolutions. Whatever the convolutions add is repeated with
the period of each stage, so the output carries a pattern of period 8, 4 and 2 pixels:
peaks at multiples of 1/8 cycle/pixel in the power spectrum of the high-pass residual
(``peak8``, ``peak8_offaxis``, ``peak4``), equivalently a non-zero mean residual per
position in the 8x8 cell (``cell_pattern``). JPEG works on the same 8x8 grid, and strong
JPEG leaves such peaks too (camera JPEGs reach the values of TAESD round trips). The
features keep the two apart with

- alignment: JPEG puts its error where blocks meet. The roughness profile across the 8
  column/row phases finds that boundary (``blockiness``, and ``grid_aligned`` if it is at
  the image origin, as in an uncropped JPEG); ``cell_pattern_interior`` measures the cell
  pattern away from it, which JPEG barely touches and a decoder fills;
- the residual vs. the roughness: nearest-neighbour upsampling (the pure decoder trace)
  leaves no periodic residual at all but a roughness profile that is zero inside pixel
  pairs (``npr_asymmetry``, after NPR) and inside cells (``blockiness``);
- chroma: JPEG subsamples chroma by 2, so its chroma grid has a 16-pixel period
  (``chroma_peak16``, odd multiples of 1/16), while a decoder paints chroma on the same
  8-pixel lattice as luma (``chroma_peak8``);
- the azimuthal average of the luma spectrum: slope and high-frequency roll-off
  (``spectral_slope``, ``hf_ratio``), as decoders lose the finest detail.

Everything is measured on native-resolution tiles (never a resize): at most
``MAX_TILES`` tiles of ``TILE`` pixels, 8-aligned, spread over the image.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import fft

from forensics.analyzers.base import Analyzer, Finding, Heatmap, LinePlot, Severity
from forensics.analyzers.metadata.jpeg_structure import estimate_quality
from forensics.media.sniff import webp_is_lossy
from forensics.signal import extract_tiles, laplacian_residual, tile_origins, tile_size_for, ycbcr
from forensics.signal.tiles import GRID

if TYPE_CHECKING:
    from forensics.analyzers.base import Evidence
    from forensics.media import Media

TILE = 256  # tile side in pixels: 1/8 and 1/16 cycle/pixel fall on exact FFT bins
MIN_TILE = 64  # below this the peaks are too wide to measure: features are NaN
MAX_TILES = 32  # at most 2 MP analysed, whatever the image size
PROFILE_BINS = 64  # radial bins of the azimuthal average, 0 to 0.5 cycle/pixel
FLOOR = 1e-3  # relative floor in log ratios: exact zeros (e.g. nearest-neighbour upsampling) give -3 or 3, not inf

FEATURES = (
    "peak8",
    "peak8_offaxis",
    "peak4",
    "cell_pattern",
    "cell_pattern_interior",
    "chroma_peak8",
    "chroma_peak16",
    "blockiness",
    "grid_aligned",
    "npr_asymmetry",
    "spectral_slope",
    "hf_ratio",
)

# The "decoder pattern" finding fires when ``cell_pattern_interior`` exceeds this. Measured on the
# 118 non-uniform camera JPEGs of the shared photos (metadata-extractor, exif-samples): as shot,
# median 0.006, 95th percentile 0.71, max 1.53; recompressed at q90, median 0.001, max 1.07 (cheap
# phone and compact cameras are the high ones). The threshold sits above the whole camera range.
# TAESD round trips of 58 BSDS500 crops reach 1.11 as PNG (median 0.33) and 0.46 at q90 (median
# 0.13), so this finding only fires on a stronger trace than TAESD's; the classifier uses the
# features for the rest.
DECODER_PATTERN_THRESHOLD = 1.6
# ``blockiness`` above this: a JPEG block grid is visible (camera JPEGs: median 0.10-0.13; TAESD
# round trips saved as PNG: at most 0.015).
GRID_THRESHOLD = 0.05
# Containers whose stills are (almost always) lossy without a JPEG grid, as the compression caveat names them; a WebP
# counts only when its image is VP8, not VP8L.
_LOSSY_CODECS = {"WEBP": "lossy WebP", "HEIF": "HEIC (HEVC)", "AVIF": "AVIF (AV1)"}


def _jpeg_state(media: Media, grid: bool) -> str:
    """How a file shows JPEG compression: as a JPEG file (quality estimated from its luma table) or by a block grid."""
    if media.format != "JPEG":
        return "A JPEG 8x8 block grid is visible"
    table = (getattr(media.pil, "quantization", None) or {}).get(0)
    quality = f" (quality about {estimate_quality(table, 0)[0]} by its quantization tables)" if table else ""
    return f"The file is a JPEG{quality}{', and its 8x8 block grid is visible' if grid else ''}"


def hann2d(size: int) -> np.ndarray:
    """Separable Hann window, size x size float32: suppresses the tile borders' leakage."""
    w = np.hanning(size + 2)[1:-1].astype(np.float32)
    return np.outer(w, w)


def power_spectrum(tiles: np.ndarray) -> np.ndarray:
    """Mean power spectrum of N x T x T tiles after a Hann window, T x T float32, DC at [0, 0].

    Computed with a real FFT (half the work) and completed by the conjugate symmetry
    ``P[ky, kx] = P[-ky, -kx]``.
    """
    size = tiles.shape[-1]
    windowed = (tiles - tiles.mean(axis=(1, 2), keepdims=True, dtype=np.float32)) * hann2d(size)
    half = fft.rfft2(windowed, axes=(1, 2), workers=1)
    power = (half.real**2 + half.imag**2).mean(axis=0)
    mirror = power[(-np.arange(size)) % size][:, size - np.arange(size // 2 + 1, size)]
    return np.concatenate([power, mirror], axis=1)


def lattice(size: int, period: int) -> list[tuple[int, int]]:
    """FFT bins (ky, kx) of the frequencies (a/period, b/period) cycle/pixel, DC excluded.

    Only one of each conjugate pair (the power spectrum is symmetric).
    """
    step = size // period
    points = {(a * step % size, b * step % size) for a in range(period) for b in range(period)} - {(0, 0)}
    return sorted(p for p in points if p <= ((-p[0]) % size, (-p[1]) % size))


def peak_contrast(power: np.ndarray, points: list[tuple[int, int]]) -> float:
    """Mean log10 ratio of the power at ``points`` to the median power of their surroundings.

    The surroundings are the ring 3 to 6 bins away (a Hann window spreads a line over the
    neighbouring bins). ~0.16 for a smooth spectrum (the mean of the log of an exponential
    variable over its median) on one tile, ~0 on the mean of many; clearly more for periodic peaks.
    """
    size = power.shape[0]
    offsets = np.arange(-6, 7)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    ring = np.maximum(abs(dy), abs(dx)) >= 3
    floor = FLOOR * power.mean() + 1e-12
    ratios = []
    for ky, kx in points:
        patch = power[np.ix_((ky + offsets) % size, (kx + offsets) % size)]
        ratios.append(np.log10((patch[6, 6] + floor) / (np.median(patch[ring]) + floor)))
    return float(np.mean(ratios)) if ratios else math.nan


def azimuthal_profile(power: np.ndarray, bins: int = PROFILE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Mean log10 power in ``bins`` rings of radius 0 to 0.5 cycle/pixel.

    Returns ``(frequencies, log_power)``, each of length ``bins`` (ring centres in cycle/pixel).
    """
    freqs = fft.fftfreq(power.shape[0])
    radius = np.hypot(*np.meshgrid(freqs, freqs, indexing="ij"))
    index = np.minimum((radius / 0.5 * bins).astype(int), bins)  # bin ``bins`` = corners beyond Nyquist
    sums = np.bincount(index.ravel(), np.log10(power + 1e-12).ravel(), bins + 1)[:bins]
    counts = np.bincount(index.ravel(), minlength=bins + 1)[:bins]
    return (np.arange(bins) + 0.5) * 0.5 / bins, sums / np.maximum(counts, 1)


def spectral_slope(freqs: np.ndarray, log_power: np.ndarray, lo: float = 0.05, hi: float = 0.4) -> float:
    """Slope of log10 power against log10 frequency over [lo, hi] cycle/pixel (~ -2 to -3 for photos)."""
    sel = (freqs >= lo) & (freqs <= hi)
    return float(np.polyfit(np.log10(freqs[sel]), log_power[sel], 1)[0])


def band_ratio(freqs: np.ndarray, log_power: np.ndarray) -> float:
    """High-frequency roll-off: log10 mean power in [0.35, 0.5) minus that in [0.15, 0.25) cycle/pixel.

    Decoders (and smoothing, and strong JPEG) lose the finest detail, which drops this ratio.
    """
    hi = log_power[(freqs >= 0.35) & (freqs < 0.5)].mean()
    mid = log_power[(freqs >= 0.15) & (freqs < 0.25)].mean()
    return float(hi - mid)


def cell_patterns(residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile period-8 patterns of N x T x T residual tiles (8-aligned, T a multiple of 8).

    Averaging a tile's residual over its (T/8)^2 cells keeps only what repeats in every cell
    with the same sign: the tile's 8-periodic component, i.e. its spectral lines at multiples
    of 1/8 cycle/pixel. Returns ``(patterns, null)``: N x 8 x 8 mean patterns, and per tile
    the variance (N,) each pattern value would have from noise alone.
    """
    n, t, _ = residual.shape
    patterns = residual.reshape(n, t // GRID, GRID, t // GRID, GRID).mean(axis=(1, 3))
    null = residual.var(axis=(1, 2)) / (t // GRID) ** 2 + 1e-12
    return patterns, null


def pattern_strength(patterns: np.ndarray, null: np.ndarray, keep: np.ndarray | None = None) -> float:
    """log10 of the mean energy of the cell patterns (at the 8 x 8 positions ``keep``) over noise.

    ~0 without a periodic component, > 0 with one; the patterns are centred first (the mean
    of a high-pass residual carries no period).
    """
    centred = patterns - patterns.mean(axis=(1, 2), keepdims=True)
    energy = (centred**2)[:, keep].mean(axis=1) if keep is not None else (centred**2).mean(axis=(1, 2))
    return float(np.log10(np.mean(energy / null) + FLOOR))


def away_from_boundary(phase: int) -> np.ndarray:
    """8 x 8 mask of the cell positions not touching a block boundary after ``phase`` (0-7).

    The boundary runs between pixel ``phase`` and ``phase + 1`` (mod 8) in both directions;
    JPEG concentrates its blocking error in those two rows and columns.
    """
    inside = np.ones(GRID, bool)
    inside[[phase, (phase + 1) % GRID]] = False
    return np.outer(inside, inside)


def boundary_profile(plane_tiles: np.ndarray) -> np.ndarray:
    """Mean |cross-difference| at each column and row phase modulo 8: 8 float values.

    The cross-difference ``x[i,j] - x[i+1,j] - x[i,j+1] + x[i+1,j+1]`` cancels smooth content
    and gradients; phase ``p`` holds pixel pairs (p, p+1) mod 8, so the JPEG block boundary
    of an untouched JPEG is phase 7 (between pixel 7 and pixel 8).
    """
    cross = np.abs(np.diff(np.diff(plane_tiles.astype(np.int16), axis=1), axis=2))
    cols = cross.mean(axis=(0, 1))
    rows = cross.mean(axis=(0, 2))
    size = len(cols) // GRID * GRID
    return 0.5 * (cols[:size].reshape(-1, GRID).mean(0) + rows[:size].reshape(-1, GRID).mean(0))


def blockiness(profile: np.ndarray) -> tuple[float, float]:
    """From the 8-phase boundary profile: ``(log10 max / median of the rest, 1.0 if max at phase 7)``."""
    peak = int(np.argmax(profile))
    floor = FLOOR * profile.mean() + 1e-12
    contrast = np.log10((profile[peak] + floor) / (np.median(np.delete(profile, peak)) + floor))
    return float(contrast), float(peak == GRID - 1)


def npr_asymmetry(profile: np.ndarray) -> float:
    """NPR-style nearest-upsampling residual: |log10| of even- over odd-phase roughness.

    Nearest-neighbour x2 upsampling makes pixels 2k and 2k+1 equal, so the roughness
    inside pixel pairs vanishes while that across pairs stays; 0 for natural images.
    """
    floor = FLOOR * profile.mean() + 1e-12
    return float(abs(np.log10((profile[0::2].mean() + floor) / (profile[1::2].mean() + floor))))


def spectrum_picture(power: np.ndarray) -> np.ndarray:
    """Whitened, centred log10 power spectrum for the report: T x T float32, DC in the middle.

    Each bin's log power minus the mean log power of its ring: the natural fall-off is flattened,
    so periodic peaks stand out as bright dots (0 = as its ring, 1 = ten times its ring).
    """
    freqs = fft.fftfreq(power.shape[0])
    radius = np.hypot(*np.meshgrid(freqs, freqs, indexing="ij"))
    log_power = np.log10(power + 1e-12)
    rings = np.minimum((radius / 0.5 * PROFILE_BINS).astype(int), PROFILE_BINS)
    counts = np.maximum(np.bincount(rings.ravel()), 1)  # rings absent from a small tile are never indexed
    ring_mean = np.bincount(rings.ravel(), log_power.ravel()) / counts
    return fft.fftshift(log_power - ring_mean[rings]).astype(np.float32)


class FrequencyAnalyzer(Analyzer):
    """Spectral peaks of decoder upsampling vs. the JPEG block grid, on luma, chroma and residual."""

    name = "frequency"
    version = "1"
    description = (
        "Power spectrum of the image's high-pass residual: periodic peaks at 1/8 and 1/4 cycle/pixel "
        "left by latent-diffusion decoders, told apart from the JPEG 8x8 grid; high-frequency roll-off."
    )

    def analyze(self, media: Media) -> Evidence:
        rgb = media.image
        height, width = rgb.shape[:2]
        size = tile_size_for(height, width, TILE, MIN_TILE)
        if size is None:
            return self._no_signal(f"image {width}x{height} is smaller than {MIN_TILE}x{MIN_TILE}")
        origins = tile_origins(height, width, size, MAX_TILES)
        tiles = extract_tiles(rgb, origins, size)  # N x T x T x 3, converted alone: cheaper than the image
        luma, cb, cr = (p.reshape(-1, size, size) for p in ycbcr(tiles.reshape(-1, size, 3)))
        residual = laplacian_residual(luma)
        if not residual.any():
            return self._no_signal("the image is uniform: no spectrum to analyse")
        res_power = power_spectrum(residual)
        chroma_power = power_spectrum(laplacian_residual(cb)) + power_spectrum(laplacian_residual(cr))
        freqs, luma_profile = azimuthal_profile(power_spectrum(luma))
        _, res_profile = azimuthal_profile(res_power)

        grid8, grid4 = lattice(size, 8), set(lattice(size, 4))
        pure8 = [p for p in grid8 if p not in grid4]
        odd16 = [p for p in lattice(size, 16) if p not in set(grid8)]
        patterns, null = cell_patterns(residual)
        profile = boundary_profile(luma)
        block, aligned = blockiness(profile)
        interior = away_from_boundary(int(np.argmax(profile)))
        features = {
            # coherent peaks at the 1/8 lattice (not 1/4) in the residual spectrum: decoder + strong JPEG
            "peak8": peak_contrast(res_power, pure8),
            # ... off the frequency axes only: 2-D patterns (decoder), not separable grid lines (JPEG)
            "peak8_offaxis": peak_contrast(res_power, [p for p in pure8 if p[0] and p[1]]),
            # the same at the 1/4 lattice (periods 4 and 2: the decoder's later upsampling stages)
            "peak4": peak_contrast(res_power, sorted(grid4)),
            # the same 8-periodic component measured in space: energy of each tile's mean 8x8 cell pattern
            "cell_pattern": pattern_strength(patterns, null),
            # ... away from the rows and columns next to the detected block boundary, where JPEG puts
            # its blocking error: the JPEG-robust decoder trace
            "cell_pattern_interior": pattern_strength(patterns, null, interior),
            # chroma residual peaks on the 8 lattice (decoder paints chroma like luma) ...
            "chroma_peak8": peak_contrast(chroma_power, grid8),
            # ... and at odd multiples of 1/16 (the 16-pixel chroma grid of 4:2:0 JPEG)
            "chroma_peak16": peak_contrast(chroma_power, odd16),
            # roughness across block boundaries vs. inside blocks: the JPEG grid, and whether it is at the origin
            "blockiness": block,
            "grid_aligned": aligned,
            "npr_asymmetry": npr_asymmetry(profile),
            # natural-image 1/f^2 fall-off and the finest-detail energy decoders tend to lose
            "spectral_slope": spectral_slope(freqs, luma_profile),
            "hf_ratio": band_ratio(freqs, luma_profile),
        }
        return self.new_evidence(
            features=features,
            findings=self._findings(features, media),
            figures=[
                Heatmap(
                    name="residual_spectrum",
                    title="Residual power spectrum (log10, relative to its ring)",
                    caption="Mean over tiles of the high-pass residual's power spectrum, zero frequency at the "
                    "centre, each frequency compared with the others at the same radius. Bright dots on an "
                    "8 x 8 lattice are periodic traces of 8-pixel upsampling or of the JPEG block grid.",
                    data=spectrum_picture(res_power),
                    overlay=False,
                    vmin=-0.5,
                    vmax=1.5,
                ),
                LinePlot(
                    name="radial_spectrum",
                    title="Azimuthal average of the power spectrum",
                    caption="Mean log10 power per ring of spatial frequency. Photos fall off smoothly; spikes at "
                    "0.125, 0.25, 0.375 cycle/pixel are periodic traces.",
                    x=[float(f) for f in freqs],
                    series={"luminance": luma_profile.tolist(), "residual": res_profile.tolist()},
                    xlabel="spatial frequency (cycle/pixel)",
                    ylabel="log10 power",
                ),
            ],
            details={
                "tiles": len(origins),
                "tile_size": size,
                "boundary_profile": [float(v) for v in profile],
                "mean_cell_pattern": np.round(patterns.mean(axis=0), 4).tolist(),
            },
        )

    def _no_signal(self, reason: str) -> Evidence:
        return self.new_evidence(features=dict.fromkeys(FEATURES, math.nan), details={"reason": reason})

    @staticmethod
    def _findings(features: dict[str, float], media: Media) -> list[Finding]:
        findings = []
        if features["cell_pattern_interior"] > DECODER_PATTERN_THRESHOLD:
            findings.append(
                Finding(
                    "frequency.decoder_pattern",
                    "The fine detail repeats with an 8-pixel period inside the 8x8 cells, stronger than in any "
                    "camera photo we measured: the trace a latent-diffusion decoder's upsampling leaves.",
                    Severity.MEDIUM,
                    "synthetic",
                )
            )
        codec = _LOSSY_CODECS.get(media.format)
        grid = features["blockiness"] > GRID_THRESHOLD
        if codec is not None and (media.format != "WEBP" or webp_is_lossy(media.data)):
            # VP8's 4x4 transforms and 16x16 macroblocks, HEVC's and AV1's variable blocks leave grids of their own:
            # no JPEG claims here
            findings.append(
                Finding(
                    "frequency.compressed",
                    f"The file is {codec}: compression removes much of the fine decoder texture that these "
                    "features and the residual CNN measure, and outputs of real generators re-saved this way are "
                    "mostly missed or left uncertain (benchmarks/transfer.py). A low score here is weak evidence "
                    "of authenticity.",
                    Severity.INFO,
                )
            )
        elif media.format == "JPEG" or grid:
            # A JPEG file was compressed whether or not its grid shows (at quality 90 and above it often does not)
            findings.append(
                Finding(
                    "frequency.compressed",
                    f"{_jpeg_state(media, grid)}: compression removes much of the fine decoder texture that these "
                    "features and the residual CNN measure, and outputs of real generators re-saved as JPEG mostly go "
                    "undetected (benchmarks/transfer.py). A low score here is weak evidence of authenticity.",
                    Severity.INFO,
                )
            )
            if grid and features["grid_aligned"] < 1:
                findings.append(
                    Finding(
                        "frequency.jpeg_grid_shifted",
                        "A JPEG 8x8 block grid is visible but does not start at the image corner: the picture "
                        "was cropped (or shifted) after an earlier JPEG compression.",
                        Severity.LOW,
                    )
                )
            if media.format != "JPEG":
                findings.append(
                    Finding(
                        "frequency.jpeg_grid_in_non_jpeg",
                        f"A JPEG 8x8 block grid is visible although the file is {media.format}: it was a JPEG before.",
                        Severity.INFO,
                    )
                )
        return findings
