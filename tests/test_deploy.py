"""Chapter 08's references for deployment: utils.deploy (int8 quantization, pruning masks,
percentiles, request validation, ONNX export) against PyTorch, NumPy and ONNX Runtime, and
utils.serving (the FastAPI service) through FastAPI's test client and one real server on loopback."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from utils import deploy


def _observer(x):
    from torch.ao.quantization import MinMaxObserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
        observer(x)
        s, z = observer.calculate_qparams()
    return float(s), int(z)


def _inputs():
    g = torch.Generator().manual_seed(0)
    for i in range(60):
        x = torch.randn(50, generator=g) * float(torch.rand(1, generator=g)) * 5 + float(torch.randn(1, generator=g)) * 3
        yield x if i % 3 else (x.abs() if i % 2 else -x.abs())
    yield torch.zeros(7)
    yield torch.full((4,), 2.5)
    yield torch.randn(4, 3, 3, 3, generator=g)


@pytest.mark.parametrize("x", list(_inputs()), ids=lambda x: f"{tuple(x.shape)}")
def test_quantize_int8_equals_the_observer_and_quantize_per_tensor(x):
    q, s, z = deploy.quantize_int8(x)
    assert (s, z) == _observer(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.quantize_per_tensor(x, s, z, torch.qint8).int_repr()
    assert q.dtype == torch.int8 and torch.equal(q, expected)
    restored = deploy.dequantize(q, s, z, torch.float64)
    assert float((restored - x.double()).abs().max()) <= s / 2 + 1e-6
    assert float(deploy.dequantize(torch.tensor([z], dtype=torch.int8), s, z)) == 0.0  # 0 is exact


def test_quantize_int8_rejects_integers_and_empty_tensors():
    with pytest.raises(TypeError, match="floating-point"):
        deploy.quantize_int8(torch.arange(4))
    with pytest.raises(ValueError, match="empty"):
        deploy.quantize_int8(torch.zeros(0))


def test_dynamic_quantization_shrinks_linear_layers_and_keeps_outputs_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the wrapper silences the deprecation notices itself
        quantized = deploy.quantize_dynamic(model)
    assert deploy.state_dict_bytes(model) / deploy.state_dict_bytes(quantized) > 3.5
    x = torch.randn(32, 256)
    with torch.inference_mode():
        assert float((quantized(x) - model(x)).abs().max()) < 0.05
    assert isinstance(model[0], nn.Linear)  # the original is untouched


@pytest.mark.parametrize("shape, amount", [((16, 8), 0.5), ((10,), 0.25), ((14,), 0.25), ((4, 3, 3, 3), 0.7),
                                           ((5, 5), 0.0), ((5, 5), 1.0), ((9, 9), 0.9)])
def test_prune_mask_equals_l1_unstructured(shape, amount):
    weight = torch.randn(*shape, generator=torch.Generator().manual_seed(len(shape)))
    layer = nn.Linear(1, 1)
    layer.weight = nn.Parameter(weight.clone())
    prune.l1_unstructured(layer, "weight", amount=amount)
    assert torch.equal(deploy.magnitude_prune_mask(weight, amount), layer.weight_mask)
    with pytest.raises(ValueError, match="fraction"):
        deploy.magnitude_prune_mask(weight, 1.5)


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
def test_percentile_equals_numpy(q):
    values = np.random.default_rng(int(q * 10)).exponential(size=101).round(2)  # ties
    assert deploy.percentile(values.tolist(), q) == pytest.approx(float(np.percentile(values, q)), abs=1e-12)
    assert deploy.percentile(torch.tensor(values), q) == pytest.approx(float(np.percentile(values, q)), abs=1e-12)
    assert deploy.percentile([3.5], q) == 3.5


def test_percentile_errors():
    with pytest.raises(ValueError, match="no samples"):
        deploy.percentile([], 50)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        deploy.percentile([1.0], 101)


IMAGE = [[(r * 28 + c) / 783 for c in range(28)] for r in range(28)]


def test_validate_images_accepts_a_batch():
    batch = deploy.validate_images({"images": [IMAGE, [[0, 1] * 14] * 28]})
    assert batch.shape == (2, 1, 28, 28) and batch.dtype == torch.float32
    assert torch.allclose(batch[0, 0], torch.tensor(IMAGE))


@pytest.mark.parametrize("payload, message", [
    ([IMAGE], "JSON object"),
    ({"pictures": [IMAGE]}, "JSON object"),
    ({"images": IMAGE[0][0]}, "list of images"),
    ({"images": []}, "got 0"),
    ({"images": [IMAGE] * 65}, "got 65"),
    ({"images": [IMAGE, IMAGE[:27]]}, r"images\[1\].*27"),
    ({"images": [[row[:27] for row in IMAGE]]}, r"images\[0\] row 0 has 27 values"),
    ({"images": ["x"]}, r"images\[0\].*str"),
    ({"images": [[[True] * 28] * 28]}, r"images\[0\] row 0 holds True"),
    ({"images": [[[None] * 28] * 28]}, r"holds None"),
    ({"images": [[["0.5"] * 28] * 28]}, r"holds '0.5'"),
    ({"images": [[[float("nan")] * 28] * 28]}, r"holds nan"),
    ({"images": [[[-0.1] * 28] * 28]}, r"holds -0.1"),
])
def test_validate_images_says_what_is_wrong(payload, message):
    with pytest.raises(ValueError, match=message):
        deploy.validate_images(payload)


@pytest.mark.slow
def test_onnx_export_runs_in_onnx_runtime_with_a_dynamic_batch(tmp_path):
    from utils import conv

    torch.manual_seed(0)
    model = conv.small_resnet(widths=(8, 16), stem_pool=True).eval()
    path = deploy.export_onnx(model, torch.rand(1, 1, 28, 28), tmp_path / "model.onnx")
    _, run = deploy.onnx_session(path, threads=1)
    for batch in (1, 7):
        x = torch.rand(batch, 1, 28, 28)
        with torch.inference_mode():
            torch.testing.assert_close(run(x), model(x), rtol=0, atol=1e-5)


def test_latencies_times_each_call():
    samples = deploy.latencies(lambda: sum(range(1000)), repeats=5, warmup=1)
    assert len(samples) == 5 and all(0 < s < 1 for s in samples)


# --- utils.serving --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    from utils import conv, serving

    torch.manual_seed(0)
    model = conv.small_resnet(widths=(8, 16), stem_pool=True)
    with TestClient(serving.create_app(model, batching=True, max_batch=8)) as test_client:
        yield test_client, model


def test_the_service_predicts_as_the_model(client):
    test_client, model = client
    answer = test_client.post("/predict", json={"images": [IMAGE, IMAGE]})
    assert answer.status_code == 200
    with torch.inference_mode():
        expected = torch.softmax(model.eval()(torch.tensor([IMAGE, IMAGE]).unsqueeze(1)), dim=1)
    assert torch.allclose(torch.tensor(answer.json()["probabilities"]), expected, atol=1e-6)
    assert answer.json()["classes"] == expected.argmax(1).tolist()
    health = test_client.get("/health").json()
    assert health["status"] == "ok" and health["batching"] is True and health["batches"] >= 1


@pytest.mark.parametrize("body, detail", [
    (b"not json", "not valid JSON"),
    (b'{"images": []}', "1 to 8 images"),
    (b'{"images": [[[0.5]]]}', r"images\[0\] must be a list of 28 rows, got 1"),
])
def test_the_service_answers_bad_requests_with_422_and_the_reason(client, body, detail):
    import re

    answer = client[0].post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422 and re.search(detail, answer.json()["detail"]), answer.text


def test_the_micro_batcher_groups_concurrent_requests_and_splits_answers():
    import asyncio

    from utils import serving

    seen = []

    def predict(batch):
        seen.append(len(batch))
        return batch * 2

    async def scenario():
        batcher = serving.MicroBatcher(predict, max_batch=8, max_wait=0.05)
        task = asyncio.create_task(batcher.run())
        inputs = [torch.full((1, 2), float(i)) for i in range(5)]
        outputs = await asyncio.gather(*(batcher.submit(x) for x in inputs))
        task.cancel()
        return inputs, outputs

    inputs, outputs = asyncio.run(scenario())
    assert seen == [5]  # one batch for five requests that arrived together
    for x, y in zip(inputs, outputs):
        assert torch.equal(y, x * 2)


@pytest.mark.slow
def test_a_real_server_on_loopback_under_load(tmp_path):
    from utils import conv, serving

    torch.manual_seed(0)
    torch.save(conv.small_resnet(stem_pool=True).state_dict(), tmp_path / "weights.pt")
    process, url = serving.start(tmp_path / "weights.pt", batching=True)
    try:
        result = serving.load_test(url, torch.rand(8, 1, 28, 28), clients=4, requests=40)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result["failures"] == 0 and result["p99_ms"] >= result["p50_ms"] > 0 and result["throughput"] > 0
    assert url.startswith("http://127.0.0.1:")
    assert math.isfinite(result["throughput"])


def test_the_tracking_lesson_shows_tensorboards_dashboard():
    """The screenshot scripts/tensorboard_screenshot.py attaches travels in the notebook (the
    release and the book show it without a file beside them)."""
    import base64

    import nbformat

    from dlcourse.notebooks import release_path, solution_path

    for path in (solution_path("08_scale_and_deploy"), release_path("08_scale_and_deploy")):
        cells = [c for c in nbformat.read(path, as_version=4).cells if "attachment:tensorboard.png" in c.source]
        assert len(cells) == 1, path
        picture = base64.b64decode(cells[0]["attachments"]["tensorboard.png"]["image/png"])
        assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 10_000, path
