"""Chapter 08's references for training at scale: utils.scale (accumulation, loss scaling,
checkpointing, training checkpoints) and utils.parallel (ring all-reduce, the sampler's shards,
DDP under torchrun) against PyTorch, float64 where the arithmetic allows."""

import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler

from utils import parallel, scale


def small_model(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)


@pytest.mark.parametrize("rows, micro", [(64, 16), (50, 16), (33, 8), (5, 64), (7, 1)])
def test_accumulated_gradients_equal_the_whole_batch(rows, micro):
    model = small_model()
    g = torch.Generator().manual_seed(rows)
    x, y = torch.randn(rows, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (rows,), generator=g)
    loss = F.cross_entropy(model(x), y)
    expected = torch.autograd.grad(loss, list(model.parameters()))
    returned = scale.accumulate_gradients(model, F.cross_entropy, x, y, micro)
    assert returned == pytest.approx(float(loss.detach()), abs=1e-12)
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, e, rtol=0, atol=1e-12)
    scale.accumulate_gradients(model, F.cross_entropy, x, y, micro)  # adds, as backward does
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, 2 * e, rtol=0, atol=1e-12)


def test_accumulation_rejects_bad_sizes():
    model = small_model()
    with pytest.raises(ValueError, match="micro_batch_size must be at least 1"):
        scale.accumulate_gradients(model, F.cross_entropy, torch.randn(4, 6), torch.zeros(4, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="empty"):
        scale.accumulate_gradients(model, F.cross_entropy, torch.randn(0, 6), torch.zeros(0, dtype=torch.long), 2)


def _torch_scale_trail(events, **kwargs):
    s, tracker, trail = torch.tensor([kwargs.get("scale", 65536.0)]), torch.tensor([0], dtype=torch.int32), []
    for found in events:
        torch._amp_update_scale_(s, tracker, torch.tensor([float(found)]), kwargs.get("growth_factor", 2.0),
                                 kwargs.get("backoff_factor", 0.5), kwargs.get("growth_interval", 2000))
        trail.append((float(s), int(tracker)))
    return trail


@pytest.mark.parametrize("interval, factors", [(1, (2.0, 0.5)), (3, (2.0, 0.5)), (7, (4.0, 0.25))])
def test_loss_scale_follows_torch(interval, factors):
    events = (torch.rand(400, generator=torch.Generator().manual_seed(interval)) < 0.1).tolist()
    ours, value, tracker = [], 1024.0, 0
    for found in events:
        value, tracker = scale.update_loss_scale(value, found, tracker, *factors, growth_interval=interval)
        ours.append((value, tracker))
    assert ours == _torch_scale_trail(events, scale=1024.0, growth_factor=factors[0], backoff_factor=factors[1],
                                      growth_interval=interval)


def test_loss_scale_matches_grad_scaler_on_a_float16_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=3)
    value, tracker = 2.0**16, 0
    for step in range(12):
        x, y = torch.randn(32, 20), torch.randint(0, 4, (32,))
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) * (1e5 if step in (4, 5) else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        found = not all(bool(torch.isfinite(p.grad).all()) for p in model.parameters())
        scaler.step(optimizer)
        scaler.update()
        value, tracker = scale.update_loss_scale(value, found, tracker, growth_interval=3)
        assert scaler.get_scale() == value, f"step {step}"


@pytest.mark.parametrize("segments", [1, 2, 4])
def test_checkpointed_forward_gives_the_same_values_and_gradients(segments):
    torch.manual_seed(0)
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.GELU()) for _ in range(8)]).double()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    plain = blocks(x)
    expected = torch.autograd.grad(plain.square().sum(), [x, *blocks.parameters()])
    out = scale.checkpointed_forward(blocks, x, segments)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    got = torch.autograd.grad(out.square().sum(), [x, *blocks.parameters()])
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_checkpointing_cuts_the_measured_activation_peak():
    torch.manual_seed(0)
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(256, 256), nn.GELU()) for _ in range(16)])
    x = torch.randn(256, 256, requires_grad=True)
    peaks = {}
    for segments in (0, 4):
        peaks[segments] = scale.activation_peak(
            lambda: scale.checkpointed_forward(blocks, x, segments).sum().backward(), blocks, x)["activations"]
    layer_mib = 256 * 256 * 4 / 2**20  # one Linear output (the GELU keeps its input, the next Linear too)
    assert peaks[0] >= 16 * layer_mib  # at least one activation per block kept
    assert peaks[4] < 0.5 * peaks[0], peaks


