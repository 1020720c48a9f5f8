"""Every reference implementation at its kinks and ties, not only at random points.

Autograd differentiates a formula piece by piece: where a piece has a kink (``clamp``, ``abs``,
``max``, ``where``, a power of 0) or values tie (``argmin``, ``>=``, a plateau), a formula that is
right almost everywhere can still give the wrong gradient or the wrong choice exactly there,
which is often where training starts (w = b = 0). Each test compares with PyTorch or
scikit-learn at such a point, in float64.
"""

import pytest
import torch
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler

from utils import classical as C
from utils import fundamentals as U
from utils import layers as L
from utils import optim as O
from utils.training import EarlyStopping


def f64(*values, grad=False):
    return torch.tensor(values, dtype=torch.float64, requires_grad=grad)


def test_bce_gradient_at_zero_logit():
    """max(z, 0) and |z| both have a kink at z = 0; the loss itself is smooth there."""
    z, y = f64(0.0, 0.0, 0.0, 2.0, grad=True), f64(1.0, 0.0, 0.5, 1.0)
    C.binary_cross_entropy_with_logits(z, y).backward()
    zr = z.detach().clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(zr, y).backward()
    torch.testing.assert_close(z.grad, zr.grad, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(z.grad[:3], (0.5 - y[:3]) / 4, rtol=1e-12, atol=1e-15)


def test_bce_first_logistic_regression_step_matches_torch():
    """Chapter 02 starts logistic regression at w = b = 0: every logit of step 1 is exactly 0."""
    X = torch.randn(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = (X[:, 0] > 0).double()
    grads = []
    for loss_fn in (C.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits):
        w, b = torch.zeros(3, dtype=torch.float64, requires_grad=True), torch.zeros((), dtype=torch.float64, requires_grad=True)
        grads.append(torch.autograd.grad(loss_fn(X @ w + b, y), (w, b)))
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-15)


def test_standardize_constant_column_value_and_gradient():
    train = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    train[:, 1] = 2.5  # std exactly 0: the where() branch
    test = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    scaled_train, scaled_test = C.standardize(train, test)
    scaler = StandardScaler().fit(train.numpy())
    torch.testing.assert_close(scaled_test, torch.from_numpy(scaler.transform(test.numpy())), rtol=1e-12, atol=1e-12)
    leaf = train.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(C.standardize(leaf, test)[1].sum(), leaf)
    assert torch.isfinite(grad).all(), "a constant column must not give inf or NaN gradients"


def test_kmeans_assign_ties_pick_the_lowest_index():
    """A point exactly between two centers goes to the first, as torch.argmin and sklearn do."""
    X = f64(0.0, 0.0).reshape(1, 2)
    centers = f64(1.0, 0.0, -1.0, 0.0, 0.0, 1.0).reshape(3, 2)
    assert C.kmeans_assign(X, centers).tolist() == [0]
    assert C.kmeans_assign(X, centers.flip(0)).tolist() == [0]


def test_pairwise_distance_gradient_at_identical_points():
    a = f64(1.0, 2.0, 1.0, 2.0, grad=True).reshape(2, 2)
    (grad,) = torch.autograd.grad(U.pairwise_squared_distances(a, a.detach()).sum(), a)
    torch.testing.assert_close(grad, torch.zeros(2, 2, dtype=torch.float64))


def test_polynomial_features_gradient_at_zero():
    """x**0 at x = 0: the derivative of the constant column is 0, not 0 * 0**-1 = NaN."""
    x = f64(0.0, 1.0, -1.0, grad=True)
    U.polynomial_features(x, 3).sum().backward()
    torch.testing.assert_close(x.grad, 1 + 2 * x.detach() + 3 * x.detach() ** 2)


def test_cross_entropy_with_tied_logits_and_smoothing_edges():
    logits = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)  # every class tied
    targets = torch.tensor([0, 3, 1])
    for eps in (0.0, 0.3, 1.0):
        ours = torch.autograd.grad(L.cross_entropy(logits, targets, eps), logits)[0]
        theirs = torch.autograd.grad(F.cross_entropy(logits, targets, label_smoothing=eps), logits)[0]
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-15)


def test_silu_derivative_at_zero():
    value, derivative = L.silu_and_derivative(f64(0.0))
    assert value.item() == 0.0 and derivative.item() == 0.5


def test_batch_norm_constant_column_gradient_matches_torch():
    x = torch.ones(4, 2, dtype=torch.float64)
    x[:, 1] = torch.arange(4.0, dtype=torch.float64)
    x.requires_grad_(True)
    gamma, beta = f64(1.5, 0.5), f64(0.0, 1.0)
    weights = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ours = torch.autograd.grad((L.batch_norm_train(x, gamma, beta) * weights).sum(), x)[0]
    theirs = torch.autograd.grad((F.batch_norm(x, None, None, gamma, beta, training=True) * weights).sum(), x)[0]
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_inverted_dropout_at_p_zero_and_one():
    x = torch.tensor([1.0, float("inf"), -2.0], dtype=torch.float64, requires_grad=True)
    assert L.inverted_dropout(x, 0.0) is x  # nothing dropped, nothing scaled: the gradient is 1
    dropped = L.inverted_dropout(x, 1.0)
    assert dropped.eq(0).all(), "p = 1 gives zeros, not inf * 0 = NaN"
    keep = torch.rand(3, generator=torch.Generator().manual_seed(0))  # the draw the reference makes
    p = float(keep[1])  # a uniform number equal to p exactly: dropped only if below p, so kept
    out = L.inverted_dropout(torch.ones(3, dtype=torch.float64), p, generator=torch.Generator().manual_seed(0))
    assert out[1].item() == pytest.approx(1 / (1 - p))


def test_adamw_zero_gradient_and_first_step():
    """A zero gradient at step 1 (v = 0): eps alone keeps the step finite, as in torch."""
    param, reference = torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64, requires_grad=True)
    grad = f64(0.0, 1.0, -1.0)
    O.adamw_step(param, grad, torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 1,
                 lr=0.1, eps=0.5, weight_decay=0.1)
    optimizer = torch.optim.AdamW([reference], lr=0.1, eps=0.5, weight_decay=0.1)
    reference.grad = grad.clone()
    optimizer.step()
    torch.testing.assert_close(param, reference.detach(), rtol=1e-12, atol=1e-15)


def test_early_stopping_plateau_and_exact_min_delta():
    """A loss equal to the best is no improvement; neither is one exactly min_delta better."""
    stopper = EarlyStopping(patience=2)
    assert [stopper.step(v) for v in (1.0, 1.0, 1.0)] == [False, False, True]
    stopper = EarlyStopping(patience=1, min_delta=0.25)
    assert [stopper.step(v) for v in (1.0, 0.75)] == [False, True]
    stopper = EarlyStopping(patience=1, mode="max")
    assert [stopper.step(v) for v in (0.5, 0.5)] == [False, True]


def test_sgd_step_skips_parameters_without_gradient_in_any_position():
    first, second, third = (torch.tensor([1.0], requires_grad=True) for _ in range(3))
    (2 * first + 4 * third).sum().backward()
    U.sgd_step([first, second, third], lr=0.5)
    assert [first.item(), second.item(), third.item()] == [0.0, 1.0, -1.0]
