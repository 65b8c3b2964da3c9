"""The trained, calibrated classifier over signal features, its evaluation and the shipped default model.

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
    from forensics.classifier.combiner import TrainedCombiner

DEFAULT_MODEL = PROJECT_ROOT / "models" / "default"

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def load_combiner(folder: str | Path) -> TrainedCombiner:
    """The :class:`TrainedCombiner` of a bundle folder (loaded once per process)."""
    from forensics.classifier.bundle import load_bundle
    from forensics.classifier.combiner import TrainedCombiner

    return TrainedCombiner(load_bundle(folder))


def load_default_combiner() -> TrainedCombiner | None:
    """The combiner of ``models/default``, or ``None`` if there is none or it cannot be loaded safely."""
    if not (DEFAULT_MODEL / "model.skops").exists():
        return None
    try:
        return load_combiner(DEFAULT_MODEL)
    except (OSError, ValueError) as exc:  # a broken or untrusted bundle must not stop a scan
        log.warning("default model not loaded, falling back to the rule combiner: %s", exc)
        return None


__all__ = ["DEFAULT_MODEL", "load_combiner", "load_default_combiner"]
