"""Double JPEG compression: the blocks of a JPEG that lack the trace of the earlier save the rest carries.

A photo saved as JPEG, edited and saved again holds two quantizations in the DCT coefficients of each 8 x 8 block:
re-quantizing with step Q2 values already quantized with a coarser Q1 leaves periodic bins of each frequency's
histogram empty. A region pasted or regenerated between the two saves (an inpainting, a generative fill, a splice)
went through the second quantization only, so its coefficients also fall in the bins the rest leaves empty. After
Lin et al. (2009) and Bianchi, De Rosa and Piva (2011): per low DCT frequency, Q1 is estimated from the whole
picture's histogram (the step under which its coefficients are most likely, against a single compression), each
coefficient gets the likelihood ratio of "compressed twice" to "compressed once", and each block the sum of its
log ratios. The map shows the probability that a block was compressed once.

It reads the file's own bytes: the luma as libjpeg decodes it and the quantization table of the last save. Limits:
the first save's block grid must still be where it was (a crop or resize between the saves removes the trace), that
save must have been coarser than the last one (a camera original at quality 95 re-saved at 90 leaves little), and
flat or clipped blocks carry no evidence either way.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.fft import dctn
from scipy.special import ndtr

from forensics.analyzers.base import Analyzer, AnalyzerUnavailable, Evidence, Finding, Heatmap, Severity
from forensics.analyzers.metadata.jpeg_structure import quality_range
from forensics.media import Media

_BLOCK = 8
#: Zigzag order of the 8 x 8 DCT frequencies (row, column); the first 15 AC ones are read.
_ZIGZAG = sorted(((r, c) for r in range(8) for c in range(8)),
                 key=lambda rc: (rc[0] + rc[1], rc[0] if (rc[0] + rc[1]) % 2 else rc[1]))
FREQUENCIES = _ZIGZAG[1:16]
MAX_Q1 = 64
#: Largest picture read (its coefficients are held in memory at once: about 12 bytes a pixel).
MAX_PIXELS = 64_000_000
#: Largest quantized value read (in steps of the last save); larger ones are rare and carry no evidence here.
K_MAX = 40
#: Share of coefficients allowed to come from regions saved once when Q1 is estimated.
PASTED_SHARE = 0.3
#: Probability floor of a bin that double compression leaves empty (rounding and clipping still put a few there).
FLOOR = 0.05
#: Least mean gain (nats per non-zero coefficient) for a frequency to show double compression. Saved once, 24 photos
#: (at quality 85-95) reach at most 0.145 at their best frequency and 0.082 at their third best, 40 camera originals
#: 0.203 and 0.139; saved at 75, 85 or 90, then at 90 or 95, three Kodak photos reach 0.30 at every frequency read.
MIN_GAIN = 0.15
MIN_COEFFICIENTS = 500
#: Frequencies that must show double compression before any block is judged.
MIN_FREQUENCIES = 3
#: Log-likelihood ratio (summed over 3 x 3 blocks) below which a block reads as compressed once: P > 0.99.
SINGLE_LLR = -math.log(99)
#: Least size of a region of such blocks for a finding: its share of the judged blocks, and its count of blocks...
MIN_REGION_SHARE, MIN_REGION_BLOCKS = 0.005, 12
#: ... and the non-zero coefficients it must hold (a smooth patch of 36 blocks of the C2PA test photos holds 21; the
#: edits of ``benchmarks/double_jpeg.py`` hold thousands).
MIN_REGION_COEFFICIENTS = 100


def _luma(media: Media) -> tuple[np.ndarray, np.ndarray]:
    """(luma as libjpeg decodes it, H x W float; the last save's luma quantization table, 8 x 8)."""
    if media.format != "JPEG":
        raise AnalyzerUnavailable("not a JPEG file: double compression is read from a JPEG's own DCT coefficients")
    if media.width * media.height > MAX_PIXELS:
        raise AnalyzerUnavailable(f"larger than {MAX_PIXELS // 1_000_000} megapixels: not read for double compression")
    with Image.open(io.BytesIO(media.data)) as im:
        tables = getattr(im, "quantization", None) or {}
        if im.mode not in ("L", "RGB", "YCbCr"):
            raise AnalyzerUnavailable(f"a {im.mode} JPEG: it has no luma plane to read")
        if 0 not in tables or len(tables[0]) != 64 or min(tables[0]) < 1:
            raise AnalyzerUnavailable("the JPEG declares no usable luma quantization table")
        im.draft("L", im.size)  # libjpeg hands over its decoded Y plane: no colour conversion in between
        luma = np.asarray(im.convert("L"), dtype=np.float32)
    return luma, np.asarray(tables[0], dtype=np.float32).reshape(8, 8)


def _blocks(pixels: np.ndarray) -> np.ndarray:
    """(rows, cols, 8, 8, ...) view of the whole 8 x 8 blocks of an H x W (x C) array."""
    rows, cols = pixels.shape[0] // _BLOCK, pixels.shape[1] // _BLOCK
    cut = pixels[: rows * _BLOCK, : cols * _BLOCK]
    return cut.reshape(rows, _BLOCK, cols, _BLOCK, *pixels.shape[2:]).swapaxes(1, 2)


def block_coefficients(luma: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Quantized DCT coefficients of each 8 x 8 block of ``luma`` (H x W), (rows, cols, 8, 8) int."""
    coefficients = dctn(_blocks(luma) - 128.0, axes=(2, 3), norm="ortho")
    return np.rint(coefficients / table).astype(np.int32)


def unclipped_blocks(rgb: np.ndarray) -> np.ndarray:
    """(rows, cols) mask of the blocks where no channel of ``rgb`` (H x W x 3 uint8) touches 0 or 255: clipping, in
    this decode or an earlier one, moves coefficients off the first save's lattice."""
    blocks = _blocks(rgb)
    return (blocks.min(axis=(2, 3, 4)) > 0) & (blocks.max(axis=(2, 3, 4)) < 255)


def likelihood_ratios(q1: int, q2: float, k_max: int) -> np.ndarray:
    """Likelihood ratio of each bin k in [-k_max, k_max], compressed twice (first step q1, then q2) to once.

    Twice, a bin's probability is the smooth envelope times the number of first-save values m that land in it,
    round(m q1 / q2 + e), with e the rounding between the saves (sd 0.3 / q2 + 0.05); once, the envelope alone.
    """
    k = np.arange(-k_max, k_max + 1, dtype=np.float64)
    m = np.arange(-(k_max * q2 // q1) - 2, (k_max * q2 // q1) + 3, dtype=np.float64)
    centres = m * q1 / q2
    sd = 0.3 / q2 + 0.05
    landing = ndtr((k[:, None] + 0.5 - centres[None, :]) / sd) - ndtr((k[:, None] - 0.5 - centres[None, :]) / sd)
    return (1 - FLOOR) * landing.sum(axis=1) * q1 / q2 + FLOOR


def first_step(values: np.ndarray, q2: float) -> tuple[int, float, np.ndarray] | None:
    """(Q1, mean log-likelihood gain per coefficient, log ratio per bin k in [-K_MAX, K_MAX]) for one frequency's
    quantized values; ``None`` when no first step explains them better than a single compression by
    :data:`MIN_GAIN`.

    The gain is that of a picture of which a share :data:`PASTED_SHARE` was saved once: a large pasted region
    must not hide the trace of the rest.
    """
    values = values[(values != 0) & (np.abs(values) <= K_MAX)]
    if values.size < MIN_COEFFICIENTS or q2 < 2:
        return None
    counts = np.bincount(values + K_MAX, minlength=2 * K_MAX + 1).astype(np.float64)
    counts[K_MAX] = 0  # zeros carry no evidence: every first step leaves them where they are
    best = None
    for q1 in range(2, MAX_Q1 + 1):
        if q1 == q2:
            continue
        ratios = likelihood_ratios(q1, q2, K_MAX)
        gain = float(counts @ np.log((1 - PASTED_SHARE) * ratios + PASTED_SHARE) / counts.sum())
        if best is None or gain > best[1]:
            logs = np.log(ratios)
            logs[K_MAX] = 0.0
            best = (q1, gain, logs)
    return best if best is not None and best[1] >= MIN_GAIN else None


class DoubleJpegAnalyzer(Analyzer):
    """Aligned double JPEG compression: first-save steps and a map of blocks compressed only once."""

    name = "double-jpeg"
    version = "1"
    description = ("JPEG double compression: the first save's quantization steps, and a map of blocks that lack its "
                   "trace (pasted or regenerated between two saves).")
    signal = False  # facts about the file's saves, not pixel statistics any model was trained on

    def analyze(self, media: Media) -> Evidence:
        luma, table = _luma(media)
        quantized, unclipped = block_coefficients(luma, table), unclipped_blocks(media.image)
        if quantized.shape[0] < 3 or quantized.shape[1] < 3:
            raise AnalyzerUnavailable("smaller than 24 x 24 pixels")
        llr = np.zeros(quantized.shape[:2])
        evidence_count = np.zeros(quantized.shape[:2])  # non-zero coefficients read in each block
        steps = []
        for row, col in FREQUENCIES:
            values = quantized[..., row, col]
            found = first_step(values[unclipped], float(table[row, col]))
            if found is None:
                continue
            q1, gain, logs = found
            llr += np.where(np.abs(values) <= K_MAX, logs[np.clip(values + K_MAX, 0, logs.size - 1)], 0.0)
            evidence_count += (values != 0) & (np.abs(values) <= K_MAX)
            steps.append({"frequency": [row, col], "q2": int(table[row, col]), "q1": q1, "gain": round(gain, 3)})
        evidence = self.new_evidence(details={"first_save_steps": steps, "blocks": list(quantized.shape[:2])})
        evidence.features["frequencies_double"] = float(len(steps))
        if len(steps) < MIN_FREQUENCIES:
            evidence.findings.append(Finding(
                "double_jpeg_none",
                "No trace of an earlier JPEG save on the same block grid: this is the first compression, or an "
                "earlier one was finer, or the picture was cropped or resized in between. Pasted regions cannot "
                "be located this way.",
                Severity.INFO,
            ))
            return evidence
        first_table = np.full(64, np.nan)
        for step in steps:
            first_table[step["frequency"][0] * 8 + step["frequency"][1]] = step["q1"]
        low, high, mismatch = quality_range(first_table, 0)
        earlier = "an earlier save"
        if mismatch <= 0.5:  # the steps are a standard (IJG) table's; a few steps may fit neighbouring qualities
            evidence.details["first_save_quality"] = [low, high]
            earlier = f"an earlier save at quality {low if low == high else f'{low}-{high}'} of the standard tables"
        evidence.findings.append(Finding(
            "double_jpeg_present",
            f"The picture was saved as JPEG at least twice on the same block grid ({len(steps)} frequencies show "
            f"{earlier}): this file is not the first save, which is routine for a published photo.",
            Severity.INFO,
        ))
        llr = np.where(unclipped, llr, 0.0)
        summed = ndimage.uniform_filter(llr, size=3, mode="nearest") * 9
        p_single = 1.0 / (1.0 + np.exp(np.clip(summed, -50, 50)))
        evidence.figures.append(Heatmap(
            name="double_jpeg_single",
            title="Blocks compressed only once",
            caption="Probability that each 8 x 8 block went through the last JPEG save only, while the rest of the "
            "picture carries an earlier one: bright regions were pasted or regenerated between the saves; mid-grey "
            "ones are too flat or too clipped to tell.",
            data=p_single.astype(np.float32), vmin=0.0, vmax=1.0,
        ))
        self._region_finding(summed < SINGLE_LLR, unclipped, np.where(unclipped, evidence_count, 0), evidence)
        return evidence

    @staticmethod
    def _region_finding(single: np.ndarray, judged: np.ndarray, counts: np.ndarray, evidence: Evidence) -> None:
        labels, count = ndimage.label(single & judged)
        sizes = np.bincount(labels.ravel())[1:] if count else np.zeros(0, int)
        largest = int(sizes.max()) if sizes.size else 0
        share = largest / max(int(judged.sum()), 1)
        evidence.features["single_region_share"] = share
        evidence.details["single_region_blocks"] = largest
        if largest < MIN_REGION_BLOCKS or share < MIN_REGION_SHARE or single[judged].mean() > 0.5:
            return
        region = labels == int(np.argmax(sizes)) + 1
        evidence.details["single_region_coefficients"] = read = int(counts[region].sum())
        if read < MIN_REGION_COEFFICIENTS:  # a smooth patch: a few stray coefficients are all it holds
            return
        rows, cols = np.nonzero(region)
        box = [int(cols.min() * _BLOCK), int(rows.min() * _BLOCK), int((cols.max() + 1) * _BLOCK),
               int((rows.max() + 1) * _BLOCK)]
        evidence.details["single_region_box"] = box  # x0, y0, x1, y1 in pixels
        evidence.findings.append(Finding(
            "double_jpeg_region",
            f"A region of {share:.1%} of the picture (pixels {box[0]}-{box[2]} x {box[1]}-{box[3]}) shows only the "
            "last JPEG save, while the rest carries an earlier one: it was pasted in, regenerated or retouched between "
            "the two saves, as an inpainting or a generative fill would be.",
            Severity.MEDIUM,
            "synthetic",
        ))
