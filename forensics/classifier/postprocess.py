"""Post-processing that images meet after they leave the generator, for evaluation and augmentation.

Chains are spelled and applied by the generator's own :mod:`generator.postprocess` (``jpeg<Q>``,
``resize<F>``, ``crop<F>`` joined by ``+``), so a condition means the same thing in a dataset
record and in an evaluation. Pixel filters that grammar lacks are added here as leading steps, applied
in the order written (:data:`FILTERS`): Gaussian blur ``blur<sigma>`` (pixels), Gaussian noise
``noise<sigma>`` (film grain, an editor's "add noise"; 8-bit levels per channel), non-local-means noise
reduction ``denoise<h>`` (an editor's or a phone's noise reduction; filter strength in 8-bit levels) and
an unsharp mask ``sharpen<percent>``. Every condition maps an RGB image to the bytes of a new file (PNG
unless the chain ends in JPEG), applied to both classes alike.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageFilter

from generator.postprocess import PostProcess, encode

#: The evaluation's robustness conditions: name -> chain.
CONDITIONS: dict[str, str] = {
    "jpeg95": "jpeg95",
    "jpeg75": "jpeg75",
    "jpeg50": "jpeg50",
    "resize0.75": "resize0.75",
    "resize0.5": "resize0.5",
    "crop": "crop0.8",
    "blur": "blur1.0",
    "noise": "noise3.0",
    # The social-network chain: downscale by half, then recompress at quality 75.
    "jpeg75+resize0.5": "resize0.5+jpeg75",
    # WebP at cwebp's default quality, as news sites and image hosts serve photos now.
    "webp75": "webp75",
    # HEVC as phones save photos (HEIC); quality 60 gives the 1-1.5 bits per pixel of a phone's 12-megapixel HEIC.
    "heic60": "heic60",
    # An editor's (or a phone's) noise reduction: it takes away the camera noise that tells a photo from a decoder.
    "denoise": "denoise5",
}

#: Photos shrunk whole and saved losslessly, as galleries and datasets publish them; measured on real photos outside
#: the dataset (full-size camera files), where shrinking by 0.3 is what a web version of a 10-megapixel photo is.
SHRINK_CONDITIONS = ("resize0.5", "resize0.3")


def parse_chain(chain: str) -> tuple[list[tuple[str, float]], PostProcess]:
    """``chain`` split into its leading pixel filters, as ``(name, value)`` in order, and the generator's steps.

    Raises ``ValueError`` for a step that is not in the grammar (see the module docstring).
    """
    steps = chain.strip().lower().split("+")
    filters = []
    while steps and (name := steps[0].rstrip("0123456789.")) in FILTERS:
        try:
            filters.append((name, float(steps.pop(0)[len(name):])))
        except ValueError as exc:
            raise ValueError(f"bad {name} step in {chain!r}") from exc
    return filters, PostProcess.parse("+".join(steps) or "none")


def apply_chain(chain: str, image: np.ndarray) -> bytes:
    """File bytes of ``image`` (H x W x 3 uint8) after ``chain``, e.g. ``"blur0.8+noise2.0+resize0.5+jpeg75"``."""
    filters, post = parse_chain(chain)
    for name, value in filters:
        image = FILTERS[name](image, value)
    data, _ = encode(post.apply(Image.fromarray(image)), post, "png")
    return data


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` through a Gaussian blur of ``sigma`` pixels."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def add_noise(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` plus i.i.d. Gaussian noise of ``sigma`` 8-bit levels per pixel and channel, rounded and clipped.

    The seed is fixed, so a chain gives the same bytes every time (the feature cache relies on it).
    """
    noise = np.random.default_rng(0).normal(0.0, sigma, image.shape)
    return np.clip(np.rint(image + noise), 0, 255).astype(np.uint8)


def denoise(image: np.ndarray, h: float) -> np.ndarray:
    """``image`` through OpenCV's non-local-means colour denoising of strength ``h`` (8-bit levels; 3-10 is
    what noise-reduction sliders span), with its default 7-pixel patches and 21-pixel search window."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # OpenCV's colour conversion inside expects BGR
    return cv2.cvtColor(cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21), cv2.COLOR_BGR2RGB)


def sharpen(image: np.ndarray, percent: float) -> np.ndarray:
    """``image`` through an unsharp mask of ``percent`` strength, radius 2 pixels, threshold 2 levels (the range
    of an editor's export sharpening)."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.UnsharpMask(2, int(percent), 2)))


#: Leading pixel filters of a chain: name -> function of an H x W x 3 uint8 image and the step's value.
FILTERS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "blur": blur, "noise": add_noise, "denoise": denoise, "sharpen": sharpen,
}


def apply(condition: str, image: np.ndarray) -> bytes:
    """File bytes of ``image`` after the named evaluation condition (a key of :data:`CONDITIONS`)."""
    return apply_chain(CONDITIONS[condition], image)


def random_chain(rng: np.random.Generator) -> str:
    """A random training-augmentation chain of blur / noise / crop / resize / JPEG.

    Ranges are wider than the evaluation conditions on purpose (JPEG quality 50-98, scale 0.4-1.0, noise
    1-6 levels) so the classifier learns traits that survive processing rather than the exact conditions.
    Without noise, white noise was unlike every training photo and the residual CNN took it for a decoder's
    trace: sigma 2 turned real photos synthetic. Noise is drawn last so the other draws, and the chains
    cached before it existed, stay the same.

    One lossy step in four is WebP instead of JPEG (same quality), as news sites and image hosts now serve: VP8's
    4x4 transforms and loop filter smooth fine texture much as a decoder does, and a model that never saw WebP took
    re-saved photos for decoder output. Drawn after the noise, so chains without it stay the same.
    """
    steps = []
    if rng.random() < 0.15:
        steps.append(f"blur{rng.uniform(0.3, 1.5):.1f}")
    if rng.random() < 0.3:
        steps.append(f"crop{rng.uniform(0.6, 0.95):.2f}")
    if rng.random() < 0.5:
        steps.append(f"resize{rng.uniform(0.4, 1.0):.2f}")
    if rng.random() < 0.75:
        steps.append(f"jpeg{rng.integers(50, 99)}")
    if rng.random() < 0.2:
        steps.insert(1 if steps and steps[0].startswith("blur") else 0, f"noise{rng.uniform(1.0, 6.0):.1f}")
    if steps and steps[-1].startswith("jpeg") and rng.random() < 0.25:
        steps[-1] = "webp" + steps[-1][4:]
    return "+".join(steps) or "none"
