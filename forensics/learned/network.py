"""A small CNN that scores native-resolution patches by their noise residual.

The network never sees picture content directly: its input is the high-pass residual ``x - box3x3(x)``
of the patch, where decoder upsampling grids and denoiser smoothing live and scene content mostly does
not. Two stride-2 stages keep the receptive field small (~21 px), so a score is local and a heatmap of
patch scores shows where the traces are. Saved and loaded like a diffusers component: ``config.json``
plus ``model.safetensors`` in one folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class ResidualCNNConfig:
    """Architecture: channels of the stem (full resolution) and of the 1/2 and 1/4 stages; training patch side."""

    channels: tuple[int, int, int] = (16, 32, 64)
    patch: int = 64
    residual_gain: float = 8.0  # residuals of 8-bit photos are a few grey levels: bring them near unit scale


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """``x`` minus its 3x3 box blur (reflect padding): (N, 3, H, W) -> (N, 3, H, W)."""
    return x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, stride=1)


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class ResidualCNN(nn.Module):
    """Patch classifier: (N, 3, H, W) RGB in [0, 1] -> (N,) logits, positive for decoder / denoiser output."""

    def __init__(self, config: ResidualCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config or ResidualCNNConfig()
        c0, c1, c2 = self.config.channels
        stem = nn.Sequential(nn.Conv2d(3, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        self.features = nn.Sequential(stem, _stage(c0, c1, 2), _stage(c1, c2, 2))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(c2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = high_pass(x) * self.config.residual_gain
        return self.head(self.features(r).mean(dim=(2, 3))).squeeze(1)

    def save_pretrained(self, folder: str | Path) -> None:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(folder / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> ResidualCNN:
        """Load from a folder with ``config.json`` and ``model.safetensors`` (no code is executed from the files)."""
        from safetensors.torch import load_file

        folder = Path(folder)
        missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} is not a residual-CNN folder: missing {', '.join(missing)}")
        raw = json.loads((folder / CONFIG_FILE).read_text())
        model = cls(ResidualCNNConfig(channels=tuple(raw["channels"]), patch=raw["patch"],
                                      residual_gain=raw["residual_gain"]))
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return model.eval()
