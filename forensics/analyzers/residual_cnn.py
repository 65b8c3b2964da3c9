"""Learned residual analyzer: a small CNN scores native-resolution patches by their noise residual.

Hand-made spectral and noise statistics miss weak low-strength edits; a CNN trained on the residuals of real
photos against autoencoder round trips and img2img edits (``models/residual-cnn``, see its card) learns the
local texture of decoder output directly. Patches are never resampled. The model folder is data only
(``config.json`` and safetensors); its weights' hash is part of the analyzer version, so cached features and
trained classifiers never mix two sets of weights.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forensics.analyzers.base import Analyzer, AnalyzerUnavailable, Evidence, Finding, Heatmap, Severity
from forensics.config import PROJECT_ROOT

if TYPE_CHECKING:
    from forensics.learned.network import ResidualCNN
    from forensics.media import Media

#: The shipped model folder; ``$FORENSICS_RESIDUAL_CNN`` or ``model=`` name another.
DEFAULT_MODEL = PROJECT_ROOT / "models" / "residual-cnn"
MODEL_ENV = "FORENSICS_RESIDUAL_CNN"
CODE_VERSION = "1"
#: Log-odds by which the hottest tenth of the patches must exceed the median patch for the "local region" finding.
#: Set at the 95th percentile of the default recipe's training photos (3.47). Measured with it: 1.7 % of held-out
#: photos and 3.3 % of unseen camera photos get the finding; held-out paste-back edits over under 7.5 %, 7.5-15 %,
#: 15-30 % and over 30 % of the picture get it 17 %, 35 %, 60 % and 58 % of the time. Over all 693 shared photos as
#: a scan reads them: 2.9 %, but 6 of the 24 Kodak film scans, whose grain the CNN finds uneven. With the CNN's fifth
#: phase (same threshold): 20 of 673 shared photos (3.0 %; ``exif_small`` left out), paste-backs 19 %, 48 %, 76 %, 73 %.
#: With its sixth (WebP) phase, on the recipe rebuilt 2026-12-07: 17 of all 698 files of ``shared/data/photos`` (2.4 %),
#: paste-backs 20 %, 45 %, 66 %, 64 %.
LOCAL_CONTRAST = 3.5


class ResidualCNNAnalyzer(Analyzer):
    """Per-patch logits of the residual CNN, summarised over the image.

    Args:
        model: folder with the CNN's ``config.json`` and ``model.safetensors``.
        max_patches: most patches scored (evenly spread over the non-overlapping grid); the cost is about
            5 ms per 64 px patch on one CPU core.

    Features (logits are the CNN's log-odds of decoder / denoiser output per patch): ``mean_logit``,
    ``median_logit``, ``q10_logit``, ``q90_logit``, ``logit_std``, ``positive_fraction``, ``patches``.
    """

    name = "residual-cnn"
    version = CODE_VERSION  # an instance adds its weights' hash: "1+<sha256[:12]>"
    description = "A small CNN trained on noise residuals of real photos vs autoencoder and diffusion output."

    def __init__(self, model: str | os.PathLike | None = None, max_patches: int = 96) -> None:
        self.model_dir = Path(model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
        self.max_patches = max_patches
        weights = self.model_dir / "model.safetensors"
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else "missing"
        self.version = f"{CODE_VERSION}+{digest}"
        self._model: ResidualCNN | None = None

    def _load(self) -> ResidualCNN:
        if self._model is None:
            from forensics.learned.network import ResidualCNN

            try:
                self._model = ResidualCNN.from_pretrained(self.model_dir)
            except FileNotFoundError as exc:
                raise AnalyzerUnavailable(f"residual CNN weights not found: {exc}") from exc
        return self._model

    def analyze(self, media: Media) -> Evidence:
        from forensics.learned.patches import patch_logits

        model = self._load()
        image = media.image
        logits, corners = patch_logits(model, image, self.max_patches)
        if not len(logits):
            raise AnalyzerUnavailable(f"image {image.shape[1]}x{image.shape[0]} is smaller than one "
                                      f"{model.config.patch} px patch")
        features = {
            "mean_logit": float(logits.mean()),
            "median_logit": float(np.median(logits)),
            "q10_logit": float(np.quantile(logits, 0.1)),
            "q90_logit": float(np.quantile(logits, 0.9)),
            "logit_std": float(logits.std()),
            "positive_fraction": float((logits > 0).mean()),
            "patches": float(len(logits)),
        }
        score = 1.0 / (1.0 + math.exp(-features["mean_logit"]))
        top_decile = float(np.sort(logits)[-max(1, len(logits) // 10) :].mean())
        findings = [self._finding(features, score)]
        if top_decile - features["median_logit"] >= LOCAL_CONTRAST:
            findings.append(Finding(
                "residual_cnn.local_region",
                f"A tenth of the patches look far more like decoder output than the rest (mean logit "
                f"{top_decile:+.1f} against a median of {features['median_logit']:+.1f}): the heatmap's bright cells "
                "may be a local edit, such as inpainting pasted back into the photo. Look there.",
                Severity.LOW, "synthetic"))
        return self.new_evidence(
            features=features,
            findings=findings,
            figures=[self._heatmap(image.shape[:2], corners, logits, model.config.patch)],
            details={"model": str(self.model_dir), "patch": model.config.patch, "top_decile_logit": top_decile,
                     "units": "logits are natural log-odds; score = logistic(mean_logit)"},
            score=score,
        )

    @staticmethod
    def _finding(features: dict[str, float], score: float) -> Finding:
        share = f"{features['positive_fraction']:.0%} of {int(features['patches'])} patches"
        if score >= 0.65:
            return Finding("residual_cnn.decoder_texture",
                           f"The noise residual looks like a diffusion decoder's output in {share}.",
                           Severity.MEDIUM, "synthetic")
        if score <= 0.35:
            return Finding("residual_cnn.camera_texture",
                           f"The noise residual looks like a camera photo's; decoder-like in only {share}.",
                           Severity.LOW, "authentic")
        return Finding("residual_cnn.inconclusive", f"The residual CNN is undecided: decoder-like in {share}.")

    @staticmethod
    def _heatmap(shape: tuple[int, int], corners: list, logits: np.ndarray, patch: int) -> Heatmap:
        """Probability per scored patch; unscored cells are NaN (transparent)."""
        grid = np.full((-(-shape[0] // patch), -(-shape[1] // patch)), np.nan, np.float32)
        for (y, x), logit in zip(corners, logits, strict=True):
            grid[y // patch, x // patch] = 1.0 / (1.0 + math.exp(-logit))
        return Heatmap(
            name="residual_cnn",
            title="Learned residual score per patch",
            caption=f"Probability, per {patch} px patch, that its noise residual came from a diffusion decoder "
            "(bright) rather than a camera (dark). Uneven maps point at a local edit; even ones at a whole-image "
            "generation or at processing that affects the whole image.",
            data=grid,
            vmin=0.0,
            vmax=1.0,
        )
