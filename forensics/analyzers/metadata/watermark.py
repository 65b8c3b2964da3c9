"""Invisible watermarks of the Stable Diffusion and FLUX reference code (invisible-watermark, DWT-DCT).

The scripts embed a fixed payload with ``imwatermark.WatermarkEncoder(...).encode(bgr, "dwtDct")``:
each 4 x 4 block of the Haar approximation of the U channel carries one payload bit (cycling
through the payload) in the magnitude of its largest AC value modulo 36. We decode the same
block decisions as ``imwatermark``'s ``EmbedMaxDct.decode``, vectorised (its per-block Python loop
takes seconds on a camera image), and keep the per-bit *average* (a soft bit in [0, 1]) instead
of thresholding it: the Pearson correlation of the soft bits with the known payload is 0.86-0.99
on watermarked files, where hard bits are unreliable.

``imwatermark`` decodes only the image as it was embedded: block k of the raster carries bit k mod L.
Resizing, cropping, rotating and mirroring, what people do most to an image, move the 8-pixel block grid or
the bit that each block carries. So when the image as it is shows no mark, :func:`detect` reads it three more
ways: turned back from each of the 7 other right-angle rotations and mirror images (blocks of an image whose
sides are multiples of 8 map onto blocks), scaled back up to each width generators write (a mark survives a 50 %
downscale once the image is scaled back), and then searching every block-grid offset (64) and every raster width
and payload phase (L x L per payload) on a window of it, for crops. Each reading's p-values are corrected for all
it tried.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import cv2
import numpy as np
from scipy import sparse

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import Readout

Reader = Callable[[bool, np.ndarray], tuple[float, int]]
_SCALE = 36.0  # imwatermark's default quantisation step for the U channel
_BLOCK = 4
MIN_PIXELS = 256 * 256  # imwatermark refuses smaller images too


def _bits(message: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(message, np.uint8)).astype(np.float64)


#: Known payloads: SD v1 and v2 reference scripts (bytes), SDXL (48 bits, 0xB3EC907BB19E, diffusers and Stability's
#: generative-models), FLUX (Black Forest Labs' reference code: its 48-bit message 0x2AFE879CF52E taken as
#: ``bin(message)[2:]``, which drops the two leading zeros, so 46 bits).
PAYLOADS: dict[str, np.ndarray] = {
    "StableDiffusionV1": _bits(b"StableDiffusionV1"),
    "SDV2": _bits(b"SDV2"),
    "SDXL": _bits(bytes.fromhex("B3EC907BB19E")),
    "FLUX": np.array([float(bit) for bit in bin(0x2AFE879CF52E)[2:]]),
}
_LABELS = {"StableDiffusionV1": "Stable Diffusion v1", "SDV2": "Stable Diffusion v2", "SDXL": "SDXL",
           "FLUX": "FLUX (Black Forest Labs)"}
_GRID = 8  # pixels per block: a 4 x 4 block of the half-resolution Haar approximation
#: The centred window searched (pixels a side, plus the 7 a grid offset can take): 48 x 48 blocks hold each bit of
#: the longest payload 17 times, and the cost stays the same whatever the image size.
WINDOW = 384
_OFFSETS = _GRID * _GRID
#: Widths that generators write (multiples of 64 px): an image narrower than one may be it, downscaled.
ORIGINAL_WIDTHS = range(512, 2049, 64)
#: Rows (at the original scale) of the top strip read at each width: the raster starts at the top-left block, so
#: the strip holds the payload's bits in order, 32 block rows of at least 64 blocks.
STRIP = 256
#: The 7 right-angle rotations and mirror images of an image other than itself (quarter turns, then mirrored or not).
TURNS = tuple((quarters, mirrored) for quarters in range(4) for mirrored in (False, True) if quarters or mirrored)
# Bonferroni within each reading: the image as it is tries 3 payloads x 2 channel orders; the turned and rescaled
# readings also each orientation or original width; the crop search 64 grid offsets and L widths x L phases per
# payload.
TRIALS = {"as embedded": 2 * len(PAYLOADS),
          "turned": 2 * len(PAYLOADS) * len(TURNS),
          "rescaled": 2 * len(PAYLOADS) * len(ORIGINAL_WIDTHS),
          "crop search": 2 * _OFFSETS * sum(payload.size**2 for payload in PAYLOADS.values())}
#: Verdict thresholds on the trial-corrected p-value, with a floor on the correlation itself (read as embedded, the
#: highest correlation on real photos: 0.52 over ~800 in the data README, 0.56 over the 676 shared photos).
DECISIVE_P, DECISIVE_CORR = 1e-6, 0.75
HIGH_P, HIGH_CORR = 1e-4, 0.6
#: The turned reading is the reading as embedded of other orientations: it keeps these thresholds (with its own
#: trial count) but, being many readings, never says "likely". Over the 676 shared photos its smallest corrected p
#: is 6e-4 and its highest correlation 0.65 (the SDV2 code), in line with honest p-values.
#: The searched readings' p-values are optimistic: neighbouring blocks of a photo decide alike, so their bits are not
#: independent. Over the 677 shared photos, the crop search's smallest corrected p is 1.4e-5 (correlation 0.53 with
#: the SDV1 code) and its highest correlation 0.84 (p 5.9e-5, the 32-bit SDV2 code); the rescaled reading's smallest
#: p is 1.6e-4; 677 independent tests would give about 1.5e-3. So they only ever report a present mark, at a p
#: 10,000 times smaller. Crops keeping 60-90 % of each side of the 8 SD outputs and 6 SDXL-marked photos of
#: ``benchmarks/watermark_robustness.py`` reach 4e-11 or less in 41 of 42 cases (the miss: an SDXL-marked Kodak photo
#: at 75 %, p 4e-8); the same images at 75 % and 50 % size, read rescaled, 2e-11 or less in 27 of 28.
SEARCH_DECISIVE_P = 1e-10
SEARCHES = ("rescaled", "crop search")


def _haar_approximation(x: np.ndarray) -> np.ndarray:
    """Level-1 Haar approximation, bit-identical to ``pywt.dwt2(x, "haar")[0]`` for even sizes, 5x faster."""
    h = np.float64(0.7071067811865476)  # pywt's Haar tap; same value and order of operations (axis 0 first)
    x = x.astype(np.float64)
    cols = x[0::2, :] * h + x[1::2, :] * h
    return cols[:, 0::2] * h + cols[:, 1::2] * h


def block_decisions(rgb: np.ndarray, encoder_got_bgr: bool = True) -> np.ndarray:
    """One 0/1 decision per 4 x 4 block of the U-channel Haar approximation, in embedding order.

    ``rgb``: H x W x 3 uint8. ``encoder_got_bgr``: the embedder was handed true BGR (reference
    scripts) rather than RGB mislabelled as BGR (diffusers). Returns a flat float array (blocks row
    by row), equal to the per-block scores of ``imwatermark``'s ``EmbedMaxDct``.
    """
    return _u_decisions(_u_channel(rgb, encoder_got_bgr))


def _u_channel(rgb: np.ndarray, encoder_got_bgr: bool) -> np.ndarray:
    """The U channel the encoder marked, H x W uint8."""
    # RGB->YUV of RGB pixels equals BGR->YUV of the BGR array the encoder saw; no channel-swap copy needed
    code = cv2.COLOR_RGB2YUV if encoder_got_bgr else cv2.COLOR_BGR2YUV
    return cv2.cvtColor(np.ascontiguousarray(rgb), code)[:, :, 1]


def _u_decisions(u: np.ndarray) -> np.ndarray:
    """Block decisions of a U channel (see :func:`block_decisions`); rows and columns past a multiple of 4 are
    left out, as the encoder leaves them."""
    return _approximation_decisions(_haar_approximation(u[: u.shape[0] // 4 * 4, : u.shape[1] // 4 * 4]))


def _approximation_decisions(approx: np.ndarray) -> np.ndarray:
    """Block decisions of a Haar approximation, one per 4 x 4 block from its top-left corner."""
    nbh, nbw = approx.shape[0] // _BLOCK, approx.shape[1] // _BLOCK
    blocks = approx[: nbh * _BLOCK, : nbw * _BLOCK].reshape(nbh, _BLOCK, nbw, _BLOCK).transpose(0, 2, 1, 3)
    flat = blocks.reshape(-1, _BLOCK * _BLOCK)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1  # largest AC coefficient of each block
    value = np.abs(flat[np.arange(flat.shape[0]), pos])
    return ((value % _SCALE) > 0.5 * _SCALE).astype(np.float64)


def soft_bits(decisions: np.ndarray, length: int) -> np.ndarray:
    """Average block decision of each payload bit position (block k carries bit k mod ``length``)."""
    sums = np.bincount(np.arange(decisions.size) % length, weights=decisions, minlength=length)
    counts = np.bincount(np.arange(decisions.size) % length, minlength=length)
    return sums / np.maximum(counts, 1)


@functools.lru_cache(maxsize=16)  # the same few (window, payload) shapes for every image: build each once
def _raster_assignments(rows: int, cols: int, length: int) -> sparse.csr_matrix:
    """One-hot (width w, bit j) of every block of a rows x cols grid: j = (r * w + c) mod ``length``.

    Shape (``length`` * ``length``, rows * cols). A crop of a raster ``W0`` blocks wide that starts at block
    (R0, C0) puts bit ``(j + phase) mod length`` on the blocks of row w = ``W0 mod length``, phase =
    ``(R0 * W0 + C0) mod length``.
    """
    r, c = np.divmod(np.arange(rows * cols), cols)
    widths = np.arange(length)[:, None]
    bits = (r[None, :] * widths + c[None, :]) % length + widths * length
    cells = np.tile(np.arange(rows * cols), length)
    return sparse.csr_matrix((np.ones(bits.size), (bits.ravel(), cells)), shape=(length * length, rows * cols))


def best_phase_correlation(grids: np.ndarray, payload: np.ndarray) -> tuple[float, int]:
    """Most significant correlation with ``payload`` over decision grids, raster widths and payload phases.

    ``grids``: (n, rows, cols) block decisions. Returns the correlation and the number of payload bits that its
    raster width gives blocks to: in a window narrower than the payload, some widths leave bits empty, and a
    correlation over fewer bits means less. Soft bits per (width, bit) are block averages; the
    correlation with the payload at every phase is a circular cross-correlation, computed by FFT.
    """
    n, rows, cols = grids.shape
    length = payload.size
    assign = _raster_assignments(rows, cols, length)
    counts = np.asarray(assign.sum(axis=1)).reshape(length, length, 1)
    filled = counts > 0
    soft = (assign @ grids.reshape(n, -1).T).reshape(length, length, n) / np.maximum(counts, 1)
    soft -= (soft * filled).sum(axis=1, keepdims=True) / filled.sum(axis=1, keepdims=True)
    soft *= filled  # empty bits sit at the mean: they add nothing to the correlation
    soft /= np.maximum(np.linalg.norm(soft, axis=1, keepdims=True), 1e-12)
    code = payload - payload.mean()
    code /= np.linalg.norm(code)
    # corr[w, phase] = sum_j soft[w, j] * code[(j + phase) mod L]
    spectrum = np.conj(np.fft.rfft(soft, axis=1)) * np.fft.rfft(code)[None, :, None]
    corr = np.fft.irfft(spectrum, n=length, axis=1).max(axis=1)  # (width, grid)
    bits = filled.sum(axis=1)  # (width, 1)
    z = np.arctanh(np.clip(corr, -0.999999, 0.999999)) * np.sqrt(np.maximum(bits - 3, 1))
    width, grid = np.unravel_index(np.argmax(z), z.shape)
    return float(corr[width, grid]), int(bits[width, 0])


def correlation(soft: np.ndarray, payload: np.ndarray) -> float:
    """Pearson correlation of soft bits with the payload (0 when the soft bits are constant)."""
    if soft.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(soft, payload)[0, 1])


def p_value(corr: float, length: int, trials: int) -> float:
    """One-sided p-value of a correlation this high between ``length`` unrelated bits, corrected for ``trials``.

    Fisher's z-transform: ``atanh(r) * sqrt(n - 3)`` is standard normal when nothing is embedded.
    """
    if corr >= 1.0:
        return 0.0
    z = math.atanh(max(corr, -0.999999)) * math.sqrt(length - 3)
    return float(min(1.0, trials * 0.5 * math.erfc(z / math.sqrt(2.0))))


def _window_grids(rgb: np.ndarray, encoder_got_bgr: bool) -> np.ndarray:
    """Decision grids of the centred window at each of the 64 block-grid offsets: (64, rows, cols)."""
    height, width = (min(side, WINDOW + _GRID - 1) for side in rgb.shape[:2])
    top, left = (rgb.shape[0] - height) // 2, (rgb.shape[1] - width) // 2
    u = _u_channel(rgb[top : top + height, left : left + width], encoder_got_bgr)  # once for all 64 offsets
    rows, cols = (height - _GRID + 1) // _GRID, (width - _GRID + 1) // _GRID
    # Offsets of the same parity share one Haar approximation: offset (dy, dx) reads it from (dy // 2, dx // 2).
    approx = {(py, px): _haar_approximation(u[py : py + (height - py) // 2 * 2, px : px + (width - px) // 2 * 2])
              for py in range(2) for px in range(2)}
    half = _GRID // 2
    grids = [_approximation_decisions(approx[dy % 2, dx % 2][dy // 2 : dy // 2 + rows * half,
                                                             dx // 2 : dx // 2 + cols * half]).reshape(rows, cols)
             for dy in range(_GRID) for dx in range(_GRID)]
    return np.stack(grids)


def _rescaled_strips(rgb: np.ndarray) -> list[np.ndarray]:
    """The image's top strip scaled up (bicubic, same aspect) to each original width it is narrower than."""
    height, width = rgb.shape[:2]
    out = []
    for original in ORIGINAL_WIDTHS:
        if original <= width:
            continue
        scale = original / width
        rows = min(height, math.ceil(STRIP / scale) + 2)
        strip = cv2.resize(rgb[:rows], (original, round(rows * scale)), interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(strip[:STRIP]))
    return out


