"""Detection and calibration metrics, each defined for the label convention 1 = synthetic.

A metric that needs both classes (AUC, AP, TPR at FPR, balanced accuracy) is ``nan`` on a
subset holding only one class; real-image recall is ``nan`` without real images.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

_EPS = 1e-6


def tpr_at_fpr(y: np.ndarray, p: np.ndarray, fpr: float) -> float:
    """Largest true-positive rate whose false-positive rate is at most ``fpr`` (interpolation-free)."""
    fprs, tprs, _ = roc_curve(y, p)
    ok = fprs <= fpr
    return float(tprs[ok].max()) if ok.any() else 0.0


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, n_bins: int = 15, weights: np.ndarray | None = None
) -> float:
    """ECE: bin-mass-weighted mean |observed frequency - mean P(synthetic)| over ``n_bins`` equal-width bins.

    ``weights`` (n,) re-weigh the samples, e.g. to even class priors (see :func:`balanced_weights`).
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            mass = w[sel].sum()
            ece += mass / w.sum() * abs(np.average(y[sel], weights=w[sel]) - np.average(p[sel], weights=w[sel]))
    return float(ece)


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Sample weights giving both classes the same total mass (the even prior a balanced model is calibrated to)."""
    counts = np.bincount(y, minlength=2).astype(float)
    return 0.5 / counts[y]


def reliability_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict[str, list[float]]:
    """Mean predicted probability, observed frequency and count per non-empty bin (for the reliability diagram)."""
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    out: dict[str, list[float]] = {"confidence": [], "frequency": [], "count": []}
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            out["confidence"].append(float(p[sel].mean()))
            out["frequency"].append(float(y[sel].mean()))
            out["count"].append(int(sel.sum()))
    return out


def negative_log_likelihood(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy in nats."""
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def detection_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """All metrics of one subset. y: (n,) in {0, 1}; p: (n,) calibrated P(synthetic).

    Keys: ``n``, ``n_synthetic``, ``auc``, ``ap``, ``balanced_accuracy``, ``tpr_at_1fpr``, ``tpr_at_5fpr``,
    ``real_recall`` (real images called real at ``threshold``), ``synthetic_recall``, ``ece``, ``ece_balanced``
    (ECE with both classes weighted equally, the prior the balanced classifier is calibrated to), ``nll``.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    pred = p >= threshold
    real, synth = y == 0, y == 1
    real_recall = float((~pred[real]).mean()) if real.any() else float("nan")
    synth_recall = float(pred[synth].mean()) if synth.any() else float("nan")
    both = real.any() and synth.any()
    nan = float("nan")
    return {
        "n": len(y),
        "n_synthetic": int(synth.sum()),
        "auc": float(roc_auc_score(y, p)) if both else nan,
        "ap": float(average_precision_score(y, p)) if both else nan,
        "balanced_accuracy": (real_recall + synth_recall) / 2 if both else nan,
        "tpr_at_1fpr": tpr_at_fpr(y, p, 0.01) if both else nan,
        "tpr_at_5fpr": tpr_at_fpr(y, p, 0.05) if both else nan,
        "real_recall": real_recall,
        "synthetic_recall": synth_recall,
        "ece": expected_calibration_error(y, p) if len(y) else nan,
        "ece_balanced": expected_calibration_error(y, p, weights=balanced_weights(y)) if both else nan,
        "nll": negative_log_likelihood(y, p) if len(y) else nan,
    }
