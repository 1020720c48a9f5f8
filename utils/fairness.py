"""Reference implementations for chapter 10 (trustworthy ML): group fairness metrics, one
mitigation, and the synthetic loan data the chapter measures them on.

The metrics follow fairlearn's definitions (``fairlearn.metrics``: selection rate, demographic
parity difference, equalized odds difference, between groups as max - min) and are checked
against it in tests/test_trustworthy.py in float64.

**The data.** No dataset that scikit-learn, statsmodels or the other installed packages ship
has a protected attribute (the census and credit sets are all ``fetch_*`` downloads), so
:func:`synthetic_loans` generates one: loan applicants from two groups whose incomes differ
(a historical gap, as in real credit data), with savings that follow income, a debt ratio, years
of credit history, late payments, and a neighbourhood score that is a proxy for the group. The
outcome (repaid or not) depends on the finances only, never on the group itself: every gap a
model shows comes through the features, as it does in practice. The generator is seeded, so
the same seed gives the same table on every machine (tests check its checksum).
"""

from __future__ import annotations

import torch

FEATURES = ("income", "savings", "debt_ratio", "credit_years", "late_payments", "neighbourhood")
GROUPS = ("A", "B")


def synthetic_loans(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` synthetic loan applicants: features ``(n, 6)`` float64 in the order of
    :data:`FEATURES` (income and savings in thousands), ``repaid`` ``(n,)`` int64 (1 = repaid) and
    ``group`` ``(n,)`` int64 (0 = A, 1 = B; about 35 % are B). See the module docstring."""
    if n < 1:
        raise ValueError(f"n must be a positive number of applicants, got {n}")
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64

    def normal(*shape):
        return torch.randn(*shape, generator=g, dtype=f64)

    group = (torch.rand(n, generator=g, dtype=f64) < 0.35).long()
    log_income = 4.0 - 0.35 * group + 0.45 * normal(n)             # median income ~55k for A, ~39k for B
    income = log_income.exp()
    savings = (0.9 * (log_income - 4.0) + 2.3 + 0.5 * normal(n)).exp()  # follows income closely
    debt_ratio = _beta(2.0, 5.0, n, g)
    credit_years = (8.0 + 5.0 * normal(n)).clamp(0.0, 40.0).round()
    late_rate = 0.3 + 2.5 * debt_ratio
    late_payments = torch.poisson(late_rate, generator=g)
    neighbourhood = 0.5 + 1.2 * group + 0.7 * normal(n)           # a proxy: says much about the group
    risk = (1.6 * (log_income - 3.9) + 0.4 * (savings.log() - 2.3) - 4.0 * (debt_ratio - 0.28)
            + 0.06 * (credit_years - 8.0) - 0.45 * late_payments + 0.9)
    repaid = (torch.rand(n, generator=g, dtype=f64) < torch.sigmoid(risk)).long()
    X = torch.stack([income, savings, debt_ratio, credit_years, late_payments, neighbourhood], dim=1)
    return X, repaid, group


def _beta(a: float, b: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """Beta(a, b) draws from ``generator`` as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (integer
    shapes: sums of exponentials), so that the table depends on the seed only."""
    def gamma(shape: float) -> torch.Tensor:
        u = torch.rand(n, int(shape), generator=generator, dtype=torch.float64)
        return -torch.log1p(-u).sum(dim=1)
    x, y = gamma(a), gamma(b)
    return x / (x + y)


def _check(y_pred: torch.Tensor, group: torch.Tensor, y_true: torch.Tensor | None = None) -> None:
    if y_pred.shape != group.shape or (y_true is not None and y_true.shape != group.shape) or y_pred.dim() != 1:
        shapes = [tuple(t.shape) for t in (y_true, y_pred, group) if t is not None]
        raise ValueError(f"labels, predictions and groups must be 1-D tensors of one length, got shapes {shapes}")


def selection_rates(y_pred: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Fraction predicted positive in each group, ordered by group id (``torch.unique``)."""
    _check(y_pred, group)
    return torch.stack([y_pred[group == k].double().mean() for k in torch.unique(group)])


def demographic_parity_difference(y_pred: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Largest minus smallest selection rate between groups (fairlearn's
    ``demographic_parity_difference``)."""
    rates = selection_rates(y_pred, group)
    return rates.max() - rates.min()


def group_rates(y_true: torch.Tensor, y_pred: torch.Tensor, group: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(true positive rate, false positive rate) of each group, ordered by group id; NaN where a
    group has no positive (or no negative) example."""
    _check(y_pred, group, y_true)
    tpr, fpr = [], []
    for k in torch.unique(group):
        t, p = y_true[group == k].bool(), y_pred[group == k].bool()
        tpr.append((p & t).sum().double() / t.sum().double() if t.any() else torch.tensor(float("nan"), dtype=torch.float64))
        fpr.append((p & ~t).sum().double() / (~t).sum().double() if (~t).any() else torch.tensor(float("nan"), dtype=torch.float64))
    return torch.stack(tpr), torch.stack(fpr)


def equalized_odds_gaps(y_true: torch.Tensor, y_pred: torch.Tensor, group: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(TPR gap, FPR gap): largest minus smallest rate between groups. fairlearn's
    ``equalized_odds_difference`` is the larger of the two."""
    tpr, fpr = group_rates(y_true, y_pred, group)
    return tpr.max() - tpr.min(), fpr.max() - fpr.min()


def calibration_by_group(y_true: torch.Tensor, scores: torch.Tensor, group: torch.Tensor, bins: int = 10) -> torch.Tensor:
    """Expected calibration error of the predicted probability of the positive class within each
    group: ``sum_b (n_b / n) |mean(y in b) - mean(score in b)|`` over equal-width score bins."""
    _check(scores, group, y_true)
    errors = []
    for k in torch.unique(group):
        s, t = scores[group == k].double(), y_true[group == k].double()
        index = torch.bucketize(s, torch.arange(1, bins, dtype=torch.float64) / bins)
        count = torch.bincount(index, minlength=bins).double()
        gap = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, t - s).abs()
        errors.append(gap.sum() / count.sum())
    return torch.stack(errors)


def reweighing_weights(y: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Kamiran & Calders' reweighing: each example weighs P(group) P(label) / P(group, label), so
    that group and label look independent in the weighted training set. Float64, shape ``(n,)``."""
    _check(y, group)
    weights = torch.empty(len(y), dtype=torch.float64)
    n = len(y)
    for k in torch.unique(group):
        for c in torch.unique(y):
            cell = (group == k) & (y == c)
            if cell.any():
                weights[cell] = ((group == k).sum() * (y == c).sum()).double() / (n * cell.sum().double())
    return weights


def threshold_for_rate(scores: torch.Tensor, y_true: torch.Tensor, rate: float) -> float:
    """The largest threshold ``t`` with TPR(score >= t) >= ``rate`` among the positives."""
    positives = torch.sort(scores[y_true.bool()], descending=True).values
    if len(positives) == 0:
        raise ValueError("no positive examples: a true positive rate is not defined")
    k = max(1, int(torch.ceil(torch.tensor(rate * len(positives))).item()))
    return positives[min(k, len(positives)) - 1].item()


def equal_opportunity_thresholds(scores: torch.Tensor, y_true: torch.Tensor, group: torch.Tensor,
                                 rate: float) -> dict[int, float]:
    """One threshold per group such that every group's true positive rate is ``rate`` (at least,
    as close as the data allow): the post-processing mitigation of Hardt et al. (2016) for equal
    opportunity. Choose them on validation data and apply them to new data with
    :func:`apply_thresholds`."""
    _check(scores, group, y_true)
    return {int(k): threshold_for_rate(scores[group == k], y_true[group == k], rate) for k in torch.unique(group)}


def apply_thresholds(scores: torch.Tensor, group: torch.Tensor, thresholds: dict[int, float]) -> torch.Tensor:
    """Predictions (int64) with each group's own threshold: ``score >= thresholds[group]``."""
    _check(scores, group)
    cut = torch.tensor([thresholds[int(k)] for k in group.tolist()], dtype=scores.dtype)
    return (scores >= cut).long()
