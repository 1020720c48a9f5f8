"""utils.conv against the PyTorch and torchvision built-ins, float64, gradients included, at
random points and at the kinks and ties (max pooling ties, a constant channel, padding)."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from utils import conv as C


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def grads(function, *tensors):
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    out = function(*leaves)
    weights = randn(*out.shape, seed=99)
    return out, torch.autograd.grad((out * weights).sum(), leaves)


def close(a, b, what):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=lambda m: f"{what}:\n{m}")


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", [
    (28, 3, 1, 1, 1), (28, 5, 1, 0, 1), (28, 3, 2, 1, 1), (7, 3, 2, 0, 1), (9, 3, 1, 0, 2), (5, 5, 1, 0, 1),
    (6, 2, 2, 0, 1), (1, 1, 1, 0, 1), (10, 3, 3, 2, 2)])
def test_conv_output_size_matches_conv2d(size, kernel, stride, padding, dilation):
    out = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel), stride=stride,
                   padding=padding, dilation=dilation)
    assert C.conv_output_size(size, kernel, stride, padding, dilation) == out.shape[-1]


def test_conv_output_size_rejects_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        C.conv_output_size(4, 3, dilation=2)
    with pytest.raises(ValueError, match=">= 1"):
        C.conv_output_size(4, 3, stride=0)


CONFIGS = [dict(), dict(stride=2), dict(padding=1), dict(padding=2, dilation=2), dict(stride=(2, 1), padding=(1, 0)),
           dict(groups=2), dict(groups=4, padding=1)]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_conv2d_matches_torch_values_and_gradients(config):
    groups = config.get("groups", 1)
    x, weight, bias = randn(2, 4, 9, 8), randn(6 if groups != 4 else 8, 4 // groups, 3, 3, seed=1), None
    bias = randn(weight.shape[0], seed=2)
    ours, our_grads = grads(lambda *t: C.conv2d(*t, **config), x, weight, bias)
    theirs, their_grads = grads(lambda *t: F.conv2d(*t, **config), x, weight, bias)
    close(ours, theirs, f"conv2d {config}")
    for name, a, b in zip(("x", "weight", "bias"), our_grads, their_grads):
        close(a, b, f"gradient with respect to {name}, {config}")


def test_conv2d_without_bias_and_naive_version_agree():
    x, weight = randn(3, 2, 7, 7), randn(5, 2, 3, 3, seed=1)
    close(C.conv2d(x, weight), F.conv2d(x, weight), "no bias")
    close(C.conv2d_naive(x, weight, stride=2, padding=1), F.conv2d(x, weight, stride=2, padding=1), "naive loops")
    with pytest.raises(ValueError, match="groups"):
        C.conv2d(x, randn(5, 3, 3, 3), groups=1)


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_max_pool_matches_torch_with_ties(kernel, stride, padding):
    x = randn(2, 3, 7, 8)
    x[0, 0] = 1.0  # a constant channel: every window is a tie
    x[1, 1, :, ::2] = x[1, 1, :, 1::2]  # neighbouring columns tied
    ours, our_grads = grads(lambda t: C.max_pool2d(t, kernel, stride, padding), x)
    theirs, their_grads = grads(lambda t: F.max_pool2d(t, kernel, stride, padding), x)
    close(ours, theirs, "max pooling")
    close(our_grads[0], their_grads[0], "max pooling's gradient (ties: the first maximum gets it)")


def test_global_average_pool():
    x = randn(2, 3, 4, 5)
    close(C.avg_pool_global(x), F.adaptive_avg_pool2d(x, 1).flatten(1), "global average pooling")


def empirical_receptive_field(layers, size=64):
    """Input pixels that change the centre unit of the output: the span of its gradient's support
    (max pooling replaced by average pooling of the same geometry, whose gradient reaches every
    pixel of the window; batch norm in evaluation mode, which does not mix pixels)."""
    def geometric(layer):
        if isinstance(layer, nn.MaxPool2d):
            return nn.AvgPool2d(layer.kernel_size, layer.stride)
        return nn.Sequential(*map(geometric, layer)) if isinstance(layer, nn.Sequential) else layer
    model = nn.Sequential(*map(geometric, layers)).double().eval()
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, 1.0)
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = model(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = x.grad[0, 0].abs().sum(dim=1).nonzero()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize("layers", [
    [nn.Conv2d(1, 1, 3)],
    [nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3)],
    [nn.Conv2d(1, 1, 5), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3)],
    [nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, dilation=2), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3)],
    [nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.BatchNorm2d(1)), nn.MaxPool2d(3, stride=2), nn.Conv2d(1, 1, 1)],
])
def test_receptive_field_matches_the_gradients_support(layers):
    assert C.receptive_field(layers) == empirical_receptive_field(layers)


def test_receptive_field_of_tuples_and_errors():
    assert C.receptive_field([(3, 1), (3, 1), (2, 2), (3, 1, 2)]) == 1 + 2 + 2 + 1 + 2 * 2 * 2
    with pytest.raises(TypeError, match="tuples"):
        C.receptive_field(["conv"])


def test_batch_norm2d_matches_torch_values_and_gradients():
    x = randn(4, 3, 5, 5) * 3 + 1
    x[:, 1] = 2.0  # a constant channel: variance 0, eps keeps it finite
    gamma, beta = randn(3, seed=1), randn(3, seed=2)
    ours, our_grads = grads(lambda *t: C.batch_norm2d_train(*t, eps=1e-3), x, gamma, beta)
    theirs, their_grads = grads(lambda *t: F.batch_norm(t[0], None, None, t[1], t[2], training=True, eps=1e-3),
                                x, gamma, beta)
    close(ours, theirs, "batch norm 2d")
    for name, a, b in zip(("x", "gamma", "beta"), our_grads, their_grads):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10, msg=lambda m, name=name: f"gradient {name}:\n{m}")


@pytest.mark.parametrize("in_channels,out_channels,stride", [(8, 8, 1), (8, 16, 2), (8, 16, 1)])
def test_residual_block_matches_torchvision_basic_block(in_channels, out_channels, stride):
    torch.manual_seed(0)
    ours = C.ResidualBlock(in_channels, out_channels, stride).double()
    projection = None
    if stride != 1 or in_channels != out_channels:
        projection = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(out_channels))
        assert isinstance(ours.shortcut, nn.Sequential)
    else:
        assert isinstance(ours.shortcut, nn.Identity)
    theirs = BasicBlock(in_channels, out_channels, stride, downsample=projection).double()
    state = {key.replace("shortcut.", "downsample."): value for key, value in ours.state_dict().items()}
    theirs.load_state_dict(state)
    x = randn(2, in_channels, 8, 8)
    for mode in ("train", "eval"):
        ours.train(mode == "train"), theirs.train(mode == "train")
        close(ours(x), theirs(x), f"residual block in {mode} mode")


def test_model_builders_shapes_and_sizes():
    x = torch.randn(4, 1, 28, 28)
    model = C.small_resnet(widths=(16, 32), blocks_per_stage=2)
    assert model(x).shape == (4, 10) and isinstance(model[-1], nn.Linear)
    pooled = C.small_resnet(widths=(16, 32), stem_pool=True)
    assert isinstance(pooled[3], nn.MaxPool2d) and pooled[:4](x).shape == (4, 16, 14, 14)
    assert pooled(x).shape == (4, 10) and isinstance(pooled[-4], C.ResidualBlock)
    assert sum(p.numel() for p in pooled.parameters()) == sum(p.numel() for p in C.small_resnet(widths=(16, 32)).parameters())
    assert C.lenet()(x).shape == (4, 10)
    assert sum(p.numel() for p in C.lenet().parameters()) == 61_706  # LeNet-5's classic count for 10 classes
    assert C.vgg_block(1, 8)(x).shape == (4, 8, 14, 14)


def test_random_crop_flip_is_a_seeded_crop_of_the_padded_image():
    images = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5)
    before = images.clone()
    out = C.random_crop_flip(images, padding=2, generator=torch.Generator().manual_seed(0))
    again = C.random_crop_flip(images, padding=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again) and torch.equal(images, before) and out.dtype == images.dtype
    padded = F.pad(images, (2,) * 4)
    for index in range(2):
        crops = [padded[index, :, r:r + 5, c:c + 5] for r, c in itertools.product(range(5), range(5))]
        assert any(torch.equal(out[index], crop) or torch.equal(out[index], crop.flip(-1)) for crop in crops)
    assert torch.equal(C.random_crop_flip(images, padding=0, flip=False), images)
    many = C.random_crop_flip(images.repeat(500, 1, 1, 1)[:, :, 1:4, :], padding=0,
                              generator=torch.Generator().manual_seed(1))
    flipped = (many != images.repeat(500, 1, 1, 1)[:, :, 1:4, :]).flatten(1).any(dim=1).float().mean().item()
    assert 0.4 < flipped < 0.6, f"about half the images should be mirrored, got {flipped:.0%}"


def test_freeze_backbone_leaves_the_head_and_the_running_statistics():
    model = C.small_resnet(widths=(8, 16)).double()
    model.train()
    head = sum(p.numel() for p in model[-1].parameters())
    assert C.freeze_backbone(model) == head == 16 * 10 + 10
    running = model[1].running_mean.clone()
    F.cross_entropy(model(randn(4, 1, 28, 28) + 3), torch.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad is None for p in model[:-1].parameters())
    assert all(p.grad is not None for p in model[-1].parameters())
    assert torch.equal(model[1].running_mean, running), "frozen batch norm keeps its pretrained statistics"


def test_fgsm_moves_every_pixel_by_epsilon_along_the_gradients_sign():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).double()
    images = torch.rand(5, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 0.8 + 0.1
    labels = torch.tensor([0, 1, 2, 0, 1])
    adversarial = C.fgsm(model, images, labels, epsilon=0.05)
    leaf = images.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(leaf), labels), leaf)
    close(adversarial, (images + 0.05 * gradient.sign()).clamp(0, 1), "fgsm")
    assert F.cross_entropy(model(adversarial), labels) > F.cross_entropy(model(images), labels)
    assert all(p.grad is None for p in model.parameters()) and not adversarial.requires_grad
    assert C.fgsm(model, torch.ones(1, 1, 4, 4, dtype=torch.float64), labels[:1], 0.5).max() <= 1.0


def test_saliency_and_grad_cam_shapes_and_ranges():
    torch.manual_seed(0)
    model = C.small_resnet(widths=(8, 16)).double().eval()
    images, targets = randn(3, 1, 28, 28), torch.tensor([1, 2, 3])
    assert C.saliency(model, images, targets).shape == (3, 28, 28)
    cam = C.grad_cam(model, model[-4], images, targets)
    assert cam.shape == (3, 28, 28) and cam.min() >= 0 and torch.allclose(cam.flatten(1).amax(1), torch.ones(3).double())
