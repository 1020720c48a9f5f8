"""Chapter 08: a model behind HTTP, one request at a time or micro-batched, and a load test.

The service is FastAPI on uvicorn: FastAPI validates nothing the course does not control (the
body is read as plain JSON and checked by :func:`utils.deploy.validate_images`, whose message
becomes the 422 answer), gives the health check and OpenAPI docs for free, and runs on asyncio,
which is what micro-batching needs: requests that arrive while the model is busy wait in a queue
and go through the model together.

- ``POST /predict`` ``{"images": [[[...28 numbers...] x 28], ...]}`` -> ``{"classes": [...],
  "probabilities": [[...10...], ...]}``; 422 with ``{"detail": "<what is wrong>"}`` otherwise.
- ``GET /health`` -> ``{"status": "ok", "batching": bool, "batches": n, "requests": n}``.

Run it: ``python -m utils.serving --weights model.pt --port 8000 [--no-batching]``;
:func:`start` does that in a subprocess and waits for the health check, :func:`load_test` sends
concurrent requests and measures latency and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from utils import deploy

__all__ = ["MicroBatcher", "create_app", "start", "load_test", "main"]


class MicroBatcher:
    """Collects the requests that arrive within ``max_wait`` seconds of the first (at most
    ``max_batch`` images) and runs them through ``predict`` as one batch. While the model computes
    (in a worker thread when ``thread`` is true, else on the event loop itself), new requests wait
    in the queue, or in the sockets, and form the next batch."""

    def __init__(self, predict, max_batch: int = 64, max_wait: float = 0.002, thread: bool = False):
        self.predict, self.max_batch, self.max_wait, self.thread = predict, max_batch, max_wait, thread
        self.queue: asyncio.Queue = asyncio.Queue()
        self.batches = 0

    async def submit(self, images: torch.Tensor) -> torch.Tensor:
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((images, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            waiting = [await self.queue.get()]
            if self.max_wait > 0:
                await asyncio.sleep(self.max_wait)  # let the event loop read the requests that are arriving
            count = len(waiting[0][0])
            while count < self.max_batch and not self.queue.empty():
                waiting.append(self.queue.get_nowait())
                count += len(waiting[-1][0])
            batch = torch.cat([images for images, _ in waiting])
            try:
                if self.thread:
                    outputs = await loop.run_in_executor(None, self.predict, batch)
                else:
                    outputs = self.predict(batch)
            except Exception as error:  # every waiting request learns of it
                for _, future in waiting:
                    future.set_exception(error)
                continue
            self.batches += 1
            start = 0
            for images, future in waiting:
                future.set_result(outputs[start:start + len(images)])
                start += len(images)


def create_app(model: torch.nn.Module, batching: bool = True, max_batch: int = 64, max_wait: float = 0.002):
    """The FastAPI application serving ``model`` (a classifier of 1x28x28 images, eval mode)."""
    model.eval()

    def predict(images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.softmax(model(images), dim=1)

    state = {"requests": 0, "batcher": None}

    @asynccontextmanager
    async def lifespan(app):
        task = None
        if batching:
            state["batcher"] = MicroBatcher(predict, max_batch, max_wait)
            task = asyncio.create_task(state["batcher"].run())
        yield
        if task:
            task.cancel()

    app = FastAPI(title="Fashion-MNIST classifier (chapter 08)", lifespan=lifespan)

    @app.get("/health")
    async def health():
        batcher = state["batcher"]
        return {"status": "ok", "batching": batching, "requests": state["requests"],
                "batches": batcher.batches if batcher else state["requests"]}

    @app.post("/predict")
    async def predict_endpoint(request: Request):
        try:
            payload = json.loads(await request.body())
            images = deploy.validate_images(payload, max_batch=max_batch)
        except json.JSONDecodeError as error:
            return JSONResponse({"detail": f"the request body is not valid JSON: {error}"}, status_code=422)
        except ValueError as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        state["requests"] += 1
        if batching:
            probabilities = await state["batcher"].submit(images)
        else:
            probabilities = predict(images)  # blocks the event loop: one request at a time
        return {"classes": probabilities.argmax(dim=1).tolist(), "probabilities": probabilities.tolist()}

    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(weights: str | Path, batching: bool = True, threads: int = 1, timeout: float = 60):
    """Start the service on a free loopback port in a subprocess; returns ``(process, url)`` once
    ``/health`` answers. Stop it with ``process.terminate()``."""
    import httpx

    port = _free_port()
    command = [sys.executable, "-m", "utils.serving", "--weights", str(weights), "--port", str(port),
               "--threads", str(threads)] + ([] if batching else ["--no-batching"])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode}:\n{process.stderr.read()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the service did not answer {url}/health within {timeout} s")


def load_test(url: str, images: torch.Tensor, clients: int = 16, requests: int = 400,
              path: str = "/predict") -> dict[str, float]:
    """``clients`` concurrent clients send ``requests`` single-image requests in all (each client
    sends its next request when its previous one is answered: a closed loop). Returns p50 and p99
    latency in ms, throughput in requests per second, and the number of failed requests.
    ``path="/health"``: GET requests that do no work, the ceiling of the HTTP machinery itself."""
    import httpx

    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be (N, 1, H, W), got {tuple(images.shape)}")
    # one image per request, encoded once: the clients share this process's core with the event loop
    bodies = [json.dumps({"images": [image[0].tolist()]}).encode() for image in images[:64]]
    headers = {"content-type": "application/json"}

    async def run() -> tuple[list[float], int, float]:
        seconds, failures, counter = [], 0, iter(range(requests))
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            async def one_client():
                nonlocal failures
                for index in counter:
                    start = time.perf_counter()
                    if path == "/predict":
                        answer = await client.post(path, content=bodies[index % len(bodies)], headers=headers)
                    else:
                        answer = await client.get(path)
                    seconds.append(time.perf_counter() - start)
                    failures += answer.status_code != 200
            start = time.perf_counter()
            await asyncio.gather(*(one_client() for _ in range(clients)))
            return seconds, failures, time.perf_counter() - start

    # a thread of its own: in Jupyter this thread's event loop is already running the kernel
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        seconds, failures, wall = pool.submit(asyncio.run, run()).result()
    return {"p50_ms": deploy.percentile(seconds, 50) * 1e3, "p99_ms": deploy.percentile(seconds, 99) * 1e3,
            "throughput": len(seconds) / wall, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.serving", description="serve a chapter 04 ResNet over HTTP")
    parser.add_argument("--weights", type=Path, required=True, help="a state_dict of utils.conv.small_resnet(stem_pool=True)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default): this machine only")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the model")
    parser.add_argument("--no-batching", dest="batching", action="store_false")
    parser.add_argument("--max-batch", type=int, default=64)
    args = parser.parse_args(argv)
    import uvicorn

    from utils import conv

    torch.set_num_threads(args.threads)
    model = conv.small_resnet(stem_pool=True)  # chapter 04's ResNet
    model.load_state_dict(torch.load(args.weights, weights_only=True))
    app = create_app(model, batching=args.batching, max_batch=args.max_batch)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
