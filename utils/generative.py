"""Reference implementations for chapter 09 (generative models), in PyTorch.

The losses and samplers follow the papers' formulas and are checked in tests/test_generative.py
against PyTorch's own (``torch.distributions``, ``binary_cross_entropy_with_logits``), the DDPM
posterior (Ho et al. 2020, eq. 7), ``scipy.linalg.sqrtm`` and torchmetrics' Fréchet distance,
in float64 where the arithmetic allows.

Images: autoencoders and VAEs model pixels in [0, 1] (their decoders return logits of a
Bernoulli per pixel); GANs and diffusion models work on pixels scaled to [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from utils.conv import ResidualBlock

# ---------------------------------------------------------------------------------------------
# Variational autoencoders
# ---------------------------------------------------------------------------------------------


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A sample of N(mu, exp(log_var)) written as ``mu + exp(log_var / 2) * eps``, eps ~ N(0, I):
    the randomness sits in eps, so gradients flow to ``mu`` and ``log_var``."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * log_var) * eps


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per row: summed over the last dimension."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=-1)


def negative_elbo(logits: torch.Tensor, images: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                  beta: float = 1.0) -> torch.Tensor:
    """The negative evidence lower bound per image, averaged over the batch: the Bernoulli
    reconstruction loss summed over pixels plus ``beta`` times the Gaussian KL."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(dim=1)
    return (reconstruction + beta * gaussian_kl(mu, log_var)).mean()


# ---------------------------------------------------------------------------------------------
# GANs
# ---------------------------------------------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the discriminator from its logits: real labelled 1, fake 0,
    each batch averaged, the two means added. ``softplus`` keeps it finite at any logit."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: ``-log D(G(z))`` from logits, averaged."""
    return F.softplus(-fake_logits).mean()


# ---------------------------------------------------------------------------------------------
# Diffusion
# ---------------------------------------------------------------------------------------------


