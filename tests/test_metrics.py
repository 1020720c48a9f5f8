"""utils.metrics against scikit-learn (and statsmodels for McNemar's test), float64, to 1e-12,
on random inputs with tied scores, classes that never occur or are never predicted, and inputs
of a single class."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn import calibration, metrics as sk
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from utils import metrics

TOL = dict(rtol=0, atol=1e-12)
SEEDS = range(8)


def labels(seed, n=200, classes=5, skip=None):
    """(y_true, y_pred): random labels; class ``skip`` is never true and never predicted."""
    g = torch.Generator().manual_seed(seed)
    y_true = torch.randint(classes, (n,), generator=g)
    y_pred = torch.where(torch.rand(n, generator=g) < 0.6, y_true, torch.randint(classes, (n,), generator=g))
    if skip is not None:
        y_true, y_pred = y_true.masked_fill(y_true == skip, 0), y_pred.masked_fill(y_pred == skip, 0)
    return y_true, y_pred


def binary(seed, n=300, decimals=1, positive_rate=0.3):
    """(y_true, scores) with many tied scores (rounded to ``decimals``), scores informative."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=g) < positive_rate).long()
    scores = (torch.rand(n, generator=g, dtype=torch.float64) + 0.4 * y).div(1.4).round(decimals=decimals)
    return y, scores


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64), **TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_matrix(seed):
    y_true, y_pred = labels(seed, skip=3)
    ours = metrics.confusion_matrix(y_true, y_pred, num_classes=6)
    assert ours.dtype == torch.int64 and ours.shape == (6, 6)
    assert np.array_equal(ours.numpy(), sk.confusion_matrix(y_true, y_pred, labels=range(6)))
    assert ours[3].sum() == 0 and ours[:, 3].sum() == 0 and ours[5].sum() == 0


def test_confusion_matrix_errors_and_defaults():
    assert metrics.confusion_matrix(torch.tensor([0, 2]), torch.tensor([1, 2])).shape == (3, 3)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        metrics.confusion_matrix(torch.tensor([0, 2]), torch.tensor([1, 2]), num_classes=2)
    with pytest.raises(ValueError, match="same shape"):
        metrics.confusion_matrix(torch.tensor([0, 1]), torch.tensor([1]))
    with pytest.raises(ValueError, match="integers"):
        metrics.confusion_matrix(torch.tensor([0.5]), torch.tensor([1]))


