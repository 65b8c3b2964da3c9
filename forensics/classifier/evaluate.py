"""Held-out evaluation of a bundle: overall, per generation setting, and under post-processing.

Breakdowns by a generation attribute (strength, scheduler, model, VAE) compare the
synthetic records having that value against *all* real records of the evaluation set,
so AUC stays defined on subsets that hold one class only. Post-processing conditions
are applied to both classes alike. One more condition, :data:`SAVED_AS_SOURCE`, changes the edits
only: each is re-saved with its source photo's JPEG tables, as the photo itself was saved
(:mod:`forensics.classifier.history`), which shows how much of a score rests on edits being lossless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from forensics.classifier import postprocess
from forensics.classifier.bundle import Bundle
from forensics.classifier.cache import Sample, extract
from forensics.classifier.combiner import MIN_COVERAGE, coverage
from forensics.classifier.dataset import Record, is_local, is_still
from forensics.classifier.history import source_history
from forensics.classifier.metrics import bootstrap_intervals, detection_metrics, reliability_curve

# noise (shared or per-frame initial noise) and long_side (frame size) are written by the video generator only.
BREAKDOWN_KEYS = ("kind", "strength", "scheduler", "model_id", "vae", "collection", "noise", "long_side")
SAVED_AS_SOURCE = "edits saved as their sources"
STRONG_EDIT = 0.3  # the targets distinguish edits of strength >= 0.3 from lighter ones
#: Bins of ``edit_area`` (share of the picture a local edit replaced; :mod:`generator.paste_back`), upper edges.
AREA_BINS = ((0.075, "under 7.5 %"), (0.15, "7.5-15 %"), (0.3, "15-30 %"), (1.0, "30 % and over"))


@dataclass
class Predictions:
    """Calibrated P(synthetic) of records evaluated under one condition (``""`` = files as they are)."""

    condition: str
    records: list[Record]
    y: np.ndarray  # (n,) int labels
    p: np.ndarray  # (n,) float probabilities
    not_judged: int = 0  # records left out: too few of the model's features measured (the scan's rule judges them)

    def attribute(self, key: str) -> list[Any]:
        return [r.info.get(key) for r in self.records]

    def metrics(self, selection: np.ndarray | None = None, intervals: bool = False) -> dict[str, Any]:
        """Detection metrics of the selected records (all by default); with ``intervals``, their 95 % bootstrap
        intervals over source photos under ``"ci95"``."""
        sel = np.ones(len(self.y), dtype=bool) if selection is None else selection
        out: dict[str, Any] = detection_metrics(self.y[sel], self.p[sel])
        if intervals:
            groups = np.array([r.group for r in self.records])[sel]
            out["ci95"] = bootstrap_intervals(self.y[sel], self.p[sel], groups)
        return out


def predict_records(
    bundle: Bundle, records: Sequence[Record], cache_path: str | Path, condition: str = "", jobs: int = 1
) -> Predictions:
    """Featurize (through the cache) and score ``records`` after ``condition`` (or :data:`SAVED_AS_SOURCE`)."""
    if condition == SAVED_AS_SOURCE:
        samples = [Sample(r.path, "", source_history(r)) for r in records]
    else:
        samples = [Sample(r.path, condition) for r in records]
    rows = [s.features for s in extract(samples, bundle.schema.analyzers, cache_path, jobs)]
    X = bundle.schema.matrix(rows)
    judged = coverage(X) >= MIN_COVERAGE  # as the scan's combiner decides
    kept = [r for r, keep in zip(records, judged, strict=True) if keep]
    p = bundle.model.predict_proba(X[judged])[:, 1] if judged.any() else np.zeros(0)
    return Predictions(condition, kept, np.array([r.label for r in kept], dtype=int), p, int((~judged).sum()))


def _area_key(value: Any) -> str | None:
    return None if value is None else next(label for edge, label in AREA_BINS if float(value) <= edge)


def _strength_key(value: Any) -> str | None:
    return None if value is None else f"{float(value):.2f}"


def breakdown(pred: Predictions, key: str, intervals: bool = False) -> dict[str, dict[str, Any]]:
    """Metrics per value of ``key`` among synthetic records (each value's fakes vs all reals);
    for ``collection``, per value among all records (e.g. real-image recall per photo collection)."""
    values = pred.attribute(key)
    if binned := {"strength": _strength_key, "edit_area": _area_key}.get(key):
        values = [binned(v) for v in values]
    out = {}
    synthetic_only = key != "collection"
    present = {v for v, y in zip(values, pred.y, strict=True) if v is not None and (y == 1 or not synthetic_only)}
    areas = [label for _, label in AREA_BINS]
    for value in sorted(present, key=areas.index if key == "edit_area" else str):
        sel = np.array([v == value for v in values])
        if synthetic_only:
            sel |= pred.y == 0
        out[str(value)] = pred.metrics(sel, intervals)
    return out


def strong_edits(pred: Predictions) -> np.ndarray:
    """Selection of img2img edits with strength >= 0.3 and all reals (round trips, strength 0, are left out)."""
    strength = pred.attribute("strength")
    return np.array([y == 0 or s is None or float(s) >= STRONG_EDIT for s, y in zip(strength, pred.y, strict=True)])


def summarize(pred: Predictions) -> dict[str, Any]:
    """Overall metrics and every breakdown of one condition; bootstrap intervals where the targets are stated."""
    out: dict[str, Any] = {"overall": {**pred.metrics(intervals=True), "not_judged": pred.not_judged},
                           "strength>=0.3": pred.metrics(strong_edits(pred), intervals=True)}
    for key in BREAKDOWN_KEYS:
        per_value = breakdown(pred, key, intervals=key == "strength")
        if per_value:
            out[key] = per_value
    return out


def curves(pred: Predictions) -> dict[str, Any]:
    """ROC curve and reliability-diagram points of one condition (for the model card)."""
    fpr, tpr, _ = roc_curve(pred.y, pred.p)
    step = max(1, len(fpr) // 400)  # a few hundred points draw the same curve
    return {"roc": {"fpr": [*fpr[::step].tolist(), 1.0], "tpr": [*tpr[::step].tolist(), 1.0]},
            "reliability": reliability_curve(pred.y, pred.p)}


def evaluate(
    bundle: Bundle,
    records: Sequence[Record],
    cache_path: str | Path,
    conditions: Sequence[str] = tuple(postprocess.CONDITIONS),
    condition_records: Sequence[Record] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Evaluate ``bundle`` on held-out ``records``, and on the stills of ``condition_records`` (default: the same)
    after each post-processing condition. Local edits (:func:`is_local`) are kept apart: every other figure is on
    reals and whole-image edits, as the targets are stated, and the local edits are scored against the same reals in
    ``local_edits``, per share of the picture replaced. Returns a JSON-serialisable dict::

        {"as_is": {"overall": {...}, "strength>=0.3": {...}, "strength": {"0.10": {...}}, "scheduler": ...},
         "postprocessing": {"jpeg75": {...metrics, "strength>=0.3": {...}, "kind": {"img2img": {...}, ...}}, ...},
         "saved_as_source": {...metrics, "strength>=0.3": ..., "kind": ...},  # when some edits have a JPEG source
         "local_edits": {"overall": {...}, "edit_area": {"under 7.5 %": {...}, ...}},  # when there are local edits
         "curves": {"roc": ..., "reliability": ...}}
    """
    local = [r for r in records if is_local(r)]
    records = [r for r in records if not is_local(r)]
    as_is = predict_records(bundle, records, cache_path, "", jobs)
    both_classes = len(set(as_is.y.tolist())) == 2
    result: dict[str, Any] = {"as_is": summarize(as_is), "curves": curves(as_is) if both_classes else {},
                              "postprocessing": {}}
    if local:
        pred = predict_records(bundle, local + [r for r in records if r.label == 0], cache_path, "", jobs)
        result["local_edits"] = {"overall": {**pred.metrics(intervals=True), "not_judged": pred.not_judged},
                                 "edit_area": breakdown(pred, "edit_area")}
    processed = [r for r in (records if condition_records is None else condition_records)
                 if is_still(r) and not is_local(r)]
    for condition in conditions if processed else ():
        result["postprocessing"][condition] = _condition_summary(
            predict_records(bundle, processed, cache_path, condition, jobs))
    if both_classes and any(source_history(r) for r in records):
        result["saved_as_source"] = _condition_summary(
            predict_records(bundle, records, cache_path, SAVED_AS_SOURCE, jobs))
    return result


def _condition_summary(pred: Predictions) -> dict[str, Any]:
    return {**pred.metrics(intervals=True), "not_judged": pred.not_judged,
            "strength>=0.3": pred.metrics(strong_edits(pred), intervals=True),
            "kind": breakdown(pred, "kind")}
