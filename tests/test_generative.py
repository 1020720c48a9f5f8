"""Chapter 09's references (utils.generative) against PyTorch, SciPy, torchmetrics and the papers'
formulas, in float64 where the arithmetic allows, gradients included."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from utils import conv
from utils import generative as gen


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_reparameterize_has_the_right_moments_and_gradients():
    mu = torch.tensor([[1.5, -2.0, 0.0]], dtype=torch.float64).repeat(200_000, 1).requires_grad_()
    log_var = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]], dtype=torch.float64).repeat(200_000, 1)
    log_var.requires_grad_()
    z = gen.reparameterize(mu, log_var, torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), torch.tensor([1.5, -2.0, 0.0], dtype=torch.float64), atol=0.02)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), atol=0.01)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    eps = (z - mu) / torch.exp(0.5 * log_var)  # d z / d log_var = eps * std / 2
    assert torch.allclose(log_var.grad, (eps * torch.exp(0.5 * log_var) / 2).detach())


def test_reparameterize_is_reproducible_with_a_generator():
    mu, log_var = _rand(4, 3), _rand(4, 3, seed=1)
    a = gen.reparameterize(mu, log_var, torch.Generator().manual_seed(3))
    b = gen.reparameterize(mu, log_var, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.dtype == torch.float64


def test_gaussian_kl_equals_torch_distributions_with_gradients():
    from torch.distributions import Normal, kl_divergence

    mu = (_rand(6, 5) * 2).requires_grad_()
    log_var = (_rand(6, 5, seed=1) * 2).requires_grad_()
    ours = gen.gaussian_kl(mu, log_var)
    theirs = kl_divergence(Normal(mu, torch.exp(0.5 * log_var)), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    assert ours.shape == (6,)
    assert torch.allclose(ours, theirs, atol=1e-12)
    g1 = torch.autograd.grad(ours.sum(), [mu, log_var])
    g2 = torch.autograd.grad(theirs.sum(), [mu, log_var])
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(g1, g2))
    assert torch.equal(gen.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))  # the prior itself


def test_negative_elbo_is_bernoulli_log_likelihood_plus_kl():
    logits, images = _rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28, dtype=torch.float64)
    mu, log_var = _rand(4, 8, seed=2), _rand(4, 8, seed=3)
    # grey pixels: the cross-entropy -[x log p + (1 - x) log (1 - p)], which Bernoulli.log_prob computes for x in
    # [0, 1] once its check that x is 0 or 1 is off
    bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)
    expected = (-bernoulli.log_prob(images).flatten(1).sum(1) + 0.5 * gen.gaussian_kl(mu, log_var)).mean()
    assert torch.allclose(gen.negative_elbo(logits, images, mu, log_var, beta=0.5), expected, atol=1e-10)


def test_gan_losses_equal_bce_with_logits_and_stay_finite():
    real, fake = _rand(7) * 3, _rand(5, seed=1) * 3
    expected = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    assert torch.allclose(gen.discriminator_loss(real, fake), expected, atol=1e-12)
    assert torch.allclose(gen.generator_loss(fake), F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)),
                          atol=1e-12)
    extreme = torch.tensor([-200.0, 200.0])
    assert torch.isfinite(gen.discriminator_loss(extreme, extreme)) and torch.isfinite(gen.generator_loss(extreme))
    assert abs(gen.generator_loss(torch.tensor([-200.0])).item() - 200.0) < 1e-9  # -log sigmoid(-200) = 200


def test_cosine_betas_follow_the_paper():
    T, s = 400, 0.008
    betas = gen.cosine_betas(T)
    assert betas.dtype == torch.float64 and betas.shape == (T,)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 2, 200, 399):
        assert abs(betas[t - 1].item() - min(1 - f(t) / f(t - 1), 0.999)) < 1e-12
    assert betas[-1].item() == 0.999  # the last step is clipped
    alpha_bar = gen.alpha_bars(betas)
    assert abs(alpha_bar[T // 2 - 1].item() - f(T // 2) / f(0)) < 1e-12  # index k is step k + 1 and alpha_bar[-1] < 1e-6
    with pytest.raises(ValueError, match="steps"):
        gen.cosine_betas(0)


def test_q_sample_has_the_closed_form_marginal():
    alpha_bar = gen.alpha_bars(gen.cosine_betas(100))
    x0 = torch.full((20_000, 1, 2, 2), 0.8, dtype=torch.float64)
    t = torch.full((20_000,), 60)
    xt = gen.q_sample(x0, t, _rand(20_000, 1, 2, 2), alpha_bar)
    a = alpha_bar[60].item()
    assert abs(xt.mean().item() - math.sqrt(a) * 0.8) < 0.01 and abs(xt.var().item() - (1 - a)) < 0.01
    # one index per row; the step by step chain q(x_t | x_{t-1}) has the same marginal
    x0, noise = _rand(3, 1, 4, 4), _rand(3, 1, 4, 4, seed=1)
    t = torch.tensor([0, 10, 99])
    out = gen.q_sample(x0, t, noise, alpha_bar)
    for row in range(3):
        a = alpha_bar[t[row]]
        assert torch.allclose(out[row], a.sqrt() * x0[row] + (1 - a).sqrt() * noise[row])


def test_ddpm_step_mean_is_the_posterior_mean_of_ho_et_al():
    betas = gen.cosine_betas(50)
    alpha_bar = gen.alpha_bars(betas)
    x0, noise = _rand(4, 1, 3, 3), _rand(4, 1, 3, 3, seed=1)
    for t in (1, 10, 49):
        xt = alpha_bar[t].sqrt() * x0 + (1 - alpha_bar[t]).sqrt() * noise
        # eq. 7: mu~(x_t, x_0) with the true x_0 is what the step computes from the true noise
        posterior = (alpha_bar[t - 1].sqrt() * betas[t] / (1 - alpha_bar[t]) * x0
                     + (1 - betas[t]).sqrt() * (1 - alpha_bar[t - 1]) / (1 - alpha_bar[t]) * xt)
        z = _rand(4, 1, 3, 3, seed=t)
        step = gen.ddpm_step(xt, noise, t, betas, z)
        assert torch.allclose(step - betas[t].sqrt() * z, posterior, atol=1e-10)
        assert torch.allclose(gen.ddpm_step(xt, noise, t, betas, z, alpha_bar), step)
    # the last step adds no noise and returns x_0 exactly
    x1 = alpha_bar[0].sqrt() * x0 + (1 - alpha_bar[0]).sqrt() * noise
    assert torch.allclose(gen.ddpm_step(x1, noise, 0, betas, _rand(4, 1, 3, 3, seed=9)), x0, atol=1e-10)


def test_ddim_step_keeps_the_predicted_image_and_noise():
    alpha_bar = gen.alpha_bars(gen.cosine_betas(100))
    x0, noise = _rand(2, 1, 3, 3), _rand(2, 1, 3, 3, seed=1)
    xt = alpha_bar[80].sqrt() * x0 + (1 - alpha_bar[80]).sqrt() * noise
    expected = alpha_bar[30].sqrt() * x0 + (1 - alpha_bar[30]).sqrt() * noise
    assert torch.allclose(gen.ddim_step(xt, noise, 80, 30, alpha_bar), expected, atol=1e-10)
    assert torch.allclose(gen.ddim_step(xt, noise, 80, -1, alpha_bar), x0, atol=1e-10)
    clipped = gen.ddim_step(xt * 0 + 5, noise, 80, -1, alpha_bar, clip=True)
    assert clipped.max() <= 1


def _random_covariance(n, rank=None, seed=0):
    a = _rand(n, rank or n, seed=seed)
    return a @ a.T / n


@pytest.mark.parametrize("rank", [None, 3])
def test_frechet_distance_equals_scipy_sqrtm(rank):
    mu1, mu2 = _rand(8), _rand(8, seed=1)
    s1, s2 = _random_covariance(8, rank, seed=2), _random_covariance(8, seed=3)
    root = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy())
    expected = float(((mu1 - mu2) ** 2).sum()) + float(np.trace(s1.numpy() + s2.numpy() - 2 * root.real))
    assert abs(gen.frechet_distance(mu1, s1, mu2, s2) - expected) < 1e-9
    # zero to itself (to 1e-7 where sigma1 is singular: the root of an eigenvalue of 1e-16 is 1e-8), symmetric
    tolerance = 1e-9 if rank is None else 1e-7
    assert abs(gen.frechet_distance(mu1, s1, mu1, s1)) < tolerance
    assert abs(gen.frechet_distance(mu1, s1, mu2, s2) - gen.frechet_distance(mu2, s2, mu1, s1)) < tolerance


def test_frechet_distance_of_one_dimensional_gaussians():
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2
    value = gen.frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([3.0]), torch.tensor([[9.0]]))
    assert abs(value - (4 + 1)) < 1e-12


def test_frechet_distance_equals_torchmetrics_fid_with_our_features():
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    classifier = conv.small_resnet(widths=(8, 16, 32)).eval()
    real, fake = torch.rand(64, 1, 28, 28), torch.rand(64, 1, 28, 28) * 0.5

    class Features(nn.Module):  # torchmetrics accepts any module that maps images to features
        num_features = 32

        def forward(self, x):
            return gen.features(classifier, x).to(torch.float64)

    metric = FrechetInceptionDistance(feature=Features(), normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    ours = gen.frechet_distance(*gen.gaussian_stats(gen.features(classifier, real)),
                                *gen.gaussian_stats(gen.features(classifier, fake)))
    assert abs(metric.compute().item() - ours) < 1e-6 * max(1.0, ours)


def test_gaussian_stats_equal_numpy():
    x = _rand(50, 4)
    mean, cov = gen.gaussian_stats(x.float())
    assert torch.allclose(mean, x.mean(0), atol=1e-6)
    assert np.allclose(cov.numpy(), np.cov(x.float().double().numpy(), rowvar=False), atol=1e-10)


def test_spectral_norm_discriminator_keeps_singular_values_at_one():
    torch.manual_seed(0)
    disc = gen.Discriminator(spectral=True, width=8)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    for _ in range(30):  # power iterations run in training mode
        disc(x, y)
    weight = disc.net[0].weight.flatten(1)
    assert abs(torch.linalg.matrix_norm(weight, ord=2).item() - 1) < 0.05


def test_models_have_the_right_shapes():
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([0, 4, 9])
    assert gen.AutoEncoder(latent_dim=2)(x).shape == x.shape
    logits, mu, log_var = gen.ConditionalVAE(latent_dim=5)(x, y)
    assert logits.shape == x.shape and mu.shape == log_var.shape == (3, 5)
    g = gen.Generator(latent_dim=16, width=8)
    assert g(torch.randn(3, 16), y).shape == x.shape
    assert gen.Discriminator(width=8)(x, y).shape == (3,)
    unet = gen.TinyUNet(width=16)
    assert unet(x, torch.tensor([0, 5, 99]), torch.tensor([0, 10, 3])).shape == x.shape


def test_training_loops_reduce_their_losses_and_refuse_too_few_images():
    torch.manual_seed(0)
    images = torch.rand(256, 1, 28, 28).round()
    labels = torch.randint(0, 10, (256,))
    losses = gen.train_autoencoder(gen.AutoEncoder(4), images, epochs=3, batch_size=64)
    assert losses[-1] < losses[0]
    assert len(gen.train_vae(gen.ConditionalVAE(4), images, labels, epochs=1, batch_size=64)) == 1
    history = gen.train_gan(gen.Generator(16, width=8), gen.Discriminator(width=8), images * 2 - 1, labels, steps=5,
                            batch_size=64)
    assert len(history["d_loss"]) == 5
    unet = gen.TinyUNet(width=16)
    alpha_bar = gen.alpha_bars(gen.cosine_betas(50))
    assert len(gen.train_diffusion(unet, images * 2 - 1, labels, alpha_bar, steps=6, batch_size=64)) == 6
    with pytest.raises(ValueError, match="fewer than one batch"):
        gen.train_gan(gen.Generator(16, width=8), gen.Discriminator(width=8), images[:10], labels[:10], steps=3,
                      batch_size=64)


def test_sampling_is_reproducible_and_in_range():
    torch.manual_seed(0)
    unet = gen.TinyUNet(width=16)
    betas = gen.cosine_betas(20)
    labels = torch.tensor([0, 1, 2, 3, 4])
    a = gen.sample_diffusion(unet, labels, betas, method="ddim", steps=5, guidance=2.0, seed=1, batch_size=2)
    b = gen.sample_diffusion(unet, labels, betas, method="ddim", steps=5, guidance=2.0, seed=1, batch_size=2)
    assert a.shape == (5, 1, 28, 28) and torch.equal(a, b) and a.abs().max() <= 1
    assert gen.sample_diffusion(unet, labels[:2], betas, method="ddpm", seed=1).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="method"):
        gen.sample_diffusion(unet, labels, betas, method="euler")
    with pytest.raises(ValueError, match="steps"):
        gen.sample_diffusion(unet, labels, betas, steps=21)
