"""Chapter 08: smaller and deployable models, and how fast they answer.

- :func:`quantize_int8` / :func:`dequantize`: the affine (asymmetric) int8 scheme of
  ``torch.ao.quantization.MinMaxObserver`` with ``torch.per_tensor_affine``: the observed range,
  stretched to hold 0, is cut into 255 steps; ``q = clamp(round(x / scale) + zero_point)``.
- :func:`quantize_dynamic`: PyTorch's dynamic int8 quantization of the ``nn.Linear`` (and
  ``nn.LSTM``) layers of a model (weights stored in int8, activations quantized on the fly).
- :func:`magnitude_prune_mask`: unstructured magnitude pruning's mask, equal to
  ``torch.nn.utils.prune.l1_unstructured``'s.
- :func:`percentile`: NumPy's default (linear interpolation) percentile, for latency reports.
- :func:`validate_images`: the service's input check: a JSON payload to an image batch, or a
  ``ValueError`` that says what is wrong.
- :func:`export_onnx`, :func:`onnx_session`, :func:`latencies`, :func:`state_dict_bytes`: the
  deployment lesson's plumbing (ONNX export with ``torch.export``, ONNX Runtime, timing, size).
"""

from __future__ import annotations

import io
import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

__all__ = ["QMIN", "QMAX", "quantize_int8", "dequantize", "quantize_dynamic", "magnitude_prune_mask", "percentile",
           "validate_images", "export_onnx", "onnx_session", "latencies", "state_dict_bytes"]

QMIN, QMAX = -128, 127  # torch.qint8


