"""Chapter 10's references (utils.explain, utils.robustness, utils.fairness, utils.privacy) against
the libraries people use: scikit-learn, shap, captum, fairlearn and opacus, in float64, with their
gradients, kinks and ties."""

import hashlib
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import explain as ex
from utils import fairness as fr
from utils import privacy as pv
from utils import robustness as rb


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _tabular_model(d=4, seed=0):
    W, V = _rand(d, 8, seed=seed), _rand(8, seed=seed + 1)
    return lambda Z: torch.sigmoid(torch.tanh(torch.as_tensor(Z, dtype=torch.float64) @ W) @ V)


# --- the data ----------------------------------------------------------------------------------


def test_synthetic_loans_is_the_same_table_for_the_same_seed():
    X, y, g = fr.synthetic_loans(5000, seed=0)
    digest = hashlib.sha256(X.numpy().tobytes() + y.numpy().tobytes() + g.numpy().tobytes()).hexdigest()
    assert digest == hashlib.sha256(b"".join(t.numpy().tobytes() for t in fr.synthetic_loans(5000, seed=0))).hexdigest()
    assert not torch.equal(X, fr.synthetic_loans(5000, seed=1)[0])
    assert X.shape == (5000, len(fr.FEATURES)) and X.dtype == torch.float64
    assert set(y.tolist()) == {0, 1} and set(g.tolist()) == {0, 1}
    # what the module docstring promises: a minority group B with lower incomes, a proxy feature
    assert 0.3 < g.double().mean() < 0.4
    assert X[g == 1, 0].median() < 0.8 * X[g == 0, 0].median()
    assert np.corrcoef(X[:, 5].numpy(), g.numpy())[0, 1] > 0.5
    assert (X[:, 2] > 0).all() and (X[:, 2] < 1).all() and (X[:, 4] >= 0).all()
    with pytest.raises(ValueError, match="positive number"):
        fr.synthetic_loans(0)


# --- explanations ------------------------------------------------------------------------------


def test_permutation_importance_equals_sklearn_with_its_permutations():
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression

    X, y, _ = fr.synthetic_loans(400, seed=2)
    X = (X - X.mean(0)) / X.std(0)
    clf = LogisticRegression().fit(X.numpy(), y.numpy())
    theirs = permutation_importance(clf, X.numpy(), y.numpy(), n_repeats=4, random_state=5, scoring="neg_log_loss")
    ours = ex.permutation_importance(lambda Z: torch.from_numpy(clf.predict_proba(Z.numpy())), X, y,
                                     lambda t, p: -F.nll_loss(p.log(), t), ex.sklearn_permutations(400, 6, 4, 5))
    np.testing.assert_allclose(ours.numpy(), theirs.importances, atol=1e-12)
    assert ours.mean(1).argmax() == 0  # income matters most, as the generator says


def test_permutation_importance_leaves_x_alone_and_checks_shapes():
    X, y = _rand(10, 3), torch.zeros(10)
    before = X.clone()
    ex.permutation_importance(lambda Z: Z.sum(1), X, y, lambda t, p: -(p - t).pow(2).mean(), ex.sklearn_permutations(10, 3, 2, 0))
    assert torch.equal(X, before)
    with pytest.raises(ValueError, match="n_features=3"):
        ex.permutation_importance(lambda Z: Z.sum(1), X, y, lambda t, p: 0.0, torch.zeros(2, 2, 10, dtype=torch.long))


def test_shapley_values_equal_shap_exact_and_kernel_explainers():
    shap = pytest.importorskip("shap")
    f = _tabular_model()
    X, background = _rand(3, 4, seed=3), _rand(15, 4, seed=4)
    ours = ex.shapley_values(f, X, background)
    exact = shap.explainers.Exact(lambda Z: f(Z).numpy(), shap.maskers.Independent(background.numpy(), max_samples=15))
    np.testing.assert_allclose(ours.numpy(), exact(X.numpy()).values, atol=1e-12)
    kernel = shap.KernelExplainer(lambda Z: f(Z).numpy(), background.numpy())
    np.testing.assert_allclose(ours.numpy(), np.asarray(kernel.shap_values(X.numpy(), nsamples=100, silent=True)), atol=1e-12)
    # efficiency: the values add up to f(x) minus the mean prediction on the background
    assert torch.allclose(ours.sum(1), f(X) - f(background).mean(), atol=1e-12)