def turned(image: np.ndarray, quarters: int, mirrored: bool) -> np.ndarray:
    """``image`` (H x W, or H x W x C) turned by ``quarters`` quarter turns counter-clockwise, then mirrored
    left-right if ``mirrored`` (a view)."""
    out = np.rot90(image, quarters)
    return out[:, ::-1] if mirrored else out


def _best_raster_reader(rasters: dict[bool, list[np.ndarray]]) -> Reader:
    """Reader of the best correlation over block-decision rasters each read as embedded (per channel order)."""
    return lambda bgr, code: (max(correlation(soft_bits(d, code.size), code) for d in rasters[bgr]), code.size)


def _as_embedded_reader(rgb: np.ndarray) -> Reader:
    return _best_raster_reader({bgr: [block_decisions(rgb, bgr)] for bgr in (True, False)})


def _turned_reader(rgb: np.ndarray) -> Reader:
    # The colour conversion is per pixel, so it commutes with turning: once per channel order. Each turn is read on
    # its top strip, which holds every payload bit many times over, so the cost grows with the width only.
    u = {bgr: _u_channel(rgb, bgr) for bgr in (True, False)}
    return _best_raster_reader({bgr: [_u_decisions(turned(u[bgr], *turn)[:STRIP]) for turn in TURNS]
                                for bgr in (True, False)})


