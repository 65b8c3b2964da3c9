"""The trained combiner: decisive metadata first, then the calibrated classifier, with an uncertain band.

The stated rule:

1. A decisive synthetic finding (valid C2PA manifest declaring AI generation, generation
   parameters, a generator's watermark) makes the verdict ``synthetic`` (p = 0.99) whatever
   the pixels say: a declaration outweighs a statistical estimate.
2. Otherwise the calibrated classifier's P(synthetic) from the signal features, labelled
   ``uncertain`` inside the band; at least 0.5 (``uncertain``) when unverified metadata declares AI generation
   (:func:`forensics.verdict.with_declarations`).
3. If fewer than ``min_coverage`` of the model's features were measured (a video for a model of
   stills, or the analyzers the model needs did not run), the classifier would extrapolate: the
   verdict falls back to the documented rule combiner, whose name then appears as the verdict's model.

:class:`CombinerSet` holds several trained models (one for stills, one for video) and lets each
file be judged by the one whose features its evidence covers best.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from forensics.analyzers.base import Evidence
from forensics.classifier.bundle import Bundle
from forensics.verdict import (
    UNCERTAIN_BAND,
    RuleCombiner,
    Verdict,
    decisive_finding_verdict,
    label_for,
    with_declarations,
)

#: Least fraction of a model's features a file must have measured to be judged by it (below: the rule judges).
MIN_COVERAGE = 0.5


def coverage(X: np.ndarray) -> np.ndarray:
    """Fraction (0-1) of the features measured (finite) in each row of X (n_samples, n_features), shape (n_samples,)."""
    return np.isfinite(X).mean(axis=1) if X.shape[1] else np.zeros(len(X))


class TrainedCombiner:
    """Implements :class:`forensics.verdict.Combiner` with a trained :class:`Bundle`."""

    def __init__(
        self, bundle: Bundle, band: tuple[float, float] = UNCERTAIN_BAND, min_coverage: float = MIN_COVERAGE,
        folder: Path | None = None,
    ) -> None:
        self.bundle = bundle
        self.folder = folder  # the bundle folder it was loaded from, if any (custody records hash its model file)
        self.band = band
        self.min_coverage = min_coverage
        self.name = f"trained:{bundle.name}@{bundle.version}"
        self._fallback = RuleCombiner()

    def coverage(self, evidence: Sequence[Evidence]) -> float:
        """Fraction (0-1) of the model's features that ``evidence`` measured."""
        return float(coverage(self.bundle.schema.vector(evidence)[None, :])[0])

    def probability(self, evidence: Sequence[Evidence]) -> tuple[float, float]:
        """(calibrated P(synthetic), fraction of the model's features that were measured) for one file."""
        x = self.bundle.schema.vector(evidence)[None, :]
        return float(self.bundle.model.predict_proba(x)[0, 1]), float(coverage(x)[0])

    def verdict(self, evidence: Sequence[Evidence]) -> Verdict:
        forced = decisive_finding_verdict(evidence, self.name)
        if forced is not None:
            return forced
        p, coverage = self.probability(evidence)
        if coverage < self.min_coverage:
            return self._fallback.verdict(evidence)
        schema = self.bundle.schema
        basis = (f"calibrated classifier on {round(coverage * len(schema.names))}/{len(schema.names)} signal features "
                 f"({', '.join(schema.analyzers)})")
        stale = schema.stale(evidence)
        if stale:
            basis += f"; ignored features of analyzers whose version differs from training: {', '.join(stale)}"
        return with_declarations(Verdict(p, label_for(p, self.band), self.band, self.name, basis), evidence)


class CombinerSet:
    """Several trained combiners (e.g. ``models/default`` for stills, ``models/video`` for clips).

    Each file is judged by the member whose features its evidence covers best (ties: the first listed); that
    member's own rules apply, including its fallback to the rule combiner when too little was measured.
    """

    def __init__(self, members: Sequence[TrainedCombiner]) -> None:
        if not members:
            raise ValueError("a combiner set needs at least one trained combiner")
        self.members = list(members)
        self.name = " + ".join(m.name for m in self.members)

    def choose(self, evidence: Sequence[Evidence]) -> TrainedCombiner:
        """The member that judges ``evidence``."""
        return max(self.members, key=lambda m: m.coverage(evidence))  # max keeps the first of equals

    def verdict(self, evidence: Sequence[Evidence]) -> Verdict:
        return self.choose(evidence).verdict(evidence)
