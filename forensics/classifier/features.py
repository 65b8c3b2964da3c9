"""From evidence to a fixed feature vector for the classifier.

Only analyzers with ``signal = True`` contribute: metadata stays separate evidence so
the classifier cannot learn "no EXIF" or "PNG" as a shortcut. A feature is named
``<analyzer>.<feature>``; a feature that is absent (analyzer unavailable, failed,
or of another version than the one the model was trained on) is ``nan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forensics.analyzers import registry
from forensics.analyzers.base import Analyzer, Evidence


def signal_analyzer_names(media_kind: str = "image") -> list[str]:
    """Registered analyzers whose features are pixel signal and that apply to ``media_kind``."""
    selected = []
    for name in registry.names():
        cls = registry.analyzer_class(name)
        if cls.signal and media_kind in cls.media_kinds:
            selected.append(name)
    return selected


def signal_analyzers(names: Sequence[str] | None = None, media_kind: str = "image") -> list[Analyzer]:
    """Instantiate the named analyzers (default: every signal analyzer for ``media_kind``).

    Raises ``ValueError`` if a named analyzer is not a signal analyzer.
    """
    names = list(names) if names is not None else signal_analyzer_names(media_kind)
    analyzers = registry.create_all(names) if names else []
    not_signal = [a.name for a in analyzers if not a.signal]
    if not_signal:
        raise ValueError(f"not signal analyzers (their facts must stay out of the classifier): {not_signal}")
    return analyzers


def flatten(evidence: Iterable[Evidence]) -> dict[str, float]:
    """Prefixed features of every successful evidence: ``{"<analyzer>.<feature>": value}``."""
    row: dict[str, float] = {}
    for ev in evidence:
        if ev.status != "ok":
            continue
        for key, value in ev.features.items():
            row[f"{ev.analyzer}.{key}"] = float(value)
    return row


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered feature names a model was trained on and the analyzer versions behind them.

    Attributes:
        names: feature names, ``<analyzer>.<feature>``, in column order.
        versions: analyzer name -> version whose features the model expects.
    """

    names: tuple[str, ...]
    versions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, float]], versions: Mapping[str, str]) -> FeatureSchema:
        """Schema of every feature that is finite in at least one row, restricted to ``versions``' analyzers."""
        seen: set[str] = set()
        for row in rows:
            seen.update(k for k, v in row.items() if np.isfinite(v))
        names = sorted(n for n in seen if n.split(".", 1)[0] in versions)
        return cls(tuple(names), dict(versions))

    @property
    def analyzers(self) -> list[str]:
        """Analyzer names the schema draws on, in report order of their first feature."""
        return list(dict.fromkeys(n.split(".", 1)[0] for n in self.names))

    def stale(self, evidence: Iterable[Evidence]) -> list[str]:
        """Analyzers whose evidence has another version than the model's (their features are dropped)."""
        return [ev.analyzer for ev in evidence if self.versions.get(ev.analyzer, ev.version) != ev.version]

    def vector(self, evidence: Sequence[Evidence]) -> np.ndarray:
        """Feature vector (n_features,) float64 of one file's evidence; stale or missing features are ``nan``."""
        current = [ev for ev in evidence if self.versions.get(ev.analyzer) == ev.version]
        return self.matrix([flatten(current)])[0]

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Design matrix (n_rows, n_features) float64 from flattened rows; absent keys are ``nan``."""
        out = np.full((len(rows), len(self.names)), np.nan)
        for i, row in enumerate(rows):
            for j, name in enumerate(self.names):
                value = row.get(name)
                if value is not None:
                    out[i, j] = value
        out[~np.isfinite(out)] = np.nan  # +-inf is no measurement either
        return out

    def to_dict(self) -> dict:
        return {"names": list(self.names), "versions": dict(self.versions)}

    @classmethod
    def from_dict(cls, data: Mapping) -> FeatureSchema:
        return cls(tuple(data["names"]), dict(data["versions"]))
