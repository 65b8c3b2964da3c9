"""Train the residual CNN on generator datasets and write it as a model folder.

    python -m forensics.learned.train /tmp/forensics-residual-cnn/dataset --out models/residual-cnn --minutes 25

Real and synthetic images are drawn in equal numbers. With probability ``history_p`` an edit is first re-saved with
its source photo's JPEG tables (:mod:`forensics.classifier.history`: most real photos carry a JPEG history, fresh
decoder output does not, and the network must not learn that difference). Each image is then post-processed with
probability ``augment_p`` by a random chain of blur / noise / crop / resize / JPEG (the classifier's own
augmentation, applied to both classes alike), and two random patches are cut from it. Source photos are split as
the classifier splits them; the validation photos are scored image by image (mean patch logit) as they are and
after each evaluation condition.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from forensics.classifier import postprocess
from forensics.classifier.dataset import Record, load_any, split_by_group
from forensics.classifier.history import with_history
from forensics.learned.network import ResidualCNN, ResidualCNNConfig
from forensics.learned.patches import patch_logits
from generator.provenance import add_watermark

LOG_FILE = "train_log.jsonl"
LOG_EVERY = 20  # training steps per line of the log
METRICS_FILE = "metrics.json"


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def augmented(image: np.ndarray, rng: np.random.Generator, augment_p: float, patch: int,
              watermark_p: float = 0.0) -> np.ndarray:
    """``image`` with the SD invisible watermark (probability ``watermark_p``), then a random post-processing chain
    (probability ``augment_p``); never smaller than ``patch``.

    Stable Diffusion's reference scripts and several diffusers pipelines embed a DWT-DCT watermark after decoding,
    which adds its own mid-frequency texture: without it in training, watermarked generator output looks camera-like.
    """
    if rng.random() < watermark_p:
        marked = add_watermark(Image.fromarray(image))
        image = np.asarray(marked) if marked is not None else image
    if rng.random() >= augment_p:
        return image
    out = decode(postprocess.apply_chain(postprocess.random_chain(rng), image))
    return out if min(out.shape[:2]) >= patch else image


def random_patches(image: np.ndarray, rng: np.random.Generator, patch: int, count: int) -> list[np.ndarray]:
    """``count`` random ``patch`` squares, each flipped left-right with probability 0.5."""
    height, width = image.shape[:2]
    out = []
    for _ in range(count):
        y, x = rng.integers(0, height - patch + 1), rng.integers(0, width - patch + 1)
        crop = image[y : y + patch, x : x + patch]
        out.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    return out


def batches(images: Sequence[np.ndarray], labels: np.ndarray, rng: np.random.Generator, batch: int, patch: int,
            augment_p: float, watermark_p: float = 0.0, per_image: int = 2,
            histories: Sequence[dict | None] = (), history_p: float = 0.0):
    """Endless class-balanced batches: ``(batch, 3, patch, patch)`` float tensors in [0, 1] and 0/1 labels.

    ``histories[i]``: the JPEG history given to image ``i`` with probability ``history_p`` (``None``: none).
    """
    by_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    histories = list(histories) or [None] * len(images)
    while True:
        crops, targets = [], []
        for c in (0, 1):
            for i in rng.choice(by_class[c], batch // (2 * per_image)):
                image = images[i]
                if histories[i] is not None and rng.random() < history_p:
                    image = with_history(image, histories[i])
                image = augmented(image, rng, augment_p, patch, watermark_p)
                crops += random_patches(image, rng, patch, per_image)
                targets += [c] * per_image
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255.0)
        yield x, torch.tensor(targets, dtype=torch.float32)


def fit(records: Sequence[Record], config: ResidualCNNConfig, minutes: float, batch: int = 64,
        learning_rate: float = 2e-3, augment_p: float = 0.5, seed: int = 0,
        log_path: Path | None = None, init: ResidualCNN | None = None, watermark_p: float = 0.0,
        history_p: float = 0.0) -> ResidualCNN:
    """Train for ``minutes`` of wall time with AdamW and a cosine learning rate over that time.

    ``init`` continues from a trained model (fine-tuning, e.g. with more augmentation); ``config`` is then its own.
    ``history_p``: probability that an edit whose record names its source's JPEG history (``source_jpeg``) is drawn
    with it.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    images = [load_rgb(r.path) for r in records]
    labels = np.array([r.label for r in records])
    model = (init or ResidualCNN(config)).train()
    config = model.config
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    budget, start, losses = 60 * minutes, time.time(), []
    log = log_path.open("w") if log_path else None
    histories = [r.info.get("source_jpeg") if r.label == 1 else None for r in records]
    stream = batches(images, labels, rng, batch, config.patch, augment_p, watermark_p, histories=histories,
                     history_p=history_p)
    for step, (x, y) in enumerate(stream, start=1):
        elapsed = time.time() - start
        if elapsed >= budget:
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if log and step % LOG_EVERY == 0:
            _log_step(log, step, elapsed, losses)
    if log:
        if len(losses) % LOG_EVERY:  # the last steps too, however few the budget allowed
            _log_step(log, len(losses), time.time() - start, losses)
        log.close()
    return model.eval()