@pytest.mark.parametrize("average", metrics.AVERAGES)
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_precision_recall_f(seed, beta, average):
    y_true, y_pred = labels(seed, n=60 + 20 * seed, skip=seed % 5)
    y_pred = y_pred.masked_fill(y_pred == 4, 1)  # class 4 occurs but is never predicted
    ours = metrics.precision_recall_f1(y_true, y_pred, num_classes=6, average=average, beta=beta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sk.precision_recall_fscore_support(y_true, y_pred, labels=range(6), average=average, beta=beta,
                                                    zero_division=0.0)[:3]
    for a, b in zip(ours, theirs):
        assert a.dtype == torch.float64
        close(a, b)


def test_micro_f1_is_accuracy_for_single_labels():
    y_true, y_pred = labels(0)
    p, r, f = metrics.precision_recall_f1(y_true, y_pred, average="micro")
    accuracy = (y_true == y_pred).double().mean()
    close([p, r, f], [accuracy] * 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_specificity_is_the_recall_of_the_other_classes(seed):
    y_true, y_pred = labels(seed, skip=2)
    ours = metrics.specificity(y_true, y_pred, num_classes=5)
    for c in range(5):
        if c == 2:
            assert ours[c] == 1.0  # never predicted: every other sample is a true negative
            continue
        close(ours[c], sk.recall_score(y_true != c, y_pred != c))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_top_k_accuracy_with_ties(seed, k):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(4, (100, 6), generator=g).double()  # many ties
    y_true = torch.randint(6, (100,), generator=g)
    close(metrics.top_k_accuracy(y_true, scores, k), sk.top_k_accuracy_score(y_true, scores, k=k, labels=range(6)))


@pytest.mark.parametrize("decimals", [1, 2, 8])
@pytest.mark.parametrize("seed", SEEDS)
def test_curves_and_areas(seed, decimals):
    y, scores = binary(seed, decimals=decimals, positive_rate=0.05 + 0.1 * seed)
    for ours, theirs in zip(metrics.precision_recall_curve(y, scores), sk.precision_recall_curve(y, scores)):
        close(ours, theirs)
    for ours, theirs in zip(metrics.roc_curve(y, scores), sk.roc_curve(y, scores, drop_intermediate=False)):
        close(ours, theirs)
    close(metrics.average_precision(y, scores), sk.average_precision_score(y, scores))
    close(metrics.roc_auc(y, scores), sk.roc_auc_score(y, scores))
    assert metrics.roc_auc(y, scores).dtype == torch.float64


def test_areas_of_extreme_rankers():
    y = torch.tensor([0, 0, 1, 1, 0, 1])
    assert metrics.roc_auc(y, y.double()) == 1 and metrics.roc_auc(y, -y.double()) == 0
    assert metrics.roc_auc(y, torch.zeros(6)) == 0.5  # one big tie: a coin flip
    assert metrics.average_precision(y, y.double()) == 1
    close(metrics.average_precision(y, torch.zeros(6)), 0.5)  # every sample predicted: the positive rate


def test_single_class_inputs():
    only_negative, scores = torch.zeros(10, dtype=torch.long), torch.linspace(0, 1, 10, dtype=torch.float64)
    with pytest.raises(ValueError, match="only one class"):
        metrics.roc_auc(only_negative, scores)
    with pytest.raises(ValueError, match="only one class"):
        metrics.roc_auc(1 - only_negative, scores)
    with pytest.raises(ValueError, match="only one class"):
        metrics.roc_curve(only_negative, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours, theirs in zip(metrics.precision_recall_curve(only_negative, scores),
                                sk.precision_recall_curve(only_negative, scores)):
            close(ours, theirs)
        close(metrics.average_precision(only_negative, scores), sk.average_precision_score(only_negative, scores))
        close(metrics.average_precision(1 - only_negative, scores), sk.average_precision_score(1 - only_negative, scores))
        p, r, f = metrics.precision_recall_f1(only_negative, only_negative, num_classes=2)
        theirs = sk.precision_recall_fscore_support(only_negative, only_negative, labels=[0, 1], zero_division=0.0)
        close(torch.stack([p, r, f]), np.stack(theirs[:3]))
    with pytest.raises(ValueError, match="0 \\(negative\\) or 1"):
        metrics.roc_auc(torch.tensor([0, 2]), torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="no positive"):
        metrics.threshold_for_recall(only_negative, scores, 0.9)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_threshold_for_recall(seed, target):
    y, scores = binary(seed, decimals=2)
    threshold, precision, recall = metrics.threshold_for_recall(y, scores, target)
    sk_precision, sk_recall, sk_thresholds = sk.precision_recall_curve(y, scores)
    best = sk_thresholds[sk_recall[:-1] >= target].max()
    assert threshold == best
    predicted = scores >= threshold
    assert recall == sk.recall_score(y, predicted) >= target
    assert precision == sk.precision_score(y, predicted)


def test_threshold_for_recall_has_no_tolerance():
    """0.1 * 3 is a hair above 0.3: three of ten positives do not reach it, four do."""
    y = torch.tensor([1] * 10 + [0] * 5)
    scores = torch.arange(15, 0, -1, dtype=torch.float64) / 16  # the ten positives score highest
    threshold, precision, recall = metrics.threshold_for_recall(y, scores, 0.1 * 3)
    assert recall == 0.4 and threshold == scores[3]
    assert metrics.threshold_for_recall(y, scores, 0.3)[2] == 0.3  # 3/10 == 0.3 in float64


def reliability_reference(probabilities, y_true, bins):
    """Top-label bins from sklearn's calibration_curve on (correct, confidence)."""
    confidence, predicted = probabilities.max(1)
    correct = (predicted == y_true).numpy()
    accuracy, mean_confidence = calibration.calibration_curve(correct, confidence.numpy(), n_bins=bins)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], confidence.numpy()), minlength=bins)
    return mean_confidence, accuracy, counts[counts > 0]


