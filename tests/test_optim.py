"""The optimisers written out in utils.optim, step for step against torch.optim (float64)."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils import optim as O


def twin_models(seed=0):
    torch.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    theirs = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def run_both(ours, theirs, make_ours, make_theirs, steps=25):
    generator = torch.Generator().manual_seed(1)
    opt_ours, opt_theirs = make_ours(ours.parameters()), make_theirs(theirs.parameters())
    for _ in range(steps):
        x, y = torch.randn(16, 4, generator=generator, dtype=torch.float64), torch.randn(16, 2, generator=generator, dtype=torch.float64)
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_torch_adam(weight_decay):
    ours, theirs = twin_models()
    run_both(ours, theirs, lambda ps: O.Adam(ps, lr=1e-2, weight_decay=weight_decay),
             lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=weight_decay))


def test_adamw_matches_torch_adamw():
    ours, theirs = twin_models()
    run_both(ours, theirs, lambda ps: O.Adam(ps, lr=1e-2, betas=(0.8, 0.99), weight_decay=0.05, decoupled=True),
             lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.8, 0.99), weight_decay=0.05))


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_torch_sgd(nesterov):
    ours, theirs = twin_models()
    run_both(ours, theirs, lambda ps: O.SGDMomentum(ps, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=nesterov),
             lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=nesterov))


def test_adamw_step_on_one_tensor_and_its_errors():
    param, grad = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64)
    m, v = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    O.adamw_step(param, grad, m, v, step=1, lr=0.1, weight_decay=0.0)
    # after one step with bias correction every coordinate moves by lr * sign(grad)
    torch.testing.assert_close(param, torch.tensor([0.9, -2.1], dtype=torch.float64), rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="from 1"):
        O.adamw_step(param, grad, m, v, step=0)
    with pytest.raises(ValueError, match="learning rate"):
        O.Adam([param], lr=0)
    with pytest.raises(ValueError, match="momentum"):
        O.SGDMomentum([param], lr=0.1, momentum=1.0)


def test_optimisers_skip_parameters_without_gradients_and_support_closures():
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    opt = O.Adam([a, b], lr=0.1)
    loss = opt.step(lambda: (a ** 2).sum().backward() or (a ** 2).sum())
    assert loss is not None and b.grad is None
    assert torch.equal(b.detach(), torch.ones(2)) and not torch.equal(a.detach(), torch.ones(2))


def test_warmup_cosine_matches_its_definition():
    total, warmup = 100, 10
    factors = [O.warmup_cosine(step, total, warmup, min_factor=0.1) for step in range(total + 1)]
    assert factors[0] == pytest.approx(1 / 11) and factors[warmup - 1] == pytest.approx(10 / 11)
    assert factors[warmup] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(0.1)
    assert factors[55] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in zip(factors[warmup:], factors[warmup + 1:]))  # decays monotonically
    with pytest.raises(ValueError, match="warmup_steps"):
        O.warmup_cosine(0, 10, 10)


def test_lr_range_test_sweeps_stops_on_divergence_and_restores_state():
    torch.manual_seed(0)
    X = torch.randn(256, 5)
    y = X @ torch.randn(5, 1)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=False)
    model = nn.Linear(5, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.123)
    lrs, losses = O.lr_range_test(model, loader, nn.MSELoss(), optimizer, start_lr=1e-4, end_lr=100.0, steps=60,
                                  device="cpu", progress=False)
    assert lrs[0] == pytest.approx(1e-4) and all(b > a for a, b in zip(lrs, lrs[1:]))
    assert len(lrs) == len(losses) < 60  # SGD on this problem diverges long before lr = 100
    assert min(losses) < losses[0]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert optimizer.param_groups[0]["lr"] == 0.123
    with pytest.raises(ValueError, match="start_lr"):
        O.lr_range_test(model, loader, nn.MSELoss(), optimizer, start_lr=1.0, end_lr=0.1)
