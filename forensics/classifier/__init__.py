"""The trained, calibrated classifiers over signal features, their evaluation and the shipped models.

``models/default`` judges stills and ``models/video`` clips; :func:`load_default_combiner` joins them.

>>> combiner = load_default_combiner()      # doctest: +SKIP
>>> Scanner(combiner=combiner).scan("photo.jpg").verdict  # doctest: +SKIP

Heavy imports (scikit-learn, skops) happen only when a model is loaded or trained.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from forensics.config import PROJECT_ROOT

if TYPE_CHECKING:
    from forensics.classifier.combiner import CombinerSet, TrainedCombiner

DEFAULT_MODEL = PROJECT_ROOT / "models" / "default"  # stills
VIDEO_MODEL = PROJECT_ROOT / "models" / "video"  # clips
SHIPPED_MODELS = (DEFAULT_MODEL, VIDEO_MODEL)

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def load_combiner(folder: str | Path) -> TrainedCombiner:
    """The :class:`TrainedCombiner` of a bundle folder (loaded once per process)."""
    from forensics.classifier.bundle import load_bundle
    from forensics.classifier.combiner import TrainedCombiner

    return TrainedCombiner(load_bundle(folder), folder=Path(folder))


def load_default_combiner() -> CombinerSet | None:
    """The shipped models (:data:`SHIPPED_MODELS`) that load safely, as one combiner; ``None`` if none does."""
    from forensics.classifier.combiner import CombinerSet

    members = []
    for folder in SHIPPED_MODELS:
        if not (folder / "model.skops").exists():
            continue
        try:
            members.append(load_combiner(folder))
        except (OSError, ValueError) as exc:  # a broken or untrusted bundle must not stop a scan
            log.warning("model %s not loaded; files it would judge get the rule combiner: %s", folder, exc)
    return CombinerSet(members) if members else None


__all__ = ["DEFAULT_MODEL", "SHIPPED_MODELS", "VIDEO_MODEL", "load_combiner", "load_default_combiner"]
