"""Reference implementations of chapter 03 against their PyTorch built-ins (float64)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck

from utils import layers as L

generator = torch.Generator().manual_seed(0)


def randn(*shape, requires_grad=False):
    return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_(requires_grad)


def test_linear_matches_nn_linear_with_and_without_bias():
    layer = nn.Linear(5, 3, dtype=torch.float64)
    x = randn(4, 2, 5)  # two leading batch dimensions
    torch.testing.assert_close(L.linear(x, layer.weight, layer.bias), layer(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(L.linear(x, layer.weight), F.linear(x, layer.weight), rtol=1e-12, atol=1e-12)
    assert gradcheck(L.linear, (randn(3, 5, requires_grad=True), randn(2, 5, requires_grad=True),
                                randn(2, requires_grad=True)))
    with pytest.raises(ValueError, match="expects 5"):
        L.linear(randn(4, 3), layer.weight)


def test_silu_and_derivative_match_autograd():
    x = torch.linspace(-30, 30, 601, dtype=torch.float64, requires_grad=True)
    value, derivative = L.silu_and_derivative(x)
    torch.testing.assert_close(value, F.silu(x), rtol=1e-12, atol=1e-12)
    (autograd,) = torch.autograd.grad(F.silu(x).sum(), x)
    torch.testing.assert_close(derivative, autograd, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda t: L.silu_and_derivative(t)[0], (randn(7, requires_grad=True),))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_cross_entropy_matches_torch_including_huge_logits(smoothing):
    logits, targets = randn(8, 5) * 3, torch.randint(0, 5, (8,), generator=generator)
    torch.testing.assert_close(L.cross_entropy(logits, targets, smoothing),
                               F.cross_entropy(logits, targets, label_smoothing=smoothing), rtol=1e-12, atol=1e-12)
    huge = logits * 1e4  # exp() overflows; log-sum-exp does not
    torch.testing.assert_close(L.cross_entropy(huge, targets, smoothing),
                               F.cross_entropy(huge, targets, label_smoothing=smoothing), rtol=1e-12, atol=1e-9)
    assert gradcheck(lambda z: L.cross_entropy(z, targets, smoothing), (randn(8, 5, requires_grad=True),))


def test_cross_entropy_rejects_bad_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(randn(2, 3), torch.tensor([0, 1]), 1.5)


def test_mlp_backward_matches_autograd_and_finite_differences():
    x, targets = randn(7, 5), torch.tensor([0, 2, 1, 2, 0, 1, 1])
    params = [randn(4, 5), randn(4), randn(3, 4), randn(3)]
    x[2], params[1][0] = 0.0, 0.0  # z1[2, 0] is exactly 0: ReLU's slope there is 0, as in PyTorch
    loss, grads = L.mlp_backward(x, targets, *params)
    leaves = [p.clone().requires_grad_() for p in params]
    w1, b1, w2, b2 = leaves
    expected = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), targets)
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-12, atol=1e-12)
    for name, ours, theirs in zip(("dw1", "db1", "dw2", "db2"), grads, torch.autograd.grad(expected, leaves)):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12, msg=lambda m: f"{name}: {m}")
    from utils.fundamentals import numerical_gradient

    params[1][0] += 0.3  # away from the kink, where finite differences are valid
    _, grads = L.mlp_backward(x, targets, *params)
    for k, parameter in enumerate(params):
        def loss_of(value, k=k):
            return L.mlp_backward(x, targets, *params[:k], value, *params[k + 1:])[0]
        torch.testing.assert_close(grads[k], numerical_gradient(loss_of, parameter.clone()), rtol=1e-6, atol=1e-8)


def test_inverted_dropout_keeps_the_mean_and_matches_dropout_statistics():
    x = torch.ones(200_000, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    out = L.inverted_dropout(x, 0.3, generator=g)
    assert set(out.unique().tolist()) == {0.0, 1 / 0.7}
    assert (out == 0).double().mean().item() == pytest.approx(0.3, abs=0.005)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)
    builtin = F.dropout(x, 0.3, training=True)
    assert set(builtin.unique().tolist()) == set(out.unique().tolist())  # same scaling as PyTorch
    assert L.inverted_dropout(x, 0.3, training=False) is x
    assert L.inverted_dropout(x, 1.0).eq(0).all()
    # the gradient is the mask divided by (1 - p)
    y = randn(50, requires_grad=True)
    out = L.inverted_dropout(y, 0.5, generator=torch.Generator().manual_seed(2))
    out.sum().backward()
    torch.testing.assert_close(y.grad, (out.detach() != 0).double() * 2.0)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        L.inverted_dropout(x, -0.1)


def test_batch_norm_train_matches_functional_batch_norm():
    x, gamma, beta = randn(16, 4) * 2 + 1, randn(4), randn(4)
    expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
    torch.testing.assert_close(L.batch_norm_train(x, gamma, beta), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(L.batch_norm_train, (randn(6, 3, requires_grad=True), randn(3, requires_grad=True),
                                          randn(3, requires_grad=True)))
    with pytest.raises(ValueError, match="2D"):
        L.batch_norm_train(randn(2, 3, 4), gamma, beta)


def test_make_mlp_architecture_and_shapes():
    model = L.make_mlp(784, [32, 16], 10, dropout=0.2, batch_norm=True)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout",
                     "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    plain = L.make_mlp(4, [], 3)
    assert [type(m).__name__ for m in plain] == ["Flatten", "Linear"]
    n_params = sum(p.numel() for p in L.make_mlp(784, [32], 10).parameters())
    assert n_params == 784 * 32 + 32 + 32 * 10 + 10
    with pytest.raises(ValueError, match="dropout"):
        L.make_mlp(4, [3], 2, dropout=1.0)


def test_make_deep_mlp_is_deep_within_budget_and_trains_where_a_sigmoid_stack_does_not():
    from utils import data

    model = L.make_deep_mlp()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == 9 and all(m.out_features == 48 for m in linears[:-1])
    assert sum(p.numel() for p in model.parameters()) == 55_402
    pixels, classes = data.fashion_mnist_tensors(train=True)
    X, y = (pixels[:1000] - 0.286) / 0.353, classes[:1000]
    held_X, held_y = (pixels[-1000:] - 0.286) / 0.353, classes[-1000:]

    def accuracy_after_training(make):  # the exercise's recipe, shorter
        torch.manual_seed(0)
        net = make()
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
        for _ in range(3):
            for batch in torch.randperm(len(X), generator=torch.Generator().manual_seed(0)).split(64):
                loss = F.cross_entropy(net(X[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            return (net.eval()(held_X).argmax(1) == held_y).float().mean().item()

    sigmoid_stack = lambda: L.make_mlp(784, [48] * 8, 10, activation=nn.Sigmoid)
    good, bad = accuracy_after_training(L.make_deep_mlp), accuracy_after_training(sigmoid_stack)  # 0.67, 0.09
    assert good > 0.6 > 0.2 > bad