def _rescaled_reader(rgb: np.ndarray) -> Reader | None:
    strips = _rescaled_strips(rgb)
    if not strips:  # as wide as the widest original already
        return None
    return _best_raster_reader({bgr: [block_decisions(s, bgr) for s in strips] for bgr in (True, False)})


def _crop_reader(rgb: np.ndarray) -> Reader:
    grids = {bgr: _window_grids(rgb, bgr) for bgr in (True, False)}
    return lambda bgr, code: best_phase_correlation(grids[bgr], code)


#: The readings in the order they are tried: each prepares, from the image, a function of (encoder got BGR, payload)
#: that gives the best correlation it finds and the number of payload bits behind it.
READINGS: dict[str, Callable[[np.ndarray], Reader | None]] = {
    "as embedded": _as_embedded_reader, "turned": _turned_reader, "rescaled": _rescaled_reader,
    "crop search": _crop_reader}


def _reading(read: Reader, code: np.ndarray, reading: str) -> dict:
    """The better channel order of one reading of one payload."""
    found = []
    # SD v1/v2 scripts and SDXL's reference code hand the encoder true BGR; diffusers hands it RGB.
    for order, bgr in (("bgr", True), ("rgb", False)):
        corr, bits = read(bgr, code)
        found.append({"correlation": round(corr, 4), "p_value": p_value(corr, bits, TRIALS[reading]),
                      "channel_order": order, "reading": reading})
    return min(found, key=lambda r: r["p_value"])


