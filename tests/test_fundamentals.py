"""Reference implementations of chapter 01 against built-ins (float64, tight tolerance) and
their gradients (torch.autograd.gradcheck)."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import PolynomialFeatures
from torch.autograd import gradcheck
from torch.utils.data import TensorDataset

from utils import fundamentals as F

generator = torch.Generator().manual_seed(0)


@pytest.fixture(autouse=True)
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_polynomial_features_matches_sklearn_and_numpy():
    x = torch.randn(7, generator=generator)
    ours = F.polynomial_features(x, 4)
    sklearn = PolynomialFeatures(degree=4).fit_transform(x.numpy()[:, None])
    torch.testing.assert_close(ours, torch.from_numpy(sklearn), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours, torch.from_numpy(np.vander(x.numpy(), 5, increasing=True)))
    assert F.polynomial_features(x, 0).shape == (7, 1)
    with pytest.raises(ValueError, match="1-D"):
        F.polynomial_features(x[:, None], 2)


def test_polynomial_features_gradient():
    x = torch.randn(5, generator=generator, requires_grad=True)
    assert gradcheck(lambda t: F.polynomial_features(t, 3), (x,))


def test_fit_polynomial_matches_numpy_polyfit():
    x, y = F.make_sine_data(30, generator=generator)
    ours = F.fit_polynomial(x, y, 3)
    reference = np.polynomial.polynomial.polyfit(x.numpy(), y.numpy(), 3)
    torch.testing.assert_close(ours, torch.from_numpy(reference), rtol=1e-8, atol=1e-8)


def test_pairwise_squared_distances_matches_cdist_and_gradient():
    a = torch.randn(4, 3, generator=generator, requires_grad=True)
    b = torch.randn(6, 3, generator=generator, requires_grad=True)
    torch.testing.assert_close(F.pairwise_squared_distances(a, b), torch.cdist(a, b) ** 2, rtol=1e-10, atol=1e-10)
    assert gradcheck(F.pairwise_squared_distances, (a, b))
    with pytest.raises(ValueError, match=r"\(4, 3\) and \(2, 2\)"):
        F.pairwise_squared_distances(a, torch.zeros(2, 2))


def test_numerical_gradient_matches_autograd():
    x = torch.randn(2, 3, generator=generator, requires_grad=True)

    def f(t):
        return (t.sin() * t**2).sum()

    (expected,) = torch.autograd.grad(f(x), x)
    torch.testing.assert_close(F.numerical_gradient(f, x), expected, rtol=1e-8, atol=1e-8)


def test_mse_gradients_match_autograd_of_mse_loss():
    X = torch.randn(10, 3, generator=generator)
    y = torch.randn(10, generator=generator)
    w = torch.randn(3, generator=generator, requires_grad=True)
    b = torch.randn((), generator=generator, requires_grad=True)
    loss = torch.nn.functional.mse_loss(X @ w + b, y)
    dw, db = torch.autograd.grad(loss, (w, b))
    ours_w, ours_b = F.mse_gradients(X, y, w.detach(), b.detach())
    torch.testing.assert_close(ours_w, dw, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours_b, db, rtol=1e-12, atol=1e-12)


def test_sgd_step_matches_torch_optim_sgd():
    w = torch.randn(3, generator=generator, requires_grad=True)
    reference = w.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([reference], lr=0.1)
    for _ in range(3):
        (w**3).sum().backward()
        F.sgd_step([w], lr=0.1)
        (reference**3).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        torch.testing.assert_close(w, reference, rtol=1e-12, atol=1e-12)
        assert w.grad is None and w.is_leaf


def test_array_dataset_matches_tensor_dataset():
    X, y = torch.randn(5, 2, generator=generator), torch.arange(5)
    ours, reference = F.ArrayDataset(X, y), TensorDataset(X, y)
    assert len(ours) == len(reference)
    for index in range(5):
        for a, b in zip(ours[index], reference[index]):
            torch.testing.assert_close(a, b)
    doubled = F.ArrayDataset(X, y, transform=lambda t: 2 * t)
    torch.testing.assert_close(doubled[1][0], 2 * X[1])
    with pytest.raises(ValueError, match="5 != 4"):
        F.ArrayDataset(X, y[:4])


def test_train_val_split_is_one_seeded_permutation():
    X = torch.arange(40.0).reshape(20, 2)
    y = X[:, 0] * 10
    (X_train, y_train), (X_val, y_val) = F.train_val_split(X, y, 0.25, torch.Generator().manual_seed(3))
    order = torch.randperm(20, generator=torch.Generator().manual_seed(3))  # the same permutation
    assert torch.equal(X_val, X[order[:5]]) and torch.equal(X_train, X[order[5:]])
    assert torch.equal(y_train, X_train[:, 0] * 10) and torch.equal(y_val, X_val[:, 0] * 10)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        F.train_val_split(X, y, 1.0)
    with pytest.raises(ValueError, match="one row per sample"):
        F.train_val_split(X, y[:-1], 0.5)