def test_shapley_values_of_a_linear_model_and_a_dummy_feature():
    w = torch.tensor([2.0, -1.0, 0.0, 0.5], dtype=torch.float64)
    X, background = _rand(2, 4, seed=5), _rand(7, 4, seed=6)
    phi = ex.shapley_values(lambda Z: Z @ w, X, background)
    assert torch.allclose(phi, w * (X - background.mean(0)), atol=1e-12)  # the closed form for a linear model
    assert torch.equal(phi[:, 2], torch.zeros(2, dtype=torch.float64))


def test_kernel_shap_with_all_coalitions_is_exact_and_sampled_is_close():
    f = _tabular_model(d=6, seed=7)
    x, background = _rand(6, seed=8), _rand(10, 6, seed=9)
    exact = ex.shapley_values(f, x.unsqueeze(0), background)[0]
    assert torch.allclose(ex.kernel_shap(f, x, background), exact, atol=1e-12)
    sampled = ex.kernel_shap(f, x, background, ex.sample_coalitions(6, 400, torch.Generator().manual_seed(0)))
    assert torch.allclose(sampled.sum(), exact.sum(), atol=1e-12)  # the constraint holds exactly
    assert (sampled - exact).abs().max() < 0.1 * exact.abs().max()
    few = ex.kernel_shap(f, x, background, ex.sample_coalitions(6, 2, torch.Generator().manual_seed(0)))
    assert torch.isfinite(few).all() and torch.allclose(few.sum(), exact.sum(), atol=1e-12)  # rank-deficient: least norm
    assert math.isinf(ex.shapley_kernel_weight(6, 0)) and ex.shapley_kernel_weight(6, 1) == ex.shapley_kernel_weight(6, 5)


def test_integrated_gradients_equal_captum_and_are_complete():
    from captum.attr import IntegratedGradients

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 64, 5)).double()
    x, target = torch.rand(3, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 3, 4])
    baseline = torch.full_like(x, 0.2)
    ours = ex.integrated_gradients(model, x, baseline, target, steps=40)
    theirs = IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=40, method="riemann_middle")
    assert torch.allclose(ours, theirs, atol=1e-12)
    gap = ours.sum((1, 2, 3)) - (model(x) - model(baseline)).gather(1, target[:, None]).squeeze(1)
    assert gap.abs().max() < 1e-4  # completeness, up to the midpoint rule's error
    assert torch.equal(ex.integrated_gradients(model, x, x, 1, steps=5), torch.zeros_like(x))  # baseline = input
    with pytest.raises(ValueError, match="steps"):
        ex.integrated_gradients(model, x, baseline, 0, steps=0)


def test_randomized_layers_change_only_the_top_and_rank_correlation():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    changed = ex.randomize_layers(model, 1, torch.Generator().manual_seed(0))
    assert torch.equal(changed[0].weight, model[0].weight) and not torch.equal(changed[2].weight, model[2].weight)
    a = torch.arange(10.0)
    assert ex.rank_correlation(a, a * 3 + 1) == pytest.approx(1.0) and ex.rank_correlation(a, -a) == pytest.approx(-1.0)


# --- robustness --------------------------------------------------------------------------------


def _classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).double()


def test_pgd_step_ascends_and_stays_in_the_ball_and_the_image_range():
    model = _classifier()
    x, y = torch.rand(8, 1, 4, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    x_adv = rb.pgd_step(model, x, x, y, eps=0.05, alpha=0.02)
    assert (x_adv - x).abs().max() <= 0.02 + 1e-12 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert F.cross_entropy(model(x_adv), y) > F.cross_entropy(model(x), y)
    assert not x_adv.requires_grad and all(p.grad is None for p in model.parameters())
    far = rb.pgd_attack(model, x, y, eps=0.05, alpha=0.05, steps=10)
    assert (far - x).abs().max() <= 0.05 + 1e-12 and far.min() >= 0 and far.max() <= 1
    # FGSM is one step of size eps from the clean image, without the random start
    from utils import conv

    fgsm = rb.pgd_attack(model.float(), x.float(), y, 0.05, 0.05, 1, random_start=False)
    assert torch.allclose(fgsm, conv.fgsm(model.float(), x.float(), y, 0.05), atol=1e-7)


def test_margin_loss_is_positive_exactly_when_wrong():
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 5.0]])
    assert torch.allclose(rb.margin_loss(logits, torch.tensor([0, 1])), torch.tensor(((1 - 3) + (5 - 2)) / 2))