def detect(rgb: np.ndarray) -> dict[str, dict] | None:
    """Correlation, corrected p-value, channel order and reading per payload; ``None`` if the image is too small.

    The readings of :data:`READINGS` are tried in turn until a payload is present; each payload keeps the reading
    with the lowest p-value.
    """
    if rgb.shape[0] * rgb.shape[1] < MIN_PIXELS:
        return None
    results: dict[str, dict] = {}
    for reading, prepare in READINGS.items():
        if any(_verdict(r) == "present" for r in results.values()):
            break
        read = prepare(rgb)
        if read is None:
            continue
        for name, code in PAYLOADS.items():
            found = _reading(read, code, reading)
            if name not in results or found["p_value"] < results[name]["p_value"]:
                results[name] = found
    return results


def _verdict(result: dict) -> str:
    """``present``, ``likely`` or ``absent`` for one payload's result of :func:`detect`."""
    decisive_p = SEARCH_DECISIVE_P if result["reading"] in SEARCHES else DECISIVE_P
    if result["p_value"] < decisive_p and result["correlation"] >= DECISIVE_CORR:
        return "present"
    # only the reading as embedded, with the fewest trials, may call a weak trace "likely"
    if result["reading"] == "as embedded" and result["p_value"] < HIGH_P and result["correlation"] >= HIGH_CORR:
        return "likely"
    return "absent"