def cosine_betas(steps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine noise schedule (Nichol & Dhariwal 2021): ``alpha_bar(t) = f(t) / f(0)`` with
    ``f(t) = cos((t / T + s) / (1 + s) * pi / 2) ** 2``; ``beta_t = 1 - alpha_bar(t) /
    alpha_bar(t - 1)`` clipped at ``max_beta``, for t = 1..T. float64, shape (T,)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """The cumulative products ``alpha_bar_t = prod_{s <= t} (1 - beta_s)``."""
    return torch.cumprod(1 - betas, dim=0)


def _per_row(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """``x_t = sqrt(alpha_bar[t]) x0 + sqrt(1 - alpha_bar[t]) noise``, one step index per row of x0."""
    a = _per_row(alpha_bar.to(x0.device)[t], x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def ddpm_step(x_t: torch.Tensor, eps: torch.Tensor, t: int, betas: torch.Tensor, noise: torch.Tensor,
              alpha_bar: torch.Tensor | None = None) -> torch.Tensor:
    """One DDPM reverse step from index ``t`` (0-based; the same for the whole batch):
    ``x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(1 - beta_t) + sqrt(beta_t) * noise``,
    with no noise at the last step (t = 0). ``alpha_bar`` may be passed to save recomputing it."""
    alpha_bar = alpha_bars(betas) if alpha_bar is None else alpha_bar
    beta, a_bar = float(betas[t]), float(alpha_bar[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
    return mean + math.sqrt(beta) * noise if t > 0 else mean


def ddim_step(x_t: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int, alpha_bar: torch.Tensor,
              clip: bool = False) -> torch.Tensor:
    """One deterministic DDIM step (eta = 0) from index t to t_prev < t (t_prev = -1: the clean
    image): predict x0, then move it to t_prev's noise level along the same eps."""
    a_t = float(alpha_bar[t])
    a_prev = float(alpha_bar[t_prev]) if t_prev >= 0 else 1.0
    x0 = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (x_t - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
    return math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps


# ---------------------------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------------------------


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """The Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2):
    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1^1/2 sigma2 sigma1^1/2)^1/2)``, in float64.
    The trace of the square root is the sum of the square roots of the eigenvalues of the
    symmetric matrix ``sigma1^1/2 sigma2 sigma1^1/2`` (negative rounding errors clipped at 0)."""
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(v, dtype=torch.float64) for v in (mu1, mu2, sigma1, sigma2))
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_root)


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (unbiased, rows are samples) of a feature matrix, in float64."""
    features = features.to(torch.float64)
    return features.mean(dim=0), torch.cov(features.T)


@torch.no_grad()
def features(classifier: nn.Sequential, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's features: the output of everything but its last layer (chapter 04's
    ResNet: the 128 globally pooled channels), in eval mode, batch by batch."""
    backbone = classifier[:-1]
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    out = torch.cat([backbone(images[i:i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)])
    classifier.train(was_training)
    return out


@torch.no_grad()
def predict(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's predicted classes, batch by batch, in eval mode."""
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    out = torch.cat([classifier(images[i:i + batch_size].to(device)).argmax(1).cpu()
                     for i in range(0, len(images), batch_size)])
    classifier.train(was_training)
    return out


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def _encoder(in_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, 32, 4, 2, 1), nn.ReLU(),  # 28 -> 14
                         nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),  # 14 -> 7
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU())


def _decoder(in_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, 256), nn.ReLU(), nn.Linear(256, 64 * 7 * 7), nn.ReLU(),
                         nn.Unflatten(1, (64, 7, 7)),
                         nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # 7 -> 14
                         nn.ConvTranspose2d(32, 1, 4, 2, 1))  # 14 -> 28, logits


class AutoEncoder(nn.Module):
    """A convolutional autoencoder: 28x28 images -> ``latent_dim`` numbers -> pixel logits."""

    def __init__(self, latent_dim: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(_encoder(1), nn.Linear(256, latent_dim))
        self.decoder = _decoder(latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class ConditionalVAE(nn.Module):
    """A VAE whose encoder and decoder also see the class (one-hot): ``forward`` returns
    ``(logits, mu, log_var)``; ``decode(z, labels)`` generates pixel logits of that class."""

    def __init__(self, latent_dim: int = 16, num_classes: int = 10):
        super().__init__()
        self.num_classes, self.latent_dim = num_classes, latent_dim
        self.encoder = _encoder(1 + num_classes)
        self.to_stats = nn.Linear(256, 2 * latent_dim)
        self.decoder = _decoder(latent_dim + num_classes)

    def _one_hot(self, labels: torch.Tensor, dtype) -> torch.Tensor:
        return F.one_hot(labels, self.num_classes).to(dtype)

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        planes = self._one_hot(labels, x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        mu, log_var = self.to_stats(self.encoder(torch.cat([x, planes], dim=1))).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, self._one_hot(labels, z.dtype)], dim=1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None):
        mu, log_var = self.encode(x, labels)
        return self.decode(reparameterize(mu, log_var, generator), labels), mu, log_var


class Generator(nn.Module):
    """A conditional DCGAN generator: noise and a class embedding -> 7x7 -> 14x14 -> 28x28 in [-1, 1]."""

    def __init__(self, latent_dim: int = 64, num_classes: int = 10, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.net = nn.Sequential(
            nn.Linear(2 * latent_dim, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class Discriminator(nn.Module):
    """A conditional DCGAN discriminator with a projection head (Miyato & Koyama 2018):
    ``logit = w . h(x) + embed(y) . h(x)``. ``spectral=True`` wraps every layer in spectral
    normalisation (each layer's largest singular value kept at 1)."""

    def __init__(self, num_classes: int = 10, width: int = 32, spectral: bool = False):
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral else (lambda layer: layer)
        self.net = nn.Sequential(
            wrap(nn.Conv2d(1, width, 4, 2, 1)), nn.LeakyReLU(0.2),  # 28 -> 14
            wrap(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),  # 14 -> 7
            nn.Flatten(), wrap(nn.Linear(2 * width * 7 * 7, 256)), nn.LeakyReLU(0.2))
        self.out = wrap(nn.Linear(256, 1))
        self.embed = wrap(nn.Embedding(num_classes, 256))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.net(x)
        return self.out(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the step index (as the Transformer's positions, chapter 06)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TinyUNet(nn.Module):
    """A small U-Net that predicts the noise of ``x_t`` given t and a class (``num_classes`` is
    the *null* label, used for classifier-free guidance). The image is cut into 2x2 patches
    (``pixel_unshuffle``: 28x28x1 -> 14x14x4), then chapter 04's residual blocks with group norm
    work at 14x14 and 7x7, with a skip connection across; the step and class embeddings are
    added to every block's input."""

    def __init__(self, width: int = 32, num_classes: int = 10):
        super().__init__()
        self.num_classes, self.width = num_classes, width
        emb = 4 * width
        norm: Callable[[int], nn.Module] = lambda channels: nn.GroupNorm(8, channels)
        self.time = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(num_classes + 1, emb)
        self.stem = nn.Conv2d(4, width, 3, padding=1)
        channels = [width, width, 2 * width, 3 * width]  # input channels of each block
        self.to_block = nn.ModuleList(nn.Linear(emb, c) for c in channels)
        self.down1 = ResidualBlock(width, width, norm=norm)  # 14x14
        self.down2 = ResidualBlock(width, 2 * width, stride=2, norm=norm)  # 7x7
        self.middle = ResidualBlock(2 * width, 2 * width, norm=norm)
        self.up = ResidualBlock(3 * width, width, norm=norm)  # 14x14, after the skip
        self.head = nn.Conv2d(width, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e = F.silu(self.time(timestep_embedding(t, self.width)) + self.label(labels))
        shift = [layer(e)[:, :, None, None] for layer in self.to_block]
        h = self.stem(F.pixel_unshuffle(x, 2))
        skip = self.down1(h + shift[0])
        h = self.down2(skip + shift[1])
        h = self.middle(h + shift[2])
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up(torch.cat([h, skip], dim=1) + shift[3])
        return F.pixel_shuffle(self.head(h), 2)


# ---------------------------------------------------------------------------------------------
# Training loops (fixed step counts, so that a budget is a number of steps)
# ---------------------------------------------------------------------------------------------


def _batches(count: int, batch_size: int, steps: int, generator: torch.Generator, progress: bool = False,
             description: str = ""):
    from tqdm.auto import tqdm

    if count < batch_size:
        raise ValueError(f"{count} training images are fewer than one batch of {batch_size}: "
                         "pass more images or a smaller batch_size")
    done = 0
    with tqdm(total=steps, desc=description, disable=not progress, leave=False) as bar:
        while True:
            order = torch.randperm(count, generator=generator)
            for start in range(0, count - batch_size + 1, batch_size):
                if done == steps:
                    return
                yield order[start:start + batch_size]
                done += 1
                bar.update()


def _train_epochs(model: nn.Module, count: int, epochs: int, batch_size: int, lr: float, seed: int, progress: bool,
                  batch_loss: Callable[[torch.Tensor, torch.Generator, torch.device], torch.Tensor]) -> list[float]:
    """Adam over ``epochs`` epochs of shuffled batches of indices into ``count`` images;
    ``batch_loss(index, generator, device)`` gives each batch's loss. Returns each epoch's mean loss."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    device = next(model.parameters()).device
    steps_per_epoch = count // batch_size
    losses = []
    model.train()
    for epoch in range(epochs):
        total = 0.0
        for index in _batches(count, batch_size, steps_per_epoch, generator, progress, f"epoch {epoch + 1}"):
            loss = batch_loss(index, generator, device)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / steps_per_epoch)
    return losses


def train_autoencoder(model: AutoEncoder, images: torch.Tensor, epochs: int, batch_size: int = 128, lr: float = 2e-3,
                      noise_std: float = 0.0, seed: int = 0, progress: bool = False) -> list[float]:
    """Train on reconstruction (BCE of the pixel logits, summed over pixels, mean over images);
    ``noise_std > 0`` trains a denoising autoencoder (noisy input, clean target). Returns the
    mean loss of each epoch."""

    def batch_loss(index, generator, device):
        x = images[index]
        noisy = (x + noise_std * torch.randn(x.shape, generator=generator)).clamp(0, 1) if noise_std else x
        x, noisy = x.to(device), noisy.to(device)
        return F.binary_cross_entropy_with_logits(model(noisy), x, reduction="none").flatten(1).sum(1).mean()

    return _train_epochs(model, len(images), epochs, batch_size, lr, seed, progress, batch_loss)


def train_vae(model: ConditionalVAE, images: torch.Tensor, labels: torch.Tensor, epochs: int, beta: float = 1.0,
              batch_size: int = 128, lr: float = 2e-3, seed: int = 0, progress: bool = False) -> list[float]:
    """Train a conditional VAE on :func:`negative_elbo`; returns the mean loss of each epoch."""

    def batch_loss(index, generator, device):
        x, y = images[index].to(device), labels[index].to(device)
        mu, log_var = model.encode(x, y)
        z = mu + torch.exp(0.5 * log_var) * torch.randn(mu.shape, generator=generator).to(device)  # CPU generator
        return negative_elbo(model.decode(z, y), x, mu, log_var, beta)

    return _train_epochs(model, len(images), epochs, batch_size, lr, seed, progress, batch_loss)


def train_gan(generator_net: Generator, discriminator: Discriminator, images: torch.Tensor, labels: torch.Tensor,
              steps: int, batch_size: int = 128, lr: float = 2e-4, seed: int = 0,
              progress: bool = False) -> dict[str, list[float]]:
    """Alternate one discriminator step and one generator step (Adam, betas (0.5, 0.999), the
    DCGAN settings) for ``steps`` steps on images in [-1, 1]. Returns the losses per step and
    the discriminator's mean probability on real and fake images."""
    rng = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator_net.parameters(), lr=lr, betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    device = next(generator_net.parameters()).device
    generator_net.train()
    discriminator.train()
    for index in _batches(len(images), batch_size, steps, rng, progress, "GAN"):
        real, y = images[index].to(device), labels[index].to(device)
        z = torch.randn(batch_size, generator_net.latent_dim, generator=rng).to(device)
        fake = generator_net(z, y)
        real_logits, fake_logits = discriminator(real, y), discriminator(fake.detach(), y)
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = generator_loss(discriminator(fake, y))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        history["d_real"].append(torch.sigmoid(real_logits).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
    return history


def train_diffusion(model: TinyUNet, images: torch.Tensor, labels: torch.Tensor, alpha_bar: torch.Tensor, steps: int,
                    batch_size: int = 128, lr: float = 2e-3, p_uncond: float = 0.1, seed: int = 0,
                    progress: bool = False) -> list[float]:
    """Train the noise predictor: pick t uniformly, noise the batch with :func:`q_sample`, regress
    the noise (mean squared error). A fraction ``p_uncond`` of the labels is replaced by the null
    label, so that the same network also predicts unconditionally (classifier-free guidance).
    AdamW with a one-cycle learning rate. Returns the loss of each step."""
    rng = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    device = next(model.parameters()).device
    alpha_bar = alpha_bar.float().to(device)
    losses = []
    model.train()
    for index in _batches(len(images), batch_size, steps, rng, progress, "diffusion"):
        x0, y = images[index], labels[index].clone()
        y[torch.rand(batch_size, generator=rng) < p_uncond] = model.num_classes
        t = torch.randint(0, len(alpha_bar), (batch_size,), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        x0, y, t, noise = x0.to(device), y.to(device), t.to(device), noise.to(device)
        loss = F.mse_loss(model(q_sample(x0, t, noise, alpha_bar), t, y), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def _clip_to_data(x_t: torch.Tensor, eps: torch.Tensor, a_bar: float) -> torch.Tensor:
    """The noise that, with x_t, implies a clean image clipped to [-1, 1] (the data's range)."""
    x0 = ((x_t - math.sqrt(1 - a_bar) * eps) / math.sqrt(a_bar)).clamp(-1, 1)
    return (x_t - math.sqrt(a_bar) * x0) / math.sqrt(1 - a_bar)


@torch.no_grad()
def sample_diffusion(model: TinyUNet, labels: torch.Tensor, betas: torch.Tensor, method: str = "ddim",
                     steps: int | None = None, guidance: float = 0.0, seed: int = 0,
                     batch_size: int = 100, progress: bool = False) -> torch.Tensor:
    """Generate one image in [-1, 1] per label. ``method="ddpm"`` runs every one of the T reverse
    steps (:func:`ddpm_step`); ``"ddim"`` runs ``steps`` evenly spaced deterministic steps
    (:func:`ddim_step`). ``guidance`` w mixes the conditional and unconditional noise
    predictions as ``(1 + w) eps(x, y) - w eps(x, null)`` (w = 0: conditional only). The implied
    clean image is clipped to [-1, 1] at every step."""
    if method not in ("ddpm", "ddim"):
        raise ValueError(f"method must be 'ddpm' or 'ddim', got {method!r}")
    T = len(betas)
    alpha_bar = alpha_bars(betas)
    if method == "ddpm":
        schedule = list(range(T - 1, -1, -1))
    else:
        count = T if steps is None else steps
        if not 1 <= count <= T:
            raise ValueError(f"steps must be between 1 and {T} (the schedule's length), got {count}")
        schedule = torch.linspace(T - 1, 0, count).round().long().tolist()
    rng = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    model.eval()
    from tqdm.auto import tqdm

    out = []
    for start in tqdm(range(0, len(labels), batch_size), desc=f"{method} sampling", disable=not progress, leave=False):
        y = labels[start:start + batch_size].to(device)
        n = len(y)
        x = torch.randn(n, 1, 28, 28, generator=rng).to(device)
        null = torch.full_like(y, model.num_classes)
        for i, t in enumerate(schedule):
            tt = torch.full((n,), t, device=device)
            if guidance:
                both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null]))
                conditional, unconditional = both.chunk(2)
                eps = (1 + guidance) * conditional - guidance * unconditional
            else:
                eps = model(x, tt, y)
            eps = _clip_to_data(x, eps, float(alpha_bar[t]))
            if method == "ddpm":
                x = ddpm_step(x, eps, t, betas, torch.randn(x.shape, generator=rng).to(device), alpha_bar)
            else:
                x = ddim_step(x, eps, t, schedule[i + 1] if i + 1 < len(schedule) else -1, alpha_bar)
        out.append(x.clamp(-1, 1).cpu())
    return torch.cat(out)
