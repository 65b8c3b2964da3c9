"""JPEG-history matching: real photos' JPEG tables read back and given to lossless images, in training batches too."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.frequency import GRID_THRESHOLD
from forensics.classifier.history import jpeg_history, with_history
from forensics.learned.train import batches
from forensics.media import media_from_bytes

BSDS = "bsds500/test_226043.jpg"  # an archive JPEG at about quality 92, as most of the training photos are
KODAK = "kodak/kodak_kodim05.png"  # lossless


def _rgb(path: Path, side: int | None = None) -> np.ndarray:
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[:side, :side]) if side else rgb


def _blockiness(pixels: np.ndarray) -> float:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return registry.create("frequency").run(media_from_bytes(buf.getvalue(), path="x.png")).features["blockiness"]


def test_history_is_read_from_jpegs_only(photos_dir: Path, camera_jpeg: Path) -> None:
    for path in (photos_dir / BSDS, camera_jpeg):
        history = jpeg_history(path)
        with Image.open(path) as im:
            assert history["qtables"] == [list(im.quantization[k]) for k in sorted(im.quantization)]
        assert all(len(table) == 64 for table in history["qtables"]) and history["subsampling"] in (0, 1, 2)
    assert jpeg_history(photos_dir / KODAK) is None


def test_a_lossless_photo_given_a_jpeg_history_shows_its_block_grid(photos_dir: Path, camera_jpeg: Path) -> None:
    lossless = _rgb(photos_dir / KODAK, 384)
    resaved = with_history(lossless, jpeg_history(camera_jpeg))
    assert resaved.shape == lossless.shape and resaved.dtype == np.uint8
    assert _blockiness(lossless) < GRID_THRESHOLD < _blockiness(resaved)
    # Quality 92 leaves a fainter grid, still well above the lossless image's.
    history = jpeg_history(photos_dir / BSDS)
    assert _blockiness(with_history(lossless, history)) > 2 * _blockiness(lossless)
    # The source's own pixels keep their history: re-saving with its tables barely changes them.
    own = _rgb(photos_dir / BSDS)
    assert np.abs(with_history(own, history).astype(int) - own).mean() < 1.0


def test_training_batches_give_edits_their_sources_history(photos_dir: Path) -> None:
    history = jpeg_history(photos_dir / BSDS)
    photo = _rgb(photos_dir / KODAK, 64)
    images, labels = [photo, photo], np.array([0, 1])
    for history_p, expected in ((1.0, with_history(photo, history)), (0.0, photo)):
        stream = batches(images, labels, np.random.default_rng(0), batch=4, patch=64, augment_p=0.0,
                         histories=[None, history], history_p=history_p, per_image=1)
        x, y = next(stream)
        crops = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        for crop, label in zip(crops, y.numpy(), strict=True):
            want = expected if label == 1 else photo  # real photos never get a history
            assert np.array_equal(crop, want) or np.array_equal(crop, want[:, ::-1])
