"""Reference implementations for chapter 07 (measuring models honestly).

Every metric is vectorised in PyTorch (no Python loop over samples or thresholds) and follows
``sklearn.metrics``' definitions, so that the chapter can show both side by side;
tests/test_metrics.py checks each against scikit-learn (statsmodels for McNemar's test) in
float64 to 1e-12 on random inputs with ties, classes that never occur or are never predicted,
and inputs of a single class.

Conventions, as in scikit-learn: labels are int64 class indices ``0 .. C-1``; a binary score is
"higher means more likely positive" and a sample is predicted positive when its score is at or
above the threshold; a ratio whose denominator is zero (the precision of a class never
predicted) is 0 (``zero_division=0``), except where a function says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "confusion_matrix", "precision_recall_f1", "specificity", "top_k_accuracy", "counts_at_thresholds",
    "precision_recall_curve", "average_precision", "roc_curve", "roc_auc", "threshold_for_recall",
    "reliability_bins", "expected_calibration_error", "fit_temperature", "bootstrap_ci", "mcnemar",
    "mean_absolute_error", "root_mean_squared_error", "r2_score", "mean_absolute_percentage_error",
]

AVERAGES = (None, "macro", "micro", "weighted")


def _labels(y: torch.Tensor, name: str) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one class index per sample), got shape {tuple(y.shape)}")
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        if y.dtype == torch.bool or torch.equal(y, y.round()):
            return y.long()
        raise ValueError(f"{name} must hold class indices (integers), got non-integer values of dtype {y.dtype}")
    return y.long()


def _binary(y_true, scores) -> tuple[torch.Tensor, torch.Tensor]:
    y_true, scores = _labels(y_true, "y_true"), torch.as_tensor(scores)
    if scores.shape != y_true.shape:
        raise ValueError(f"y_true {tuple(y_true.shape)} and scores {tuple(scores.shape)} must have the same shape")
    if len(y_true) == 0:
        raise ValueError("no samples: y_true and scores are empty")
    if not ((y_true == 0) | (y_true == 1)).all():
        raise ValueError(f"y_true must be 0 (negative) or 1 (positive), got values {torch.unique(y_true).tolist()}")
    return y_true, scores


# --- labels ------------------------------------------------------------------------------------

def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """``(C, C)`` int64 counts: row = true class, column = predicted class (as scikit-learn).
    ``num_classes`` defaults to one more than the largest label seen."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} must have the same shape")
    seen = int(max(y_true.max(), y_pred.max())) + 1 if len(y_true) else 0
    classes = seen if num_classes is None else num_classes
    if seen > classes or (len(y_true) and min(y_true.min(), y_pred.min()) < 0):
        raise ValueError(f"labels must lie in 0..{classes - 1}, got labels from {int(min(y_true.min(), y_pred.min()))} "
                         f"to {seen - 1}")
    return torch.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)


def _divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0."""
    denominator = denominator.to(torch.float64)
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1e-300), torch.zeros_like(denominator))


def precision_recall_f1(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int | None = None,
                        average: str | None = None, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Precision, recall and F-beta (float64) from single-label predictions, as
    ``sklearn.metrics.precision_recall_fscore_support(labels=range(C), zero_division=0)``.

    ``average``: None (one value per class), "macro" (the plain mean over the classes: every
    class counts the same, rare ones too), "micro" (from the summed counts: for single-label
    data precision = recall = F1 = accuracy) or "weighted" (the mean weighted by each class's
    number of true samples). F-beta of a class is computed from its counts,
    ``(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)``; macro F is the mean of the per-class F."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    matrix = confusion_matrix(y_true, y_pred, num_classes).to(torch.float64)
    tp, predicted, support = matrix.diagonal(), matrix.sum(0), matrix.sum(1)
    if average == "micro":
        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()
    b2 = beta * beta
    precision, recall = _divide(tp, predicted), _divide(tp, support)
    f = _divide((1 + b2) * tp, (1 + b2) * tp + b2 * (support - tp) + (predicted - tp))
    if average == "macro":
        return precision.mean(), recall.mean(), f.mean()
    if average == "weighted":
        weights = _divide(support, support.sum().expand_as(support))
        return (precision * weights).sum(), (recall * weights).sum(), (f * weights).sum()
    return precision, recall, f


def specificity(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Per class, the share of the samples of *other* classes that are not predicted as it:
    TN / (TN + FP) (the recall of "not this class"); 0 where no sample belongs to another class."""
    matrix = confusion_matrix(y_true, y_pred, num_classes).to(torch.float64)
    fp = matrix.sum(0) - matrix.diagonal()
    negatives = matrix.sum() - matrix.sum(1)
    return _divide(negatives - fp, negatives)


