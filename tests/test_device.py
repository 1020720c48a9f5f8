import contextlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import utils
from utils import device as dev


def test_cpu_fallback_and_environment_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    assert dev.get_device() == torch.device("cpu")
    monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
    assert dev.get_device() == torch.device("cpu")


def test_cuda_preferred_then_mps(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert dev.get_device().type == "mps"


def test_unavailable_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    with pytest.raises(ValueError, match="not available.*DLCOURSE_DEVICE"):
        dev.get_device()
    with pytest.raises(ValueError, match="unknown device"):
        dev.get_device("tpu9")


def test_seed_everything_repeats_all_generators():
    def draw():
        return (np.random.rand(), torch.rand(3).tolist(), __import__("random").random())

    dev.seed_everything(123)
    first = draw()
    dev.seed_everything(123)
    assert draw() == first
    with pytest.raises(ValueError, match="non-negative int"):
        dev.seed_everything(-1)


def test_autocast_is_bfloat16_on_cpu_and_the_scaler_a_pass_through():
    with dev.autocast("cpu", enabled=True):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.bfloat16
    with dev.autocast("cpu", enabled=False):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32
    assert isinstance(dev.autocast("meta", enabled=True), contextlib.nullcontext)
    scaler = dev.grad_scaler("cpu", enabled=True)
    assert not scaler.is_enabled()
    loss = torch.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss


def test_memory_report_and_timer_on_cpu():
    report = dev.memory_report("cpu")
    assert report["peak_rss_mib"] > 10
    with dev.Timer("cpu") as timer:
        sum(range(10000))
    assert 0 < timer.seconds < 5


def test_import_changes_nothing_global():
    code = (
        "import random, warnings, torch, numpy as np\n"
        "filters = list(warnings.filters); state = torch.random.get_rng_state().clone();"
        " np_state = np.random.get_state()[1].copy(); py_state = random.getstate()\n"
        "det = torch.are_deterministic_algorithms_enabled(); threads = torch.get_num_threads()\n"
        "import utils, utils.data, utils.training, utils.plotting, utils.fundamentals, utils.classical\n"
        "assert warnings.filters == filters, 'warnings filters changed'\n"
        "assert torch.equal(torch.random.get_rng_state(), state), 'torch RNG changed'\n"
        "assert (np.random.get_state()[1] == np_state).all(), 'numpy RNG changed'\n"
        "assert random.getstate() == py_state, 'random changed'\n"
        "assert torch.are_deterministic_algorithms_enabled() == det and torch.get_num_threads() == threads\n"
        "import sys; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"importing utils printed: {result.stdout!r}"


def test_setup_says_what_it_sets(capsys, monkeypatch):
    monkeypatch.setenv("DLCOURSE_SMOKE", "0")
    session = utils.setup(seed=7, smoke=False, device="cpu")
    printed = capsys.readouterr().out
    assert "seed=7" in printed and "device=cpu" in printed and "mode=full" in printed
    assert session.smoke is False
    monkeypatch.setenv("DLCOURSE_SMOKE", "1")
    assert utils.setup(seed=7, smoke=False, device="cpu", verbose=False).smoke is True
    monkeypatch.setenv("DLCOURSE_SMOKE", "maybe")
    with pytest.raises(ValueError, match="DLCOURSE_SMOKE"):
        utils.smoke_mode(False)