def _log_step(log: TextIO, step: int, elapsed: float, losses: list[float]) -> None:
    """One line of the training log: the step, seconds since the start, the mean loss of the last steps."""
    log.write(json.dumps({"step": step, "time_s": round(elapsed, 1), "loss": float(np.mean(losses[-LOG_EVERY:]))})
              + "\n")
    log.flush()


def image_scores(model: ResidualCNN, records: Sequence[Record], condition: str | None,
                 max_patches: int) -> np.ndarray:
    """Mean patch logit of each record's image, after an evaluation ``condition`` (None: as it is)."""
    scores = []
    for record in records:
        image = load_rgb(record.path)
        if condition:
            image = decode(postprocess.apply(condition, image))
        logits, _ = patch_logits(model, image, max_patches)
        scores.append(float(logits.mean()) if len(logits) else math.nan)
    return np.array(scores)


def evaluate(model: ResidualCNN, records: Sequence[Record], max_patches: int = 64) -> dict:
    """Image-level ROC AUC and accuracy at logit 0, as is and under every evaluation condition."""
    from sklearn.metrics import roc_auc_score

    labels = np.array([r.label for r in records])
    out = {"n_real": int((labels == 0).sum()), "n_synthetic": int(labels.sum())}
    for condition in (None, *postprocess.CONDITIONS):
        scores = image_scores(model, records, condition, max_patches)
        ok = np.isfinite(scores)
        recall = [float(((scores[ok] > 0) == c)[labels[ok] == c].mean()) for c in (0, 1)]
        out[condition or "as_is"] = {"auc": float(roc_auc_score(labels[ok], scores[ok])),
                                     "real_recall": recall[0], "synthetic_recall": recall[1]}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="generator datasets (folders with metadata.jsonl)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--augment-p", type=float, default=0.5, help="share of images post-processed in training")
    parser.add_argument("--watermark-p", type=float, default=0.0, help="share of images given the SD watermark")
    parser.add_argument("--history-p", type=float, default=0.0,
                        help="share of edits re-saved with their source photo's JPEG tables")
    parser.add_argument("--init", type=Path, help="a model folder to continue training from")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_records, val_records = split_by_group(load_any(args.datasets), args.val_fraction, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    init = ResidualCNN.from_pretrained(args.init) if args.init else None
    model = fit(train_records, ResidualCNNConfig(), args.minutes, learning_rate=args.learning_rate,
                augment_p=args.augment_p, seed=args.seed, log_path=args.out / LOG_FILE, init=init,
                watermark_p=args.watermark_p, history_p=args.history_p)
    model.save_pretrained(args.out)
    metrics = {
        "datasets": [str(d) for d in args.datasets],
        "train_images": len(train_records),
        "init": str(args.init) if args.init else None,
        "learning_rate": args.learning_rate,
        "augment_p": args.augment_p,
        "watermark_p": args.watermark_p,
        "history_p": args.history_p,
        "train_minutes": round((time.time() - started) / 60, 1),
        "threads": args.threads,
        "parameters": sum(p.numel() for p in model.parameters()),
        "validation": evaluate(model, val_records),
    }
    (args.out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics["validation"], indent=2))


if __name__ == "__main__":
    main()