def top_k_accuracy(y_true: torch.Tensor, scores: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Share of samples whose true class is among the ``k`` highest of their scores ``(N, C)``.
    Ties are broken as ``sklearn.metrics.top_k_accuracy_score`` does: among equal scores the
    higher class index ranks first."""
    y_true = _labels(y_true, "y_true")
    if scores.dim() != 2 or scores.shape[0] != len(y_true):
        raise ValueError(f"scores must be (N, C) with N = {len(y_true)}, got {tuple(scores.shape)}")
    true_score = scores.gather(1, y_true.unsqueeze(1))
    higher_index = torch.arange(scores.shape[1], device=scores.device) > y_true.unsqueeze(1)
    ahead = (scores > true_score) | ((scores == true_score) & higher_index)
    return (ahead.sum(1) < k).to(torch.float64).mean()


# --- scores: curves and areas ------------------------------------------------------------------

def counts_at_thresholds(y_true: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(false positives, true positives, thresholds) for every distinct score, highest first: at
    ``thresholds[i]`` the samples with ``score >= thresholds[i]`` are predicted positive. One sort
    and one cumulative sum, as ``sklearn.metrics.confusion_matrix_at_thresholds``."""
    y_true, scores = _binary(y_true, scores)
    order = torch.argsort(scores, descending=True, stable=True)
    ranked, positive = scores[order], y_true[order].to(torch.float64)
    last_of_value = torch.cat([torch.nonzero(ranked[1:] != ranked[:-1]).squeeze(1),
                               torch.tensor([len(ranked) - 1], device=ranked.device)])
    tps = positive.cumsum(0)[last_of_value]
    fps = (last_of_value + 1).to(torch.float64) - tps
    return fps, tps, ranked[last_of_value]


def precision_recall_curve(y_true: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(precision, recall, thresholds) as ``sklearn.metrics.precision_recall_curve``: thresholds
    increasing; precision and recall one longer, ending at (1, 0) (no sample predicted positive).
    Without any positive sample the recall is 1 everywhere (scikit-learn warns)."""
    fps, tps, thresholds = counts_at_thresholds(y_true, scores)
    precision = _divide(tps, tps + fps)
    recall = tps / tps[-1] if tps[-1] > 0 else torch.ones_like(tps)
    one, zero = precision.new_ones(1), precision.new_zeros(1)
    return torch.cat([precision.flip(0), one]), torch.cat([recall.flip(0), zero]), thresholds.flip(0)


def average_precision(y_true: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The area under the precision-recall step curve, ``sum_n (R_n - R_(n-1)) P_n`` over the
    thresholds (no interpolation), as ``sklearn.metrics.average_precision_score``. Without a
    positive sample it is 0 (there is nothing to find; scikit-learn warns)."""
    fps, tps, _ = counts_at_thresholds(y_true, scores)
    if tps[-1] == 0:
        return tps.new_zeros(())
    recall = tps / tps[-1]
    steps = torch.diff(recall, prepend=recall.new_zeros(1))
    return (steps * tps / (tps + fps)).sum()


def roc_curve(y_true: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(false positive rate, true positive rate, thresholds) at every distinct score, starting at
    (0, 0) with threshold +inf, as ``sklearn.metrics.roc_curve(drop_intermediate=False)``."""
    fps, tps, thresholds = counts_at_thresholds(y_true, scores)
    if tps[-1] == 0 or fps[-1] == 0:
        raise ValueError("the ROC curve needs both classes in y_true (only one class is present)")
    zero = fps.new_zeros(1)
    infinity = torch.full((1,), math.inf, dtype=thresholds.dtype if thresholds.is_floating_point() else torch.float64)
    return (torch.cat([zero, fps / fps[-1]]), torch.cat([zero, tps / tps[-1]]),
            torch.cat([infinity, thresholds.to(infinity.dtype)]))


def roc_auc(y_true: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The area under the ROC curve from ranks (Mann-Whitney U): the probability that a random
    positive scores higher than a random negative, ties counting one half. Tied scores share
    their average rank. Equal to ``sklearn.metrics.roc_auc_score``; undefined (ValueError) when
    y_true holds one class only."""
    y_true, scores = _binary(y_true, scores)
    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC is undefined when y_true holds only one class "
                         f"({positives} positives, {negatives} negatives)")
    order = torch.argsort(scores, stable=True)
    _, group, counts = torch.unique_consecutive(scores[order], return_inverse=True, return_counts=True)
    last = counts.cumsum(0).to(torch.float64)
    average_rank = last - (counts.to(torch.float64) - 1) / 2  # ranks 1..N; a tie group shares its mean
    ranks = torch.empty(len(scores), dtype=torch.float64, device=scores.device)
    ranks[order] = average_rank[group]
    u = ranks[y_true == 1].sum() - positives * (positives + 1) / 2
    return u / (positives * negatives)


def threshold_for_recall(y_true: torch.Tensor, scores: torch.Tensor, recall: float) -> tuple[float, float, float]:
    """The highest threshold whose recall is at least ``recall`` (the fewest positive predictions
    that still find that share of the positives), with (threshold, precision, recall) there."""
    if not 0 < recall <= 1:
        raise ValueError(f"recall must be in (0, 1], got {recall}")
    fps, tps, thresholds = counts_at_thresholds(y_true, scores)
    if tps[-1] == 0:
        raise ValueError("y_true has no positive sample: every threshold has recall 0/0")
    recalls = tps / tps[-1]
    # exactly "at least": no tolerance, so a target of 0.1 * 3 (just above 0.3) is not met by 3 of 10
    # positives, as with sklearn's precision_recall_curve; thresholds run from the highest down
    first = int(torch.nonzero(recalls >= recall)[0])
    return float(thresholds[first]), float(tps[first] / (tps[first] + fps[first])), float(recalls[first])


# --- calibration -------------------------------------------------------------------------------

def reliability_bins(probabilities: torch.Tensor, y_true: torch.Tensor, bins: int = 15
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per equal-width confidence bin: (mean confidence, accuracy, count), NaN for empty bins.
    The confidence is the largest probability of each row of ``probabilities`` ``(N, C)``; bin b
    holds confidences in ``(b/bins, (b+1)/bins]`` (the first also 0), as
    ``sklearn.calibration.calibration_curve`` except that the edges are b/bins exactly (sklearn's
    ``linspace`` edges are an ulp off at some: 2/3 lands in the upper of 3 bins there)."""
    y_true = _labels(y_true, "y_true")
    if probabilities.dim() != 2 or probabilities.shape[0] != len(y_true):
        raise ValueError(f"probabilities must be (N, C) with N = {len(y_true)}, got {tuple(probabilities.shape)}")
    confidence, predicted = probabilities.to(torch.float64).max(dim=1)
    correct = (predicted == y_true).to(torch.float64)
    # the inner edges b/B themselves: linspace's (numpy's, sklearn's) are an ulp off b/B at some b
    inner = torch.arange(1, bins, dtype=torch.float64, device=confidence.device) / bins
    index = torch.bucketize(confidence, inner)  # right-closed bins, as numpy.searchsorted(side="left")
    count = torch.bincount(index, minlength=bins).to(torch.float64)
    total_confidence = torch.zeros(bins, dtype=torch.float64, device=confidence.device).index_add_(0, index, confidence)
    total_correct = torch.zeros(bins, dtype=torch.float64, device=confidence.device).index_add_(0, index, correct)
    nan = torch.full_like(count, math.nan)
    return (torch.where(count > 0, total_confidence / count.clamp_min(1), nan),
            torch.where(count > 0, total_correct / count.clamp_min(1), nan), count)


def expected_calibration_error(probabilities: torch.Tensor, y_true: torch.Tensor, bins: int = 15) -> torch.Tensor:
    """ECE: the mean over the samples of |accuracy - mean confidence| of their bin, i.e.
    ``sum_b (n_b / N) |acc_b - conf_b|`` over the non-empty bins of :func:`reliability_bins`."""
    confidence, accuracy, count = reliability_bins(probabilities, y_true, bins)
    used = count > 0
    return (count[used] / count.sum() * (accuracy[used] - confidence[used]).abs()).sum()


def fit_temperature(logits: torch.Tensor, y_true: torch.Tensor, steps: int = 100) -> float:
    """The temperature T > 0 that minimises the cross-entropy of ``softmax(logits / T)`` on a
    validation set (temperature scaling, Guo et al. 2017): L-BFGS on log T in float64. Dividing
    by one T never changes a prediction, only how confident it is."""
    y_true = _labels(y_true, "y_true")
    logits = logits.detach().to(torch.float64)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=steps, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), y_true)
        loss.backward()
        return loss
    optimizer.step(closure)
    return float(log_t.detach().exp())


# --- how sure is a number ----------------------------------------------------------------------

def bootstrap_ci(metric: Callable[..., torch.Tensor | float], *arrays: torch.Tensor, resamples: int = 1000,
                 level: float = 0.95, generator: torch.Generator | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(*arrays)``: draw ``resamples`` samples of N rows
    with replacement (all indices at once, ``torch.randint(N, (resamples, N))``), compute the
    metric on each, and return the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (linear
    interpolation, as ``numpy.percentile``)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"every array must have the same number of rows, got {[len(a) for a in arrays]}")
    index = torch.randint(n, (resamples, n), generator=generator)
    values = torch.tensor([float(metric(*(a[rows] for a in arrays))) for rows in index], dtype=torch.float64)
    low, high = torch.quantile(values, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(low), float(high)


def mcnemar(correct_a: torch.Tensor, correct_b: torch.Tensor, exact: bool = True) -> tuple[float, float]:
    """McNemar's test of two classifiers on the same test samples, from their per-sample
    correctness. Only the disagreements count: b = A right and B wrong, c = A wrong and B right.
    ``exact``: statistic min(b, c) and the two-sided binomial p-value with p = 1/2; else the
    chi-square statistic with continuity correction (|b - c| - 1)^2 / (b + c) and its p-value
    (1 degree of freedom). As ``statsmodels.stats.contingency_tables.mcnemar``."""
    a, b_ = torch.as_tensor(correct_a).bool(), torch.as_tensor(correct_b).bool()
    if a.shape != b_.shape:
        raise ValueError(f"correct_a {tuple(a.shape)} and correct_b {tuple(b_.shape)} must have the same shape")
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    n = b + c
    if exact:
        k = min(b, c)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n if n else 1.0
        return float(k), min(1.0, 2 * tail)
    if n == 0:
        return 0.0, 1.0
    statistic = (abs(b - c) - 1) ** 2 / n
    return statistic, math.erfc(math.sqrt(statistic / 2))


# --- regression --------------------------------------------------------------------------------

def _pair(y_true, y_pred) -> tuple[torch.Tensor, torch.Tensor]:
    y_true, y_pred = torch.as_tensor(y_true, dtype=torch.float64), torch.as_tensor(y_pred, dtype=torch.float64)
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be 1-D, non-empty and of the same shape, got "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    return y_true, y_pred


def mean_absolute_error(y_true, y_pred) -> torch.Tensor:
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_true - y_pred).abs().mean()


def root_mean_squared_error(y_true, y_pred) -> torch.Tensor:
    y_true, y_pred = _pair(y_true, y_pred)
    return ((y_true - y_pred) ** 2).mean().sqrt()


def r2_score(y_true, y_pred) -> torch.Tensor:
    """1 - (residual sum of squares) / (total sum of squares around the mean): 1 is perfect, 0 is
    what predicting the mean scores, negative is worse than that. A constant y_true gives 1 for a
    perfect prediction and 0 otherwise (scikit-learn's convention)."""
    y_true, y_pred = _pair(y_true, y_pred)
    residual = ((y_true - y_pred) ** 2).sum()
    total = ((y_true - y_true.mean()) ** 2).sum()
    if total == 0:
        return y_true.new_tensor(1.0 if residual == 0 else 0.0)
    return 1 - residual / total


def mean_absolute_percentage_error(y_true, y_pred) -> torch.Tensor:
    """mean |y - y_hat| / |y|, as a fraction (0.1 = 10 %). Where y is 0 the term is huge, not
    infinite: scikit-learn divides by max(|y|, machine epsilon), and so does this."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ((y_true - y_pred).abs() / y_true.abs().clamp_min(torch.finfo(torch.float64).eps)).mean()
