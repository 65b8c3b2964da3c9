"""Metric definitions against hand-computed values, and the estimator's contract (missing features, calibration)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensics.classifier.estimator import CalibratedBoostingClassifier
from forensics.classifier.metrics import (
    bootstrap_intervals,
    detection_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_curve,
    roc_auc,
    tpr_at_fpr,
)


def test_metrics_on_a_hand_computed_case() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    m = detection_metrics(y, p)
    assert m["n"] == 8 and m["n_synthetic"] == 4
    assert m["auc"] == pytest.approx(15 / 16)  # one inverted pair (0.6 real above 0.4 synthetic) of 16
    assert m["real_recall"] == 0.75 and m["synthetic_recall"] == 0.75 and m["balanced_accuracy"] == 0.75
    assert m["tpr_at_1fpr"] == 0.75  # at zero false positives, 3 of 4 synthetic are above 0.6
    assert m["nll"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.7, 0.4, 0.4, 0.7, 0.8, 0.9])))


def test_tpr_at_fpr_allows_the_stated_false_positive_rate() -> None:
    y = np.array([0] * 20 + [1] * 2)
    p = np.concatenate([np.linspace(0, 0.5, 19), [0.95], [0.9, 0.99]])  # one real scores 0.95
    assert tpr_at_fpr(y, p, 0.01) == 0.5  # below 1/20 FPR only the 0.99 edit is caught
    assert tpr_at_fpr(y, p, 0.05) == 1.0


def test_calibration_error_of_perfect_and_overconfident_scores() -> None:
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.99)) == pytest.approx(0.49)
    curve = reliability_curve(y, np.full(100, 0.5))
    assert curve == {"confidence": [0.5], "frequency": [0.5], "count": [100]}
    assert negative_log_likelihood(np.array([1]), np.array([1.0])) < 1e-5  # clipped, finite
    # 1 edit per 9 photos, all scored 0.5: miscalibrated for that ratio, calibrated for even odds.
    skewed = np.array([0] * 90 + [1] * 10)
    m = detection_metrics(skewed, np.full(100, 0.5))
    assert m["ece"] == pytest.approx(0.4) and m["ece_balanced"] == pytest.approx(0.0)


def test_one_class_subsets_have_undefined_ranking_metrics() -> None:
    m = detection_metrics(np.zeros(5, int), np.array([0.1, 0.2, 0.3, 0.7, 0.2]))
    assert math.isnan(m["auc"]) and math.isnan(m["balanced_accuracy"]) and math.isnan(m["synthetic_recall"])
    assert m["real_recall"] == 0.8


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_estimator_handles_missing_features_and_calibrates(calibration: str) -> None:
    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 2, n)
    X = np.column_stack([y + rng.normal(0, 0.8, n), rng.normal(size=n)])
    X[rng.random(X.shape) < 0.2] = np.nan  # an analyzer that did not run on a fifth of the files
    groups = np.arange(n) // 3
    model = CalibratedBoostingClassifier(max_iter=60, calibration=calibration).fit(X, y, groups)
    proba = model.predict_proba(X)
    assert proba.shape == (n, 2) and np.allclose(proba.sum(1), 1) and (proba > 0).all() and (proba < 1).all()
    assert np.isfinite(model.predict_proba(np.full((1, 2), np.nan))).all()  # nothing measured still gives a number
    held_out = np.column_stack([np.r_[np.zeros(200), np.ones(200)] + rng.normal(0, 0.8, 400), rng.normal(size=400)])
    truth = np.r_[np.zeros(200), np.ones(200)].astype(int)
    assert expected_calibration_error(truth, model.predict_proba(held_out)[:, 1]) < 0.1
    with pytest.raises(ValueError, match="calibration"):
        CalibratedBoostingClassifier(calibration="platt").fit(X, y)


def test_augmented_calibration_share_keeps_clean_files_from_underconfidence() -> None:
    """Three noisy copies per clean row flatten a calibration fitted on all rows alike; a 50 % share does not."""
    rng = np.random.default_rng(0)
    n = 400
    y = np.tile(rng.integers(0, 2, n), 4)
    noise = np.repeat([0.4, 1.5, 1.5, 1.5], n)  # the file as is, then three harder post-processed copies
    X = (y + rng.normal(0, 1, 4 * n) * noise)[:, None]
    augmented = np.repeat([False, True, True, True], n)
    groups = np.tile(np.arange(n), 4)
    truth = np.r_[np.zeros(500), np.ones(500)].astype(int)
    clean = (truth + rng.normal(0, 0.4, 1000))[:, None]
    ece = {}
    for share in (None, 0.5):
        model = CalibratedBoostingClassifier(max_iter=60, augmented_calibration_share=share)
        ece[share] = expected_calibration_error(truth, model.fit(X, y, groups, augmented).predict_proba(clean)[:, 1])
    assert ece[0.5] < ece[None] - 0.02, ece
    with pytest.raises(ValueError, match="augmented"):
        CalibratedBoostingClassifier(augmented_calibration_share=0.5).fit(X, y, groups)


def test_stacked_pooling_weighs_each_source_by_its_evidence() -> None:
    """An expert's log-odds far more telling than the boosting's features: the stack gives the expert its true scale
    and the boosting little, and beats the mean of log-odds; a row without the expert falls back to the boosting."""
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, n)
        expert = 2 * (2 * y - 1) + rng.normal(0, 1.5, n)  # class means -2 and +2, sd 1.5: log-odds 16/9 * expert
        return np.column_stack([y + rng.normal(0, 2, n), rng.normal(0, 2, n), expert]), y

    X, y = draw(800)
    held_out, truth = draw(1000)
    nll = {}
    for pooling in ("mean", "stacked"):
        model = CalibratedBoostingClassifier(max_iter=60, expert_columns=(2,), pooling=pooling)
        model.fit(X, y, np.arange(800) // 2)
        nll[pooling] = negative_log_likelihood(truth, model.predict_proba(held_out)[:, 1])
    booster_weight, expert_weight = model.calibrator_.coef_[0]
    assert abs(expert_weight - 16 / 9) < 0.3 and 0 < booster_weight < expert_weight / 3, model.calibrator_.coef_
    assert nll["stacked"] < nll["mean"], nll
    without = held_out.copy()
    without[:, 2] = np.nan
    p = model.predict_proba(without)[:, 1]
    assert np.allclose(p, model.fallback_.predict_proba(model.log_odds(without)[:, :1])[:, 1])
    assert 0.55 < roc_auc(truth, p) < 0.8  # the weak features alone: some evidence, far less than the expert's
    with pytest.raises(ValueError, match="pooling"):
        CalibratedBoostingClassifier(pooling="stacked", calibration="isotonic").fit(X, y)


def test_bootstrap_intervals_resample_photos_not_files() -> None:
    """Ten identical edits of each photo carry the information of one: the interval must be as wide as with one."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    p = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, 60), 0, 1)
    point = detection_metrics(y, p)
    single = bootstrap_intervals(y, p, groups=np.arange(60))
    copies = bootstrap_intervals(np.repeat(y, 10), np.repeat(p, 10), groups=np.repeat(np.arange(60), 10))
    naive = bootstrap_intervals(np.repeat(y, 10), np.repeat(p, 10), groups=np.arange(600))
    for metric in ("auc", "balanced_accuracy", "real_recall"):
        low, high = single[metric]
        assert low <= point[metric] <= high
        width = high - low
        assert abs((copies[metric][1] - copies[metric][0]) - width) < 0.35 * width
        assert naive[metric][1] - naive[metric][0] < 0.6 * width  # files as independent: falsely precise
    only_real = bootstrap_intervals(np.zeros(20, int), p[:20], groups=np.arange(20))
    assert np.isnan(only_real["auc"]).all() and not np.isnan(only_real["real_recall"]).any()
