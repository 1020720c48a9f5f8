"""Shared code for the deep-learning course.

One module per concept:

- :mod:`utils.device`       device choice, seeding, mixed precision, memory and timing helpers
- :mod:`utils.session`      ``setup()``: the one explicit call a notebook makes to seed and pick a device
- :mod:`utils.data`         registry of offline datasets (nothing downloads unless you opt in)
- :mod:`utils.training`     ``fit``: a small training loop with progress bar, history and early stopping
- :mod:`utils.plotting`     loss / metric curves and other figures the chapters share
- :mod:`utils.fundamentals` reference implementations for chapter 01
- :mod:`utils.classical`    reference implementations for chapter 02 (standardisation, normal equations, k-means, PCA ...)
- :mod:`utils.layers`       chapter 03's building blocks written out (linear, SiLU, cross-entropy, dropout, batch norm, MLP builder)
- :mod:`utils.optim`        Adam/AdamW and SGD with momentum from scratch, warm-up + cosine schedule, learning-rate range test
- :mod:`utils.conv`         chapter 04: convolution and pooling written out, receptive fields, ResNet blocks, saliency
- :mod:`utils.recurrent`    chapter 05: windows, RNN/LSTM/GRU cells written out, sampling, the character LSTM
- :mod:`utils.attention`    chapter 06: attention, positions, the transformer block, a small GPT, LoRA
- :mod:`utils.metrics`      chapter 07: confusion matrix, precision/recall/F, curves and areas, calibration, bootstrap, McNemar
- :mod:`utils.scale`        chapter 08: gradient accumulation, loss scaling, activation checkpointing, training checkpoints, the profiler
- :mod:`utils.parallel`     chapter 08: the ring all-reduce simulated, the sampler's shards, DDP under torchrun
- :mod:`utils.deploy`       chapter 08: int8 quantization, pruning masks, percentiles, request validation, ONNX export
- :mod:`utils.serving`      chapter 08: a FastAPI service with micro-batching, and a load test

Importing ``utils`` changes nothing global: no prints, no seeds, no warning filters, no downloads.
"""

from utils.device import Timer, autocast, get_device, grad_scaler, memory_report, seed_everything
from utils.session import setup, smoke_mode

__all__ = [
    "Timer",
    "autocast",
    "get_device",
    "grad_scaler",
    "memory_report",
    "seed_everything",
    "setup",
    "smoke_mode",
]
__version__ = "0.1.0"
