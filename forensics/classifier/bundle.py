"""A trained model on disk: a folder that loads without executing code from its files.

Layout of a bundle folder::

    model.skops     the fitted estimator (skops format, compressed; loaded with an explicit allowlist of types)
    schema.json     feature names in column order and the analyzer versions they come from
    recipe.json     how it was trained: datasets, augmentation, split, estimator parameters
    metrics.json    held-out evaluation (overall, per strength/scheduler/model/VAE, per post-processing)
    card.html       the model card: metrics table, ROC, reliability diagram, metric vs strength

``load_bundle`` refuses a model file holding any type outside :data:`TRUSTED_TYPES`
rather than trusting it: skops never runs pickle's arbitrary ``__reduce__`` code.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skops.io as sio

from forensics.classifier.estimator import CalibratedBoostingClassifier
from forensics.classifier.features import FeatureSchema

MODEL_FILE, SCHEMA_FILE, RECIPE_FILE, METRICS_FILE, CARD_FILE = (
    "model.skops", "schema.json", "recipe.json", "metrics.json", "card.html")

#: Types beyond skops' defaults that a bundle's model may contain. Anything else is refused.
TRUSTED_TYPES = (
    "forensics.classifier.estimator.CalibratedBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class UntrustedModelError(ValueError):
    """The model file holds types outside the allowlist; it is not loaded."""


@dataclass
class Bundle:
    """A loaded bundle: the estimator, its feature schema, and the documents that describe it."""

    name: str
    model: CalibratedBoostingClassifier
    schema: FeatureSchema
    recipe: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.recipe.get("version", "0"))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n", encoding="utf-8")


def save_bundle(folder: str | Path, bundle: Bundle, card_html: str | None = None) -> Path:
    """Write ``bundle`` (and its model card) into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(bundle.model, folder / MODEL_FILE, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    _write_json(folder / SCHEMA_FILE, bundle.schema.to_dict())
    _write_json(folder / RECIPE_FILE, bundle.recipe)
    _write_json(folder / METRICS_FILE, bundle.metrics)
    if card_html is not None:
        (folder / CARD_FILE).write_text(card_html, encoding="utf-8")
    return folder


def load_bundle(folder: str | Path) -> Bundle:
    """Load a bundle folder; raises :class:`UntrustedModelError` if the model holds unexpected types."""
    folder = Path(folder)
    model_path = folder / MODEL_FILE
    unexpected = sorted(set(sio.get_untrusted_types(file=model_path)) - set(TRUSTED_TYPES))
    if unexpected:
        raise UntrustedModelError(f"{model_path}: refusing to load untrusted types {unexpected}")
    model = sio.load(model_path, trusted=list(TRUSTED_TYPES))
    if not isinstance(model, CalibratedBoostingClassifier):
        raise UntrustedModelError(f"{model_path}: expected a CalibratedBoostingClassifier, got {type(model).__name__}")

    def read(name: str) -> dict[str, Any]:
        path = folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    schema = FeatureSchema.from_dict(read(SCHEMA_FILE))
    if len(schema.names) != model.n_features_in_:
        raise ValueError(f"{folder}: schema has {len(schema.names)} features, model expects {model.n_features_in_}")
    return Bundle(folder.name, model, schema, read(RECIPE_FILE), read(METRICS_FILE))
