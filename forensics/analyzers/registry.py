"""Registry of analyzers: names mapped to classes, imported only when used.

Heavy dependencies (torch, OpenCV, c2pa) load only when an analyzer that needs
them is created. Third-party packages can add analyzers through the
``forensics.analyzers`` entry-point group.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from forensics.analyzers.base import Analyzer

# name -> "module:Class". Order is the order of the report.
_BUILTIN: dict[str, str] = {
    "metadata": "forensics.analyzers.metadata:MetadataAnalyzer",
    "frequency": "forensics.analyzers.frequency:FrequencyAnalyzer",
    "noise": "forensics.analyzers.noise:NoiseAnalyzer",
    "residual-cnn": "forensics.analyzers.residual_cnn:ResidualCNNAnalyzer",
    "reconstruction": "forensics.analyzers.reconstruction:ReconstructionAnalyzer",
    "double-jpeg": "forensics.analyzers.double_jpeg:DoubleJpegAnalyzer",
    "temporal": "forensics.analyzers.temporal:TemporalAnalyzer",
}

_extra: dict[str, str | type[Analyzer]] = {}


def register(name: str, target: str | type[Analyzer]) -> None:
    """Register an analyzer class (or a ``"module:Class"`` path) under ``name``."""
    _extra[name] = target


def _targets() -> dict[str, str | type[Analyzer]]:
    targets: dict[str, str | type[Analyzer]] = dict(_BUILTIN)
    for ep in entry_points(group="forensics.analyzers"):
        targets.setdefault(ep.name, ep.value)
    targets.update(_extra)
    return targets


def names() -> list[str]:
    """Names of all registered analyzers, in report order."""
    return list(_targets())


def analyzer_class(name: str) -> type[Analyzer]:
    """The class registered under ``name``; ``KeyError`` lists the known names."""
    targets = _targets()
    if name not in targets:
        raise KeyError(f"unknown analyzer {name!r}; known: {', '.join(targets)}")
    target = targets[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        target = getattr(import_module(module), attr)
    return target


def create(name: str, **options: object) -> Analyzer:
    """Instantiate the analyzer registered under ``name`` with keyword options."""
    return analyzer_class(name)(**options)


def default_names() -> list[str]:
    """Names of the analyzers a scan or an audit runs unless told otherwise: all but those whose class sets
    ``by_default`` to False."""
    return [name for name in names() if analyzer_class(name).by_default]


def create_all(selected: list[str] | None = None) -> list[Analyzer]:
    """Instantiate the selected analyzers (all registered ones by default)."""
    return [create(n) for n in (selected or names())]


def versions(selected: list[str] | None = None) -> dict[str, str]:
    """Version of each named analyzer (default: all) as an instance reports it: it may add its weights' hash."""
    return {analyzer.name: analyzer.version for analyzer in create_all(selected)}
