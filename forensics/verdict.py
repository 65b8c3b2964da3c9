"""From evidence to one calibrated verdict.

A *combiner* turns the evidence of all analyzers into a :class:`Verdict`. Two
rules hold whatever the combiner:

* decisive metadata (a finding of severity ``DECISIVE`` pointing to synthesis:
  a C2PA assertion of AI generation, generation parameters, a generator's
  watermark) makes the verdict ``synthetic`` on its own, and the basis says so;
* an unverified declaration of AI generation (a strong, ``HIGH``, synthetic finding
  of an analyzer whose features do not feed the classifier: an unsigned IPTC digital
  source type, a generator named as the software, a broken C2PA manifest declaring AI,
  a weak generator watermark) keeps the verdict out of ``no_synthetic_evidence``:
  p is raised to 0.5, ``uncertain``. Such a declaration is rarely written on a camera
  photo, but it is unsigned text, and pixels that disagree with it deserve a human look;
* a probability inside the uncertain band is reported as ``uncertain``, never
  rounded to a side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from forensics.analyzers.base import Evidence, Severity

Label = Literal["synthetic", "uncertain", "no_synthetic_evidence"]
UNCERTAIN_BAND = (0.35, 0.65)
DECISIVE_P = 0.99
#: The least P(synthetic) of a file whose metadata declares it generated (AI or another algorithm) without proof.
DECLARED_P = 0.5


@dataclass(frozen=True)
class Verdict:
    """The final judgement on one file.

    Attributes:
        p_synthetic: probability in [0, 1] that the file was made or altered by a
            generative model, calibrated when ``model`` is a trained classifier.
        label: ``synthetic`` above the band, ``no_synthetic_evidence`` below, else ``uncertain``.
        band: the (low, high) uncertain band used.
        model: the combiner that produced the score, with its version.
        basis: one sentence on what the score rests on.
    """

    p_synthetic: float
    label: Label
    band: tuple[float, float]
    model: str
    basis: str

    @property
    def authenticity(self) -> float:
        """1 - p_synthetic: the probability of no synthetic edit."""
        return 1.0 - self.p_synthetic


def label_for(p: float, band: tuple[float, float] = UNCERTAIN_BAND) -> Label:
    low, high = band
    if p >= high:
        return "synthetic"
    if p <= low:
        return "no_synthetic_evidence"
    return "uncertain"


def decisive_finding_verdict(evidence: Sequence[Evidence], model: str) -> Verdict | None:
    """The verdict forced by decisive synthetic metadata, or ``None`` if there is none."""
    for ev in evidence:
        for f in ev.findings:
            if f.severity is Severity.DECISIVE and f.direction == "synthetic":
                basis = f"decisive metadata ({ev.analyzer}): {f.message}"
                return Verdict(DECISIVE_P, "synthetic", UNCERTAIN_BAND, model, basis)
    return None


def with_declarations(verdict: Verdict, evidence: Sequence[Evidence]) -> Verdict:
    """``verdict`` raised to :data:`DECLARED_P` when unverified metadata declares AI generation and p is lower."""
    if verdict.p_synthetic >= DECLARED_P:
        return verdict
    declared = next(
        ((ev, f) for ev in evidence if not ev.signal for f in ev.findings
         if f.severity is Severity.HIGH and f.direction == "synthetic"),
        None,
    )  # fmt: skip
    if declared is None:
        return verdict
    ev, finding = declared
    basis = (f"{verdict.basis}: p = {verdict.p_synthetic:.2f}, raised to {DECLARED_P:.2f} because unverified "
             f"metadata ({ev.analyzer}) declares the content generated: {finding.message}")
    return replace(verdict, p_synthetic=DECLARED_P, label=label_for(DECLARED_P, verdict.band), basis=basis)


class Combiner(Protocol):
    """Anything that turns a file's evidence into a verdict."""

    name: str

    def verdict(self, evidence: Sequence[Evidence]) -> Verdict: ...


class RuleCombiner:
    """The documented fallback rule, used when no trained classifier is available.

    1. Decisive synthetic metadata -> p = 0.99.
    2. Otherwise the mean of the ``score`` of every signal analyzer that produced one, at least 0.5 when
       unverified metadata declares AI generation (:func:`with_declarations`).
    3. No score at all -> p = 0.5, ``uncertain``: nothing was measured.

    The mean of uncalibrated analyzer scores is *not* a calibrated probability;
    the report names this rule as the model so nobody mistakes it for one.
    """

    name = "rule-v1"

    def verdict(self, evidence: Sequence[Evidence]) -> Verdict:
        forced = decisive_finding_verdict(evidence, self.name)
        if forced is not None:
            return forced
        scored = [ev for ev in evidence if ev.status == "ok" and ev.score is not None]
        if not scored:
            return Verdict(0.5, "uncertain", UNCERTAIN_BAND, self.name, "no analyzer produced a score")
        p = sum(ev.score for ev in scored) / len(scored)  # type: ignore[misc]
        names = ", ".join(ev.analyzer for ev in scored)
        verdict = Verdict(p, label_for(p), UNCERTAIN_BAND, self.name, f"mean of analyzer scores ({names})")
        return with_declarations(verdict, evidence)