def _training_objects(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _epoch(model, optimizer, scheduler, x, y):
    for index in torch.randperm(len(x)).split(16):
        optimizer.zero_grad()
        F.cross_entropy(model(x[index]), y[index]).backward()
        optimizer.step()
    scheduler.step()


def test_a_training_checkpoint_resumes_bit_for_bit(tmp_path):
    x, y = torch.randn(64, 10, generator=torch.Generator().manual_seed(1)), torch.randint(0, 3, (64,))
    straight = _training_objects()
    torch.manual_seed(7)
    for _ in range(5):
        _epoch(*straight, x, y)
    stopped = _training_objects()
    torch.manual_seed(7)
    for _ in range(3):
        _epoch(*stopped, x, y)
    scale.save_training_state(tmp_path / "state.pt", *stopped, epoch=3)
    torch.manual_seed(99)
    resumed = _training_objects(seed=5)
    assert scale.load_training_state(tmp_path / "state.pt", *resumed) == 3
    for _ in range(2):
        _epoch(*resumed, x, y)
    for a, b in zip(straight[0].state_dict().values(), resumed[0].state_dict().values()):
        assert torch.equal(a, b)
    assert resumed[1].param_groups[0]["lr"] == straight[1].param_groups[0]["lr"]


def test_loading_refuses_pickled_objects_and_a_missing_scheduler(tmp_path):
    model, optimizer, scheduler = _training_objects()
    torch.save({"model": model}, tmp_path / "pickled.pt")
    with pytest.raises(pickle.UnpicklingError):
        scale.load_training_state(tmp_path / "pickled.pt", model, optimizer, scheduler)
    scale.save_training_state(tmp_path / "none.pt", model, optimizer, None, epoch=1)
    assert scale.load_training_state(tmp_path / "none.pt", model, optimizer) == 1
    with pytest.raises(ValueError, match="no scheduler state"):
        scale.load_training_state(tmp_path / "none.pt", model, optimizer, scheduler)


def test_profile_step_reports_operators_and_writes_a_trace(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    x = torch.randn(8, 1, 8, 8)
    table = scale.profile_step(lambda: model(x).sum().backward(), trace=tmp_path / "trace.json", row_limit=5)
    assert "aten::" in table and "Self CPU" in table
    import json

    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert any("convolution" in event.get("name", "") for event in events)


# --- utils.parallel -----------------------------------------------------------------------------

@pytest.mark.parametrize("p, n", [(1, 5), (2, 8), (3, 10), (4, 12), (5, 23), (8, 3)])
def test_ring_all_reduce_averages_and_sends_2_p_minus_1_chunks(p, n):
    g = torch.Generator().manual_seed(p * 100 + n)
    per_rank = [torch.randn(n, generator=g, dtype=torch.float64) for _ in range(p)]
    copies = [t.clone() for t in per_rank]
    results, sent = parallel.ring_all_reduce(per_rank)
    mean = torch.stack(copies).mean(0)
    for r in results:
        torch.testing.assert_close(r, mean, rtol=0, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(per_rank, copies))
    assert sum(sent) == 2 * (p - 1) * n
    chunk = math.ceil(n / p)
    assert max(sent) <= 2 * (p - 1) * chunk


def test_ring_all_reduce_keeps_shape_and_dtype_and_checks_shapes():
    results, _ = parallel.ring_all_reduce([torch.ones(2, 3, dtype=torch.float32) * i for i in range(3)])
    assert all(r.shape == (2, 3) and r.dtype == torch.float32 for r in results)
    torch.testing.assert_close(results[0], torch.ones(2, 3))
    with pytest.raises(ValueError, match="same shape"):
        parallel.ring_all_reduce([torch.ones(3), torch.ones(4)])
    with pytest.raises(ValueError, match="empty"):
        parallel.ring_all_reduce([])


@pytest.mark.parametrize("size, world", [(10, 2), (11, 3), (2, 4), (3, 8), (100, 1), (1000, 8)])
def test_shard_indices_equal_distributed_sampler(size, world):
    for rank in range(world):
        for epoch in range(3):
            sampler = DistributedSampler(range(size), num_replicas=world, rank=rank, shuffle=True, seed=4)
            sampler.set_epoch(epoch)
            assert parallel.shard_indices(size, world, rank, epoch, seed=4) == list(sampler)


def test_shard_indices_rejects_bad_ranks():
    with pytest.raises(ValueError, match="rank must be in"):
        parallel.shard_indices(10, 2, 2, 0)
    with pytest.raises(ValueError, match="size must be at least 1"):
        parallel.shard_indices(0, 2, 0, 0)


@pytest.mark.slow
def test_ddp_under_torchrun_matches_one_process(tmp_path):
    """Two gloo processes on 127.0.0.1, DDP and the hand-written all-reduce, against one process on
    the same global batches: the chapter's target (1e-5 after 100 steps), here after 30."""
    single = parallel.train(30, mode="single").state_dict()
    for mode in ("ddp", "manual"):
        weights, _ = parallel.launch(tmp_path / f"{mode}.pt", processes=2, mode=mode, steps=30)
        assert max(float((weights[k] - single[k]).abs().max()) for k in single) <= 1e-5, mode


def test_single_process_training_refuses_an_uneven_global_batch():
    with pytest.raises(ValueError, match="divide evenly"):
        parallel.train(1, global_batch=63, mode="single", shards=2)