def quantize_int8(x: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``(q, scale, zero_point)``: ``x`` (any float dtype and shape) as int8 with one scale and
    zero point for the whole tensor, as ``MinMaxObserver(dtype=torch.qint8)`` chooses them.

    The range ``[min(x.min(), 0), max(x.max(), 0)]`` (it must hold 0, so that zero padding and
    ReLU outputs are exact) maps onto ``[-128, 127]``: ``scale = (hi - lo) / 255`` (at least
    float32's machine epsilon, for an all-zero tensor), ``zero_point = -128 - round(lo / scale)``
    clamped to the int8 range, ``q = clamp(round(x / scale) + zero_point, -128, 127)``; rounding
    is half to even, as ``torch.round``. ``scale`` is a Python float computed in float32 (as the
    observer), ``zero_point`` an int."""
    if not x.is_floating_point():
        raise TypeError(f"quantize_int8 expects a floating-point tensor, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError("quantize_int8 got an empty tensor: there is no range to quantize")
    zero = torch.zeros((), dtype=torch.float32)
    lo = torch.minimum(x.detach().min().float(), zero)  # float32 throughout, as the observer
    hi = torch.maximum(x.detach().max().float(), zero)
    scale = torch.clamp((hi - lo) / (QMAX - QMIN), min=torch.finfo(torch.float32).eps)
    zero_point = int(torch.clamp(QMIN - torch.round(lo / scale), QMIN, QMAX))
    q = torch.clamp(torch.round(x.detach() / scale.to(x.dtype)) + zero_point, QMIN, QMAX).to(torch.int8)
    return q, float(scale), zero_point


def dequantize(q: torch.Tensor, scale: float, zero_point: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Back to floating point: ``(q - zero_point) * scale``; each value within ``scale / 2`` of the
    original where the original lay inside the quantized range."""
    return (q.to(dtype) - zero_point) * scale


def quantize_dynamic(model: nn.Module, layers: set[type] = frozenset({nn.Linear, nn.LSTM})) -> nn.Module:
    """A copy of ``model`` with its ``layers`` dynamically quantized to int8
    (``torch.ao.quantization.quantize_dynamic``): weights stored as int8 with a scale per tensor,
    activations quantized per batch on the fly, outputs in float. For inference on the CPU.

    ``torch.ao.quantization`` is deprecated in favour of the separate ``torchao`` package; it is
    still the one that ships with PyTorch and needs no other install, so the chapter uses it and
    silences its deprecation notices (which say just that) here."""
    from torch.ao.quantization import quantize_dynamic as _quantize_dynamic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.* are deprecated", category=UserWarning)
        return _quantize_dynamic(model, set(layers), dtype=torch.qint8, inplace=False)


def magnitude_prune_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """The 0/1 mask (weight's shape and dtype) that removes the ``round(amount * weight.numel())``
    weights of smallest absolute value, as ``torch.nn.utils.prune.l1_unstructured(module, name,
    amount)`` computes it (``round``: Python's, half to even; ties broken as ``torch.topk``)."""
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount is the fraction of weights to remove, in [0, 1]; got {amount}")
    count = round(amount * weight.numel())
    mask = torch.ones_like(weight)
    if count:
        smallest = torch.topk(weight.detach().abs().reshape(-1), k=count, largest=False).indices
        mask.view(-1)[smallest] = 0
    return mask


def percentile(samples: Sequence[float] | torch.Tensor, q: float) -> float:
    """The ``q``-th percentile (``0 <= q <= 100``) of ``samples`` with linear interpolation between
    the two closest ranks, as ``numpy.percentile``'s default: sorted values ``v``, position
    ``(n - 1) q / 100``, ``v[floor] + (v[ceil] - v[floor]) * fraction``."""
    values = torch.as_tensor(samples, dtype=torch.float64).reshape(-1)
    if values.numel() == 0:
        raise ValueError("no samples: a percentile needs at least one")
    if not 0 <= q <= 100:
        raise ValueError(f"q is a percentage in [0, 100], got {q}")
    ordered = torch.sort(values).values
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def validate_images(payload, max_batch: int = 64, height: int = 28, width: int = 28) -> torch.Tensor:
    """A service's request body (decoded JSON) to a float32 batch ``(N, 1, height, width)``.

    The payload must be a dict with the key ``"images"``: a list of 1 to ``max_batch`` images, each
    ``height`` rows of ``width`` numbers (not booleans) in ``[0, 1]``, finite. Anything else raises
    ``ValueError`` with a message that names what is wrong and where (``images[3] row 2 has 27
    values, expected 28``), so that the service can answer 422 with it."""
    if not isinstance(payload, dict) or "images" not in payload:
        raise ValueError('the request body must be a JSON object with the key "images" (a list of images)')
    images = payload["images"]
    if not isinstance(images, list):
        raise ValueError(f'"images" must be a list of images, got {type(images).__name__}')
    if not 1 <= len(images) <= max_batch:
        raise ValueError(f'"images" must hold 1 to {max_batch} images, got {len(images)}')
    for i, image in enumerate(images):
        if not isinstance(image, list) or len(image) != height:
            size = len(image) if isinstance(image, list) else type(image).__name__
            raise ValueError(f"images[{i}] must be a list of {height} rows, got {size}")
        for r, row in enumerate(image):
            if not isinstance(row, list) or len(row) != width:
                size = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
                raise ValueError(f"images[{i}] row {r} has {size}, expected {width} values")
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"images[{i}] row {r} holds {value!r}: pixels must be numbers")
                if not (0.0 <= value <= 1.0):  # also False for NaN
                    raise ValueError(f"images[{i}] row {r} holds {value}: pixels must lie in [0, 1]")
    return torch.tensor(images, dtype=torch.float32).unsqueeze(1)


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export ``model`` (in eval mode) to ONNX with ``torch.onnx.export(dynamo=True)`` (the graph
    captured by ``torch.export``), the batch dimension left dynamic; returns the path."""
    path = Path(path)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(model.eval(), (example,), dynamo=True, verbose=False, input_names=["images"],
                                output_names=["logits"], dynamic_shapes=({0: batch},))
    program.save(str(path))
    return path


def onnx_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime inference session on the CPU (``threads``: intra-op threads, default all)
    and a function ``run(x: Tensor) -> Tensor``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.detach().cpu().numpy()})[0])
    return session, run


def latencies(fn: Callable[[], object], repeats: int = 200, warmup: int = 10) -> list[float]:
    """Seconds per call of ``fn`` for ``repeats`` calls after ``warmup`` untimed ones, under
    ``torch.inference_mode``."""
    samples = []
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return samples


def state_dict_bytes(model: nn.Module) -> int:
    """Size in bytes of ``torch.save(model.state_dict())``: what a checkpoint of it weighs."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()