def test_adversarial_training_and_robust_accuracy_run():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    y = (x.mean((1, 2, 3)) > 0.5).long()
    model = rb.small_cnn(2)
    losses = rb.train_epochs(model, x, y, epochs=2, eps=0.1, batch_size=16, progress=False)
    assert len(losses) == 8 and not model.training
    assert 0 <= rb.robust_accuracy(model, x, y, 0.1, steps=2) <= rb.accuracy(model, x, y) <= 1


def test_corruptions_keep_range_and_shape():
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for name, corrupt in rb.CORRUPTIONS.items():
        out = corrupt(x, 0.5)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1, name
    assert torch.equal(rb.blur(x, 0), x) and torch.allclose(rb.contrast(x, 0.0), x)
    assert torch.allclose(rb.contrast(x, 1.0), x.mean((-1, -2), keepdim=True).expand_as(x))


# --- fairness ----------------------------------------------------------------------------------


def _predictions(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y, group = torch.randint(0, 2, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)
    scores = (0.3 * y + 0.2 * (group == 1) + 0.5 * torch.rand(n, generator=g, dtype=torch.float64)).clamp(0, 1)
    return y, (scores > 0.5).long(), group, scores


def test_group_metrics_equal_fairlearn():
    from fairlearn.metrics import (MetricFrame, demographic_parity_difference, equalized_odds_difference,
                                   false_positive_rate, selection_rate, true_positive_rate)

    y, pred, group, _ = _predictions()
    assert fr.demographic_parity_difference(pred, group).item() == pytest.approx(
        demographic_parity_difference(y.numpy(), pred.numpy(), sensitive_features=group.numpy()), abs=1e-12)
    frame = MetricFrame(metrics={"sr": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
                        y_true=y.numpy(), y_pred=pred.numpy(), sensitive_features=group.numpy())
    tpr, fpr = fr.group_rates(y, pred, group)
    np.testing.assert_allclose(fr.selection_rates(pred, group).numpy(), frame.by_group["sr"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(tpr.numpy(), frame.by_group["tpr"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(fpr.numpy(), frame.by_group["fpr"].to_numpy(), atol=1e-12)
    gaps = fr.equalized_odds_gaps(y, pred, group)
    assert max(g.item() for g in gaps) == pytest.approx(
        equalized_odds_difference(y.numpy(), pred.numpy(), sensitive_features=group.numpy()), abs=1e-12)
    with pytest.raises(ValueError, match="one length"):
        fr.group_rates(y, pred[:-1], group)


def test_calibration_by_group_is_zero_for_calibrated_scores_and_matches_a_loop():
    y, _, group, scores = _predictions(seed=1)
    ours = fr.calibration_by_group(y, scores, group, bins=5)
    for k in range(3):
        s, t = scores[group == k].numpy(), y[group == k].numpy()
        index = np.clip(np.ceil(s * 5).astype(int) - 1, 0, 4)
        expected = sum(abs((t[index == b] - s[index == b]).sum()) for b in range(5)) / len(s)
        assert ours[k].item() == pytest.approx(expected, abs=1e-12)
    exact = torch.tensor([0.25, 0.25, 0.75, 0.75], dtype=torch.float64)
    assert fr.calibration_by_group(torch.tensor([0, 0, 1, 1]), exact, torch.zeros(4, dtype=torch.long), 2).item() == pytest.approx(0.25)


def test_reweighing_makes_group_and_label_independent():
    y, _, group, _ = _predictions(seed=2)
    w = fr.reweighing_weights(y, group)
    for k in range(3):
        for c in range(2):
            cell = (group == k) & (y == c)
            joint = w[cell].sum() / w.sum()
            assert joint.item() == pytest.approx(((group == k).double().mean() * (y == c).double().mean()).item(), abs=1e-12)
    assert w.sum().item() == pytest.approx(len(y))


def test_equal_opportunity_thresholds_reach_the_rate_in_every_group():
    y, _, group, scores = _predictions(n=2000, seed=3)
    thresholds = fr.equal_opportunity_thresholds(scores, y, group, 0.8)
    pred = fr.apply_thresholds(scores, group, thresholds)
    tpr, _ = fr.group_rates(y, pred, group)
    assert (tpr >= 0.8).all() and (tpr < 0.81).all()
    with pytest.raises(ValueError, match="no positive"):
        fr.threshold_for_rate(scores[:3], torch.zeros(3, dtype=torch.long), 0.5)


# --- privacy -----------------------------------------------------------------------------------


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2)).double()


def test_per_sample_gradients_equal_one_backward_per_example():
    model = _mlp()
    x, y = _rand(12, 6), torch.randint(0, 2, (12,))
    ours = pv.per_sample_gradients(model, F.cross_entropy, x, y)
    for i in range(12):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            assert torch.allclose(ours[name][i], p.grad, atol=1e-12), name


@pytest.mark.parametrize("noise_multiplier", [0.0, 1.3])
def test_privatized_gradients_equal_opacus(noise_multiplier):
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    model = _mlp()
    x, y = _rand(16, 6, seed=1) * 3, torch.randint(0, 2, (16,))
    per_sample = pv.per_sample_gradients(model, F.cross_entropy, x, y)
    ours = pv.privatize_gradients(per_sample, 0.5, noise_multiplier, 20, torch.Generator().manual_seed(7))
    wrapped = GradSampleModule(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer = DPOptimizer(torch.optim.SGD(wrapped.parameters(), lr=0.0), noise_multiplier=noise_multiplier,
                                max_grad_norm=0.5, expected_batch_size=20, generator=torch.Generator().manual_seed(7))
        optimizer.zero_grad()
        F.cross_entropy(wrapped(x), y).backward()
        optimizer.step()
    for name, p in model.named_parameters():
        assert torch.allclose(ours[name], p.grad, atol=1e-12), name
    factors = pv.clip_factors(per_sample, 0.5)
    assert (factors <= 1).all() and (factors < 1).any()


def test_dp_sgd_trains_and_epsilon_matches_the_accountant():
    from opacus.accountants import RDPAccountant

    model = _mlp()
    x = _rand(200, 6, seed=2)
    y = (x[:, 0] > 0).long()
    before = F.cross_entropy(model(x), y).item()
    pv.dp_sgd_train(model, x, y, steps=60, sample_rate=0.2, lr=0.5, max_norm=1.0, noise_multiplier=0.5,
                    generator=torch.Generator().manual_seed(0), progress=False)
    assert F.cross_entropy(model(x), y).item() < before
    accountant = RDPAccountant()
    for _ in range(60):
        accountant.step(noise_multiplier=0.5, sample_rate=0.2)
    assert pv.epsilon(0.5, 0.2, 60, 1e-5) == pytest.approx(accountant.get_epsilon(1e-5), rel=1e-12)
    assert pv.epsilon(2.0, 0.2, 60, 1e-5) < pv.epsilon(0.5, 0.2, 60, 1e-5)


def test_membership_advantage_at_its_extremes_and_ties():
    assert pv.membership_advantage(torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.4])) == 1.0
    assert pv.membership_advantage(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5])) == 0.0  # a tie cannot be split
    assert pv.membership_advantage(torch.tensor([0.1, 0.3, 0.5]), torch.tensor([0.2, 0.4, 0.6])) == pytest.approx(1 / 3)
    from sklearn.metrics import roc_curve

    members, others = _rand(50, seed=3).abs(), _rand(60, seed=4).abs() + 0.3
    fpr, tpr, _ = roc_curve(np.r_[np.ones(50), np.zeros(60)], -np.r_[members.numpy(), others.numpy()])
    assert pv.membership_advantage(members, others) == pytest.approx((tpr - fpr).max(), abs=1e-12)