@pytest.mark.parametrize("bins", [5, 10, 15])
@pytest.mark.parametrize("seed", SEEDS)
def test_reliability_bins_and_ece(seed, bins):
    g = torch.Generator().manual_seed(seed)
    probabilities = torch.softmax(3 * torch.randn(400, 4, generator=g, dtype=torch.float64), dim=1)
    probabilities[:10] = torch.tensor([0.4, 0.2, 0.2, 0.2], dtype=torch.float64)  # on a bin edge for bins 5 and 10
    y_true = torch.randint(4, (400,), generator=g)
    confidence, accuracy, count = metrics.reliability_bins(probabilities, y_true, bins)
    used = count > 0
    ref_confidence, ref_accuracy, ref_count = reliability_reference(probabilities, y_true, bins)
    close(confidence[used], ref_confidence)
    close(accuracy[used], ref_accuracy)
    close(count[used], ref_count)
    assert torch.isnan(confidence[~used]).all()
    expected = np.sum(ref_count / 400 * np.abs(ref_accuracy - ref_confidence))
    close(metrics.expected_calibration_error(probabilities, y_true, bins), expected)


def test_bin_edges_are_b_over_bins_exactly():
    """np.linspace(0, 1, 4)[2] is an ulp above 2/3 in float64 arithmetic of some steps; the contract's
    bins are (b/B, (b+1)/B]: a confidence of exactly 2/3 is in the bin (1/3, 2/3] (issue 26)."""
    probabilities = torch.tensor([[2 / 3, 1 / 3], [0.95, 0.05]], dtype=torch.float64)
    _, _, count = metrics.reliability_bins(probabilities, torch.tensor([1, 0]), 3)
    assert count.tolist() == [0.0, 1.0, 1.0]
    close(metrics.expected_calibration_error(probabilities, torch.tensor([1, 0]), 3), 0.5 * (2 / 3) + 0.5 * 0.05)
    for bins in range(2, 31):  # a confidence of exactly b/B lands in bin b - 1 (0-based)
        for b in range((bins + 1) // 2, bins + 1):  # b/B >= 1/2: the row's largest probability
            row = torch.tensor([[b / bins, 1 - b / bins]], dtype=torch.float64)
            _, _, count = metrics.reliability_bins(row, torch.tensor([0]), bins)
            assert int(count.argmax()) == b - 1, (bins, b, count)


def test_ece_of_a_calibrated_and_an_overconfident_model():
    g = torch.Generator().manual_seed(0)
    confidence = 0.5 + 0.5 * torch.rand(200_000, generator=g, dtype=torch.float64)
    correct = torch.rand(200_000, generator=g, dtype=torch.float64) < confidence
    probabilities = torch.stack([confidence, 1 - confidence], dim=1)
    y_true = torch.where(correct, 0, 1)
    assert metrics.expected_calibration_error(probabilities, y_true) < 0.005
    sharpened = torch.softmax(4 * probabilities.log(), dim=1)
    assert metrics.expected_calibration_error(sharpened, y_true) > 0.1


def test_fit_temperature_finds_the_minimum_of_the_nll():
    from scipy.optimize import minimize_scalar

    g = torch.Generator().manual_seed(0)
    truth = torch.randn(2000, 5, generator=g, dtype=torch.float64)
    y_true = torch.distributions.Categorical(logits=truth).sample()
    logits = 3.0 * truth  # overconfident: the right temperature is about 3

    def nll(t):
        return float(torch.nn.functional.cross_entropy(logits / t, y_true))
    best = minimize_scalar(nll, bounds=(0.05, 50), method="bounded", options={"xatol": 1e-10}).x
    t = metrics.fit_temperature(logits, y_true)
    assert abs(t - best) < 1e-6 and 2.5 < t < 3.5, (t, best)
    assert abs(metrics.fit_temperature(truth, y_true) - 1) < 0.15


def test_bootstrap_ci_percentiles_of_the_resampled_metric():
    y_true, y_pred = labels(0, n=300)

    def accuracy(a, b):
        return (a == b).double().mean()
    low, high = metrics.bootstrap_ci(accuracy, y_true, y_pred, resamples=500, generator=torch.Generator().manual_seed(1))
    index = torch.randint(300, (500, 300), generator=torch.Generator().manual_seed(1))
    values = np.array([float(accuracy(y_true[i], y_pred[i])) for i in index])
    close([low, high], np.percentile(values, [2.5, 97.5]))
    assert low < float(accuracy(y_true, y_pred)) < high


def test_bootstrap_ci_covers_the_truth_about_as_often_as_it_says():
    g = torch.Generator().manual_seed(0)
    covered = 0
    for _ in range(200):
        sample = (torch.rand(200, generator=g) < 0.7).double()
        low, high = metrics.bootstrap_ci(lambda x: x.mean(), sample, resamples=300, level=0.9, generator=g)
        covered += low <= 0.7 <= high
    assert 0.82 <= covered / 200 <= 0.96, covered  # 90 % nominal; the percentile interval is a little narrow


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_mcnemar(seed, exact):
    g = torch.Generator().manual_seed(seed)
    n = [5, 30, 200, 2000, 50, 12, 400, 1000][seed]
    a = torch.rand(n, generator=g) < 0.8
    b = torch.where(torch.rand(n, generator=g) < 0.9, a, ~a) if seed % 2 else torch.rand(n, generator=g) < 0.7
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    theirs = sm_mcnemar(table, exact=exact, correction=True)
    statistic, p = metrics.mcnemar(a, b, exact=exact)
    close([statistic, p], [theirs.statistic, theirs.pvalue])


def test_mcnemar_without_disagreements():
    same = torch.tensor([True, False, True])
    assert metrics.mcnemar(same, same) == (0.0, 1.0)
    assert metrics.mcnemar(same, same, exact=False) == (0.0, 1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics(seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(100, generator=g, dtype=torch.float64) * 10
    y[::7] = 0.0  # MAPE's weak spot
    y_hat = y + torch.randn(100, generator=g, dtype=torch.float64)
    close(metrics.mean_absolute_error(y, y_hat), sk.mean_absolute_error(y, y_hat))
    close(metrics.root_mean_squared_error(y, y_hat), sk.root_mean_squared_error(y, y_hat))
    close(metrics.r2_score(y, y_hat), sk.r2_score(y, y_hat))
    np.testing.assert_allclose(float(metrics.mean_absolute_percentage_error(y, y_hat)),
                               sk.mean_absolute_percentage_error(y, y_hat), rtol=1e-12)
    constant = torch.full((5,), 2.0, dtype=torch.float64)
    assert metrics.r2_score(constant, constant) == sk.r2_score(constant, constant) == 1.0
    assert metrics.r2_score(constant, constant + 1) == sk.r2_score(constant, constant + 1) == 0.0


def test_large_inputs_stay_exact():
    g = torch.Generator().manual_seed(0)
    y = (torch.rand(200_000, generator=g) < 0.01).long()
    scores = (torch.rand(200_000, generator=g, dtype=torch.float64) + 0.3 * y).round(decimals=3)
    close(metrics.roc_auc(y, scores), sk.roc_auc_score(y, scores))
    close(metrics.average_precision(y, scores), sk.average_precision_score(y, scores))
    assert math.isfinite(float(metrics.roc_auc(y, scores.float())))
