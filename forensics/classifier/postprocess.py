"""Post-processing that images meet after they leave the generator, for evaluation and augmentation.

Chains are spelled and applied by the generator's own :mod:`generator.postprocess` (``jpeg<Q>``,
``resize<F>``, ``crop<F>`` joined by ``+``), so a condition means the same thing in a dataset
record and in an evaluation. Gaussian blur, which that grammar lacks, is added here as a
leading ``blur<sigma>`` step. Every condition maps an RGB image to the bytes of a new file
(PNG unless the chain ends in JPEG), applied to both classes alike.
"""

from __future__ import annotations

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
    # The social-network chain: downscale by half, then recompress at quality 75.
    "jpeg75+resize0.5": "resize0.5+jpeg75",
}


def apply_chain(chain: str, image: np.ndarray) -> bytes:
    """File bytes of ``image`` (H x W x 3 uint8) after ``chain``, e.g. ``"blur0.8+resize0.5+jpeg75"``."""
    im = Image.fromarray(image)
    steps = chain.split("+")
    if steps[0].startswith("blur"):
        im = im.filter(ImageFilter.GaussianBlur(float(steps[0][4:])))
        steps = steps[1:]
    post = PostProcess.parse("+".join(steps) or "none")
    data, _ = encode(post.apply(im), post, "png")
    return data


def apply(condition: str, image: np.ndarray) -> bytes:
    """File bytes of ``image`` after the named evaluation condition (a key of :data:`CONDITIONS`)."""
    return apply_chain(CONDITIONS[condition], image)


def random_chain(rng: np.random.Generator) -> str:
    """A random training-augmentation chain of blur / crop / resize / JPEG.

    Ranges are wider than the evaluation conditions on purpose (JPEG quality 50-98, scale 0.4-1.0)
    so the classifier learns traits that survive processing rather than the exact conditions.
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
    return "+".join(steps) or "none"
