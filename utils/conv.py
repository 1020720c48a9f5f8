"""Reference implementations for chapter 04 (convolutional networks), in PyTorch.

Each function is checked against the PyTorch (or torchvision) built-in in float64, gradients
included, at random points and at its kinks and ties, in tests/test_conv.py.

Shapes follow PyTorch: images ``(N, C, H, W)``, convolution weights ``(C_out, C_in / groups,
kH, kW)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis:
    ``floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1``.

    Raises ValueError when the (dilated) kernel does not fit into the padded input.
    """
    if min(size, kernel_size, stride, dilation) < 1 or padding < 0:
        raise ValueError(f"size, kernel_size, stride and dilation must be >= 1 and padding >= 0, got "
                         f"size={size}, kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}")
    span = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(f"a kernel spanning {span} pixels does not fit into {size} + 2 * {padding} padded pixels")
    return (size + 2 * padding - span) // stride + 1


def conv2d_naive(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1,
                 padding: int = 0) -> torch.Tensor:
    """Cross-correlation with Python loops over the output pixels: the definition, slowly.

    ``out[n, o, i, j] = bias[o] + sum_{c, u, v} x[n, c, i s + u, j s + v] weight[o, c, u, v]``
    (after zero padding). For the lesson and the speed comparison only; see :func:`conv2d`.
    """
    x = F.pad(x, (padding,) * 4)
    kernel_h, kernel_w = weight.shape[-2:]
    out_h = conv_output_size(x.shape[-2], kernel_h, stride)
    out_w = conv_output_size(x.shape[-1], kernel_w, stride)
    out = x.new_zeros(x.shape[0], weight.shape[0], out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w]  # (N, C, kH, kW)
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> torch.Tensor:
    """``F.conv2d`` as one matrix product over ``F.unfold``'s patches (im2col).

    ``unfold`` turns every receptive field into a column: ``(N, C kH kW, L)`` with ``L = out_h
    out_w``; the weights as a ``(C_out, C kH kW)`` matrix multiply all columns at once. With
    ``groups`` the channels are split into groups convolved separately (``groups = C`` is a
    depthwise convolution).
    """
    n, channels, height, width = x.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    if channels != group_channels * groups or out_channels % groups:
        raise ValueError(f"x has {channels} channels and weight {tuple(weight.shape)} with groups={groups}: "
                         "expected C_in = weight.shape[1] * groups and C_out divisible by groups")
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    out_h = conv_output_size(height, kernel_h, stride[0], padding[0], dilation[0])
    out_w = conv_output_size(width, kernel_w, stride[1], padding[1], dilation[1])
    columns = F.unfold(x, (kernel_h, kernel_w), dilation=dilation, padding=padding, stride=stride)  # (N, C kH kW, L)
    columns = columns.view(n, groups, group_channels * kernel_h * kernel_w, out_h * out_w)  # (N, G, C/G kH kW, L)
    kernels = weight.view(groups, out_channels // groups, -1)  # (G, C_out/G, C/G kH kW)
    out = torch.einsum("gok,ngkl->ngol", kernels, columns).reshape(n, out_channels, out_h, out_w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """``F.max_pool2d`` over ``F.unfold``'s windows. Padding counts as -inf (never the maximum);
    among tied maxima the first in the window (row by row) gets the gradient, as in PyTorch."""
    kernel_size = _pair(kernel_size)
    stride = _pair(stride if stride is not None else kernel_size)
    padding = _pair(padding)
    if padding[0] * 2 > kernel_size[0] or padding[1] * 2 > kernel_size[1]:
        raise ValueError(f"padding {padding} must be at most half the kernel size {kernel_size}")
    n, channels, height, width = x.shape
    out_h = conv_output_size(height, kernel_size[0], stride[0], padding[0])
    out_w = conv_output_size(width, kernel_size[1], stride[1], padding[1])
    padded = F.pad(x, (padding[1], padding[1], padding[0], padding[0]), value=float("-inf"))
    windows = F.unfold(padded.reshape(n * channels, 1, *padded.shape[-2:]), kernel_size, stride=stride)
    return windows.max(dim=1).values.view(n, channels, out_h, out_w)  # max(dim): the gradient goes to one index


def avg_pool_global(x: torch.Tensor) -> torch.Tensor:
    """Global average pooling: ``(N, C, H, W) -> (N, C)``."""
    return x.mean(dim=(-2, -1))


def receptive_field(layers: Iterable) -> int:
    """Receptive field (in input pixels, along one axis) of one output unit of a stack of layers.

    ``layers``: ``nn.Conv2d``/``nn.MaxPool2d``/``nn.AvgPool2d`` modules (others, such as
    activations and batch norm, do not change it; an ``nn.Sequential`` is walked recursively), or
    ``(kernel_size, stride)`` / ``(kernel_size, stride, dilation)`` tuples. With ``jump`` the
    distance in input pixels between neighbouring units of the current layer:
    ``r <- r + (k - 1) dilation jump`` and ``jump <- jump stride``.
    """
    field, jump = 1, 1
    for kernel, stride, dilation in _layer_geometry(layers):
        field += (kernel - 1) * dilation * jump
        jump *= stride
    return field


def _layer_geometry(layers):
    for layer in layers:
        if isinstance(layer, nn.Sequential):
            yield from _layer_geometry(layer)
        elif isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            kernel = _pair(layer.kernel_size)[0]
            stride = _pair(layer.stride if layer.stride is not None else layer.kernel_size)[0]
            dilation = _pair(getattr(layer, "dilation", 1))[0]
            yield kernel, stride, dilation
        elif isinstance(layer, tuple):
            kernel, stride, *rest = layer
            yield kernel, stride, (rest[0] if rest else 1)
        elif not isinstance(layer, nn.Module):
            raise TypeError(f"expected modules or (kernel, stride[, dilation]) tuples, got {layer!r}")


def batch_norm2d_train(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``BatchNorm2d`` in training mode: every channel normalised with the mean and the biased
    variance over the batch and both spatial axes ``(N, H, W)``, then scaled and shifted.
    Shapes: x (N, C, H, W), gamma and beta (C,)."""
    if x.dim() != 4:
        raise ValueError(f"expected (N, C, H, W), got shape {tuple(x.shape)}")
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


class ResidualBlock(nn.Module):
    """The basic residual block of ResNet-18/34: ``relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))``.

    The shortcut is the identity when the shape is kept, else a projection (1x1 convolution
    with the block's stride, then batch norm). Its layers are named as in
    ``torchvision.models.resnet.BasicBlock`` (``conv1, bn1, conv2, bn2``; the projection is
    ``shortcut``), so weights can be compared one to one.

    ``norm`` builds each normalisation layer from a channel count (default ``nn.BatchNorm2d``);
    chapter 09's diffusion U-Net passes group norm, which does not depend on the batch.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 norm: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = norm(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          norm(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def small_resnet(in_channels: int = 1, num_classes: int = 10, widths: Sequence[int] = (32, 64, 128),
                 blocks_per_stage: int = 1, stem_pool: bool = False) -> nn.Sequential:
    """A ResNet for small images (28x28): a 3x3 stem, one stage of residual blocks per width
    (every stage after the first halves the resolution), global average pooling, a linear head.
    ``stem_pool`` adds a 2x2 max pooling after the stem, as ResNets for large images do: every
    stage then works on a quarter of the pixels (14x14 instead of 28x28 for the first), which
    makes the network about four times cheaper for the same widths.
    The head is the last module (``model[-1]``), the rest is the backbone."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU()]
    if stem_pool:
        layers.append(nn.MaxPool2d(2))
    channels = widths[0]
    for stage, width in enumerate(widths):
        for block in range(blocks_per_stage):
            layers.append(ResidualBlock(channels, width, stride=2 if stage > 0 and block == 0 else 1))
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def lenet(in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 for 28x28 inputs (padding 2 on the first convolution, as for the original 32x32),
    with ReLU and max pooling instead of the original's sigmoids and subsampling."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # (6, 14, 14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # (16, 5, 5)
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


def vgg_block(in_channels: int, out_channels: int, convolutions: int = 2) -> nn.Sequential:
    """A VGG block: ``convolutions`` times (3x3 convolution, batch norm, ReLU), then 2x2 max pooling."""
    layers: list[nn.Module] = []
    for index in range(convolutions):
        layers += [nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


def random_crop_flip(images: torch.Tensor, padding: int = 2, generator: torch.Generator | None = None,
                     flip: bool = True) -> torch.Tensor:
    """Seeded augmentation of a batch: zero-pad by ``padding``, crop every image back to its size
    at a random offset, and (``flip``) mirror it left-right with probability 1/2.

    Draws, in this order, with ``generator``: the row offsets, the column offsets (each uniform in
    ``0 .. 2 padding``, one per image), then the flips; the same seed gives the same batch.
    Returns a new tensor of the input's shape, dtype and device; ``images`` is not changed.
    """
    n, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)
    device = images.device
    rows = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device="cpu").to(device)
    cols = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device="cpu").to(device)
    row_index = (rows.view(n, 1) + torch.arange(height, device=device)).view(n, 1, height, 1)
    col_index = (cols.view(n, 1) + torch.arange(width, device=device)).view(n, 1, 1, width)
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
    out = padded[batch, channel, row_index, col_index]
    if flip:
        mirrored = torch.rand(n, generator=generator, device="cpu").to(device) < 0.5
        out = torch.where(mirrored.view(n, 1, 1, 1), out.flip(-1), out)
    return out


def freeze_backbone(model: nn.Sequential) -> int:
    """Freeze every parameter except those of the head (the last module) for linear probing;
    returns the number of trainable parameters left. Batch-norm layers of the backbone are put
    in evaluation mode so that their running statistics stay as pretrained (call this after
    ``model.train()``)."""
    backbone, head = model[:-1], model[-1]
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    for parameter in head.parameters():
        parameter.requires_grad_(True)
    for module in backbone.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Fast gradient sign method: ``clamp(x + epsilon sign(d loss / d x), 0, 1)``, the one-step
    perturbation of at most ``epsilon`` per pixel that increases the cross-entropy the most to
    first order. Returns new images (detached); the model's parameters get no gradient."""
    images = images.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(images), labels)
    (gradient,) = torch.autograd.grad(loss, images)
    return (images + epsilon * gradient.sign()).clamp(0.0, 1.0).detach()


def saliency(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Vanilla gradient saliency: ``|d logit_target / d x|``, the maximum over channels: (N, H, W)."""
    images = images.detach().clone().requires_grad_(True)
    logits = model(images)
    (gradient,) = torch.autograd.grad(logits.gather(1, targets.view(-1, 1)).sum(), images)
    return gradient.abs().amax(dim=1)


def grad_cam(model: nn.Module, layer: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Grad-CAM: the feature maps ``A`` of ``layer`` weighted by the spatial mean of
    ``d logit_target / d A`` per channel, summed over channels, ReLU, scaled to [0, 1] per image
    and upsampled (bilinear) to the input size: (N, H, W)."""
    captured = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.update(maps=output))
    try:
        logits = model(images)
    finally:
        handle.remove()
    maps = captured["maps"]
    (gradient,) = torch.autograd.grad(logits.gather(1, targets.view(-1, 1)).sum(), maps)
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
    cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach()  # (N, 1, h, w)
    cam = F.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return cam / peak
