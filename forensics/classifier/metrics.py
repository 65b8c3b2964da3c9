"""Detection and calibration metrics, each defined for the label convention 1 = synthetic.

A metric that needs both classes (AUC, AP, TPR at FPR, balanced accuracy) is ``nan`` on a
subset holding only one class; real-image recall is ``nan`` without real images.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.metrics import average_precision_score, roc_curve

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


def recalls(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """(real images called real, synthetic ones called synthetic) at ``threshold``; ``nan`` for an absent class."""
    pred = p >= threshold
    real, synth = y == 0, y == 1
    return (float((~pred[real]).mean()) if real.any() else float("nan"),
            float(pred[synth].mean()) if synth.any() else float("nan"))


#: metrics given a bootstrap interval: those the targets are stated in
INTERVAL_METRICS = ("auc", "balanced_accuracy", "real_recall", "ece")


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (ties count half); ``nan`` unless both classes are present.

    The Mann-Whitney U / (n1 n0) is the AUC, at a third of ``roc_auc_score``'s cost: the bootstrap calls it
    thousands of times.
    """
    n_synth = int(np.sum(y))
    if not 0 < n_synth < len(y):
        return float("nan")
    u = mannwhitneyu(p[y == 1], p[y == 0], method="asymptotic", use_continuity=False).statistic
    return float(u / (n_synth * (len(y) - n_synth)))


def _interval_values(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    real_recall, synth_recall = recalls(y, p)
    return {"auc": roc_auc(y, p),
            "balanced_accuracy": (real_recall + synth_recall) / 2,
            "real_recall": real_recall,
            "ece": expected_calibration_error(y, p)}


def bootstrap_intervals(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, list[float]]:
    """Intervals of :data:`INTERVAL_METRICS`, resampling whole groups (source photos) with replacement.

    The edits of one photo are not independent samples, so the photo is the unit resampled (a cluster
    bootstrap); with a few dozen photos per class the intervals are wide, which is the point of showing them.
    They are basic (reverse-percentile) intervals, 2 x estimate - quantiles, clipped to [0, 1]: resampling
    inflates a binned ECE (duplicates make bins noisier), and plain percentiles would carry that bias over.
    y, p, groups: (n,). Returns ``{metric: [low, high]}`` (``nan`` where a metric is undefined in most resamples).
    """
    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(inverse.max() + 1)]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        draws.append(_interval_values(y[idx], p[idx]))
    estimate = _interval_values(y, p)
    tail = 100 * (1 - level) / 2
    out = {}
    for metric in INTERVAL_METRICS:
        values = np.array([d[metric] for d in draws])
        finite = values[np.isfinite(values)]
        if len(finite) <= resamples / 2 or not np.isfinite(estimate[metric]):
            out[metric] = [np.nan, np.nan]
            continue
        low_q, high_q = np.percentile(finite, [tail, 100 - tail])
        out[metric] = np.clip([2 * estimate[metric] - high_q, 2 * estimate[metric] - low_q], 0.0, 1.0).tolist()
    return out


def detection_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """All metrics of one subset. y: (n,) in {0, 1}; p: (n,) calibrated P(synthetic).

    Keys: ``n``, ``n_synthetic``, ``auc``, ``ap``, ``balanced_accuracy``, ``tpr_at_1fpr``, ``tpr_at_5fpr``,
    ``real_recall`` (real images called real at ``threshold``), ``synthetic_recall``, ``ece``, ``ece_balanced``
    (ECE with both classes weighted equally, the prior the balanced classifier is calibrated to), ``nll``.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    real_recall, synth_recall = recalls(y, p, threshold)
    real, synth = y == 0, y == 1
    both = real.any() and synth.any()
    nan = float("nan")
    return {
        "n": len(y),
        "n_synthetic": int(synth.sum()),
        "auc": roc_auc(y, p),
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