_CONCLUSIONS = {
    "as embedded": "): the image came out of that generator.",
    "turned": ", counting every orientation tried): the image is a rotated or mirrored copy of that generator's "
              "output.",
    "rescaled": ", counting every original width tried): the image is a resized copy of that generator's output.",
    "crop search": ", counting every block-grid offset and crop position searched): the image, or the part of it "
                   "that a crop kept, came out of that generator.",
}


def read_watermark(rgb: np.ndarray) -> Readout:
    """Watermark facts, the best correlation as a feature, and a finding when a payload is present."""
    out = Readout()
    results = detect(rgb)
    if results is None:
        out.details["watermark"] = {"checked": False, "reason": "image smaller than 256 x 256"}
        return out
    best = min(results, key=lambda k: results[k]["p_value"])
    corr, p = results[best]["correlation"], results[best]["p_value"]
    verdict = _verdict(results[best])
    out.details["watermark"] = {"checked": True, "best_payload": best, "verdict": verdict, "payloads": results}
    out.features["watermark_correlation"] = corr
    label = _LABELS[best]
    if verdict == "present":
        out.findings.append(
            Finding(
                "watermark_sd",
                f"The invisible watermark of the {label} reference software is present (correlation {corr:.2f} "
                f"with its code, chance probability {p:.0e}{_CONCLUSIONS[results[best]['reading']]}",
                Severity.DECISIVE,
                "synthetic",
            )
        )
    elif verdict == "likely":
        out.findings.append(
            Finding(
                "watermark_sd_weak",
                f"A weak trace of the {label} invisible watermark (correlation {corr:.2f}, chance probability "
                f"{p:.0e}); it fades when an image is resized or recompressed, so this is likely but not certain.",
                Severity.HIGH,
                "synthetic",
            )
        )
    return out
