"""Where the suite finds shared data and model weights.

Both locations are configurable by environment variable so that a newsroom
install can point at its own folders; the defaults match a checkout that has
the project's ``shared/`` folder beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Folder of real test media (``photos/``, ``videos/``, ``provenance/``).

    ``$FORENSICS_DATA`` wins; otherwise ``../shared/data`` beside the project.
    """
    return Path(os.environ.get("FORENSICS_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def weights_roots() -> list[Path]:
    """Folders searched, in order, for autoencoder and model weights.

    ``$FORENSICS_WEIGHTS`` (``os.pathsep``-separated) first, then the project's
    ``models/weights`` and finally ``../shared/weights`` beside the project.
    """
    roots = [Path(p) for p in os.environ.get("FORENSICS_WEIGHTS", "").split(os.pathsep) if p]
    roots += [PROJECT_ROOT / "models" / "weights", PROJECT_ROOT.parent / "shared" / "weights"]
    return roots
