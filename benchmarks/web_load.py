"""Load check of the web page: N concurrent restore requests of a 1 MP photo on loopback.

Usage::

    .venv/bin/python benchmarks/web_load.py [--requests 20] [--model restore] [--side 1000]

Starts ``daguerre serve`` on 127.0.0.1 (a tiny untrained model unless ``--model`` loads), then
sends ``--requests`` uploads at once, each from its own ``gradio_client`` session (like separate
browser tabs). Every answer must be a download of the same pixel size; none may be lost.
Prints the total wall time, per-request latency, the server's peak resident memory (VmHWM)
and the environment. Bounded: each request has a timeout and the run stops by itself.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from daguerre.web.devserver import ServerProcess, tiny_model
from daguerre.web.restore_jobs import model_problem

REQUEST_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    seconds: float
    detail: str


def make_photo(path: Path, side: int) -> Path:
    """A side x side JPEG with photo-like smooth structure (about 1 MP for side 1000)."""
    rng = np.random.default_rng(0)
    coarse = (rng.random((side // 16, side // 16, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC)
    image.save(path, quality=90)
    return path


def one_request(url: str, photo: Path, expected: tuple[int, int]) -> Outcome:
    """Upload ``photo`` from a fresh client session, restore it, check the download's size."""
    from gradio_client import Client, handle_file

    start = time.perf_counter()
    try:
        client = Client(url, verbose=False)
        job = client.submit([handle_file(str(photo))], 1.0, api_name="/restore")
        result = job.result(timeout=REQUEST_TIMEOUT_S)
        downloads = result[1] or []
        if len(downloads) != 1:
            return Outcome(False, time.perf_counter() - start, f"no download: {result[2]!r}")
        with Image.open(downloads[0]) as restored:
            size = restored.size
        ok = size == expected
        return Outcome(ok, time.perf_counter() - start, f"size {size}")
    except Exception as err:  # noqa: BLE001  # a benchmark reports every failure, never stops
        return Outcome(False, time.perf_counter() - start, f"{type(err).__name__}: {err}")


def git_sha() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--side", type=int, default=1000, help="photo side in pixels")
    parser.add_argument("--model", default="restore")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = args.model
        if model_problem(model) is not None:
            model = str(tiny_model(folder / "tiny-model"))
            print(f"model: '{args.model}' unavailable, using a tiny untrained U-Net")
        photo = make_photo(folder / "photo.jpg", args.side)
        with ServerProcess(model=model) as server:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                futures = [
                    pool.submit(one_request, server.url, photo, (args.side, args.side))
                    for _ in range(args.requests)
                ]
                outcomes = [f.result() for f in futures]
            total = time.perf_counter() - start
            peak_mb = server.peak_memory_mb()
            alive = server.alive()
        server.close()
    report(args, outcomes, total, peak_mb, alive)


def report(
    args: argparse.Namespace,
    outcomes: list[Outcome],
    total: float,
    peak_mb: float,
    alive: bool,
) -> None:
    ok = [o for o in outcomes if o.ok]
    latencies = sorted(o.seconds for o in outcomes)
    print(f"requests: {len(outcomes)} concurrent, {args.side}x{args.side} JPEG, restore")
    print(f"answered correctly (same size download): {len(ok)}/{len(outcomes)}")
    print(f"lost or wrong: {len(outcomes) - len(ok)}")
    for outcome in outcomes:
        if not outcome.ok:
            print(f"  failure: {outcome.detail}")
    print(f"total wall time: {total:.1f} s ({len(outcomes) / total:.2f} requests/s)")
    print(
        f"latency s: min {latencies[0]:.1f}, median {statistics.median(latencies):.1f}, "
        f"max {latencies[-1]:.1f}"
    )
    print(f"server peak memory (VmHWM): {peak_mb:.0f} MiB; server alive after: {alive}")
    print(
        f"env: torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"python {platform.python_version()}, git {git_sha()}"
    )


if __name__ == "__main__":
    main()
