"""Tiled-inference throughput and peak memory for a small conv net at several image sizes.

Prints megapixels/s and peak resident memory (``resource.getrusage``) per image size, plus
device, torch version and git sha. Each size runs in a fresh child process so the peak RSS
belongs to that size alone. Not a test; it never fails on slow numbers.

    .venv/bin/python benchmarks/tiling.py                       # 1, 4, 12 MP on CPU, 2 threads
    .venv/bin/python benchmarks/tiling.py --sizes 1 --device auto --precision auto
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from daguerre.infer import TileConfig, plan_tiles, run_tiled
from daguerre.infer.device import resolve_device, resolve_precision, set_threads

ASPECT = 4 / 3  # width / height, like most photo scans


def small_net(width: int) -> nn.Module:
    """Three 3x3 convs (receptive-field radius 3), roughly a tiny restoration head."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 3, 3, padding=1),
    ).eval()


def image_size(megapixels: float) -> tuple[int, int]:
    height = round((megapixels * 1e6 / ASPECT) ** 0.5)
    return height, round(height * ASPECT)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def git_sha() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def measure(args: argparse.Namespace) -> dict[str, float | int | str]:
    """Run one size in this process and return its numbers."""
    set_threads(args.threads)
    device = resolve_device(args.device)
    dtype = resolve_precision(device, args.precision)
    net = small_net(args.width).to(device)
    cfg = TileConfig(tile=args.tile, overlap=args.overlap, min_tile=max(args.overlap + 1, 64))
    height, width = image_size(args.child)
    img = torch.rand(1, 3, height, width, generator=torch.Generator("cpu").manual_seed(0))
    side = args.tile or max(height, width)
    warm = img[:, :, :side, :side]  # one tile of the real size: kernels are picked per shape
    run_tiled(net, warm, cfg, autocast_dtype=dtype, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    run_tiled(net, img, cfg, autocast_dtype=dtype, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    gpu_mib = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0
    return {
        "size": f"{height}x{width}",
        "tiles": len(plan_tiles(height, width, tile=args.tile, overlap=args.overlap)),
        "seconds": seconds,
        "mp_per_s": height * width / 1e6 / seconds,
        "rss_mib": peak_rss_mib(),
        "gpu_mib": gpu_mib,
        "device": str(device),
        "dtype": str(dtype or torch.float32).removeprefix("torch."),
    }


def run_child(args: argparse.Namespace, megapixels: float) -> dict[str, float | int | str]:
    command = [sys.executable, __file__, "--child", str(megapixels)]
    for name in ("tile", "overlap", "threads", "width", "device", "precision"):
        command += [f"--{name}", str(getattr(args, name))]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 12], help="megapixels")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=16, help="conv channels")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", default="fp32", help="auto, fp32, fp16, bf16")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args)))
        return
    print(f"torch {torch.__version__}  git {git_sha()}  threads {args.threads}")
    print(f"net: 3 convs, width {args.width}; tile {args.tile}, overlap {args.overlap}")
    header = (
        f"{'MP':>5} {'size':>11} {'tiles':>5} {'s':>7} {'MP/s':>7} {'RSS MiB':>8} {'GPU MiB':>8}"
    )
    for megapixels in args.sizes:
        row = run_child(args, megapixels)
        if header:
            print(f"device {row['device']}  dtype {row['dtype']}\n{header}")
            header = ""
        print(
            f"{megapixels:>5g} {row['size']:>11} {row['tiles']:>5} {row['seconds']:>7.2f} "
            f"{row['mp_per_s']:>7.2f} {row['rss_mib']:>8.0f} {row['gpu_mib']:>8.0f}"
        )


if __name__ == "__main__":
    main()
