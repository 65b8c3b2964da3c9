"""Train a bundle end to end: grouped split, augmented features, calibrated classifier, held-out evaluation.

The test split is held out by source photo and is only ever scored, never fitted or tuned on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from forensics import __version__
from forensics.analyzers import registry
from forensics.classifier import postprocess
from forensics.classifier.bundle import Bundle, save_bundle
from forensics.classifier.cache import Sample, extract
from forensics.classifier.card import render_card, render_summary
from forensics.classifier.combiner import MIN_COVERAGE, coverage
from forensics.classifier.dataset import Record, is_local, is_still, source_ids, split_by_group
from forensics.classifier.estimator import CalibratedBoostingClassifier
from forensics.classifier.evaluate import evaluate
from forensics.classifier.features import FeatureSchema
from forensics.classifier.history import source_history

log = logging.getLogger(__name__)


def training_samples(records: Sequence[Record], augment: int,
                     match_history: bool = False) -> tuple[list[Sample], list[Record]]:
    """Each record as is plus, for stills, ``augment`` random post-processing chains of it (both classes alike).

    ``match_history``: every sample of an edit whose record names its source photo's JPEG history (``source_jpeg``)
    is first re-saved with it, so a JPEG history is as common among edits as among the photos they came from
    (:mod:`forensics.classifier.history`).
    """
    samples, owners = [], []
    for record in records:
        history = source_history(record) if match_history else ""
        for variant in ["", *(f"aug{k}" for k in range(augment if is_still(record) else 0))]:
            samples.append(Sample(record.path, variant, history))
            owners.append(record)
    return samples, owners


def fit_bundle(
    name: str,
    records: Sequence[Record],
    analyzer_names: Sequence[str],
    cache_path: str | Path,
    augment: int = 2,
    params: dict[str, Any] | None = None,
    jobs: int = 1,
    match_history: bool = False,
) -> Bundle:
    """Featurize ``records`` (+ augmentations) and fit a :class:`CalibratedBoostingClassifier` grouped by source.

    ``match_history``: see :func:`training_samples`.
    """
    samples, owners = training_samples(records, augment, match_history)
    log.info("training on %d samples from %d records", len(samples), len(records))
    rows = [s.features for s in extract(samples, analyzer_names, cache_path, jobs)]
    versions = registry.versions(list(analyzer_names))
    params = dict(params or {})
    # Experts are named in recipes ("residual-cnn.mean_logit"); their analyzers' other features stay out entirely.
    # So do excluded features: ones whose values depend on how much of a file the training files let an analyzer see.
    experts = list(params.pop("expert_features", ()))
    excluded = set(params.pop("exclude_features", ()))
    expert_analyzers = {name.split(".")[0] for name in experts}
    schema = FeatureSchema.from_rows(rows, versions)
    kept = tuple(n for n in schema.names
                 if n not in excluded and (n.split(".")[0] not in expert_analyzers or n in experts))
    schema = FeatureSchema(kept, schema.versions)
    if not schema.names:
        raise ValueError(f"no features measured by {list(analyzer_names)} on the training set")
    X = schema.matrix(rows)
    # A file the analyzers could hardly measure (a clip too short, a blank picture) carries no evidence to learn
    # from; the combiner never scores such a file either (it falls back to the rule).
    measured = coverage(X) >= MIN_COVERAGE
    if not measured.all():
        log.info("left out %d samples with too few measured features", int((~measured).sum()))
    X = X[measured]
    samples = [s for s, keep in zip(samples, measured, strict=True) if keep]
    owners = [r for r, keep in zip(owners, measured, strict=True) if keep]
    y = np.array([r.label for r in owners])
    groups = np.array([r.group for r in owners])
    params["expert_columns"] = tuple(schema.names.index(n) for n in experts)
    augmented = np.array([s.variant != "" for s in samples])
    whole = np.array([not is_local(r) for r in owners])
    model = CalibratedBoostingClassifier(**params).fit(X, y, groups, augmented, calibrated=whole)
    recipe = {
        "name": name,
        "version": datetime.now(timezone.utc).strftime("%Y%m%d%H%M"),
        "tool_version": __version__,
        "analyzers": versions,
        "augment_per_record": augment,
        "match_jpeg_history": match_history,
        "estimator": model.get_params(),
        "n_train_records": len(records),
        "n_train_samples": len(samples),
        "n_train_synthetic": int(y.sum()),
        "train_groups": sorted(source_ids(records)),
    }
    return Bundle(name, model, schema, recipe)


def train(
    records: Sequence[Record],
    out: str | Path,
    analyzer_names: Sequence[str],
    cache_path: str | Path,
    test_fraction: float = 0.25,
    seed: int = 0,
    augment: int = 2,
    params: dict[str, Any] | None = None,
    datasets: Sequence[str] = (),
    extra_real: Sequence[Record] = (),
    jobs: int = 1,
    notes: dict[str, Any] | None = None,
    match_history: bool = False,
    fit_local_edits: bool = True,
) -> Bundle:
    """Split by source photo, fit on the train side, evaluate on the held-out side, write the bundle to ``out``.

    ``extra_real`` are real photos evaluated (never trained on) for real-image recall, e.g. camera JPEGs
    that are not sources of any dataset record, as they are and shrunk (:data:`postprocess.SHRINK_CONDITIONS`).
    ``notes`` are added to the bundle's recipe (e.g. the dataset recipe).
    ``fit_local_edits`` false keeps local edits (paste-backs) out of the fit: they are then only evaluated.
    """
    out = Path(out)
    train_records, test_records = split_by_group(records, test_fraction, seed)
    if not fit_local_edits:
        train_records = [r for r in train_records if not is_local(r)]
    bundle = fit_bundle(out.name, train_records, analyzer_names, cache_path, augment, params, jobs, match_history)
    bundle.recipe.update({"datasets": list(datasets), "split": {"by": "source photo", "test_fraction": test_fraction,
                                                                 "seed": seed},
                          "test_groups": sorted({r.group[:16] for r in test_records}), **(notes or {})})
    trained = set(bundle.recipe["train_groups"])
    unseen_real = [r for r in extra_real if r.group[:16] not in trained]
    bundle.metrics = evaluate(bundle, test_records, cache_path, jobs=jobs)
    if unseen_real:
        extra = evaluate(bundle, unseen_real, cache_path, conditions=postprocess.SHRINK_CONDITIONS, jobs=jobs)
        bundle.metrics["extra_real"] = {**extra["as_is"], "shrunk": extra["postprocessing"]}
    save_bundle(out, bundle, render_card(bundle))
    (out / "README.md").write_text(render_summary(bundle), encoding="utf-8")
    return bundle
