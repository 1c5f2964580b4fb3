"""Speed and peak memory of the real restoration pipeline (``restore_tensor``) on CPU.

For each size (megapixels, 4:3) a fresh child process builds a random image, warms the model
up on one tile, then times ``restore_tensor`` on the whole image and reports its peak resident
memory (``VmHWM`` from ``/proc/self/status``, else ``getrusage``); the input image counts, file
reading and writing do not (they are timed separately for the 12 MP case: PNG write and read).
Achieved GFLOP/s (the model's FLOPs per pixel from ``FlopCounterMode`` on a 256x256 input,
times the tiled area including overlaps and padding) is printed next to the GFLOP/s of
2048x2048 fp32 matmuls measured in the same run with the same thread count. Not a test; it
never fails on slow numbers, it prints the targets next to them.

Without a shipped model (``--model``, default "restore") a randomly initialised network of the
training architecture (``configs/train/restore.yaml``: ``UNetGenerator(in_channels=4)``, RGB +
defect mask) stands in, with a warning: the speed is the same.

    .venv/bin/python benchmarks/restore_speed.py                      # 1, 12, 48 MP, 2 threads
    .venv/bin/python benchmarks/restore_speed.py --sizes 1,12 --tile 384 --threads 4
    .venv/bin/python benchmarks/restore_speed.py --sizes 48 --gray   # gray scans: gray path
    .venv/bin/python benchmarks/restore_speed.py --scratches   # detector + inpainting path
    .venv/bin/python benchmarks/restore_speed.py --sizes 48 --sepia --monochrome tone  # retone
    .venv/bin/python benchmarks/restore_speed.py --sizes 12 --scratches --image PHOTO.png \
        --damage scratches-only   # a photo with scratches drawn at full size

With ``--scratches`` every image goes through ``scratches="auto"``: the scratch detector runs
tile by tile first, its mask is the restorer's 4th channel; the FLOPs then count both networks
and the 12 MP target is 60 s. Random noise is the worst case there: the detector finds
specks all over it, so the inpainting pass restores the whole photo (on a photo it restores
only the 256 px squares that hold damage); ``--image`` times a photo instead (stretched:
a small scan's scratches grow with it, so ``--damage`` draws fresh ones at full size).

Each row names the route the photo took (the router's expert; "fused" when a print gets the
print expert's tone at reduced size and the digital expert's detail, ``--fusion auto``); the
FLOPs count what that route runs (fused: the detail expert plus the print expert times the
scale squared).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from daguerre.errors import CheckpointNotFoundError
from daguerre.infer import plan_tiles, set_threads

ASPECT = 4 / 3  # width / height, like most photo scans
FLOP_SIDE = 256  # FLOPs are counted on one 256x256 input, then scaled per pixel
TARGET_SECONDS = (12.0, 30.0)  # 12 MP in under 30 s
TARGET_SCRATCH_SECONDS = 60.0  # with --scratches: detection + inpainting, 12 MP in under 60 s
TARGET_RSS = (48.0, 3e9)  # 48 MP within 3 GB peak RSS
SEPIA = (1.0, 0.82, 0.58)  # --sepia: the tint of a toned print (RGB gains on gray)
IO_SIZE = 12.0  # megapixels of the case whose PNG write/read is timed


def image_size(megapixels: float) -> tuple[int, int]:
    """(height, width) of a 4:3 image with about ``megapixels`` million pixels."""
    height = round((megapixels * 1e6 / ASPECT) ** 0.5)
    return height, round(height * ASPECT)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process: VmHWM on Linux, else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


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


# --- the model ------------------------------------------------------------------------------


def resolve_model(name: str, scratch: Path) -> tuple[str, str]:
    """A loadable model folder or name, and a description; falls back to a random network."""
    from daguerre.weights import model_dir

    try:
        return str(model_dir(name)), f"{name} ({model_dir(name)})"
    except CheckpointNotFoundError:
        pass
    from daguerre.nn.generators.unet import UNetGenerator
    from daguerre.weights.checkpoint import ModelConfig, save_model

    kwargs: dict[str, Any] = {"in_channels": 4}  # training config: RGB + defect mask
    net = UNetGenerator(**kwargs)
    config = ModelConfig("unet", kwargs, pad_multiple=2**5, extra={"mask_channel": True})
    folder = save_model(scratch / "random-unet", net, config)
    print(
        f"WARNING: model '{name}' not found; timing a randomly initialised "
        "UNetGenerator(in_channels=4) instead (same architecture, same speed)",
        flush=True,
    )
    return str(folder), "random UNetGenerator(in_channels=4) [no shipped model]"


@functools.lru_cache(maxsize=8)
def flops_per_pixel(model: str, *, scratches: bool = False) -> tuple[float, int]:
    """The model's FLOPs per input pixel (FlopCounterMode, 256x256) and its pad multiple.

    With ``scratches`` the shipped detector's FLOPs per pixel are added.
    """
    if scratches:
        restore, pad_multiple = flops_per_pixel(model)
        return restore + detector_flops_per_pixel(), pad_multiple
    from torch.utils.flop_counter import FlopCounterMode

    from daguerre.weights import load_model

    net, config = load_model(model)
    channels = int(config.kwargs.get("in_channels", 3))
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        net(torch.zeros(1, channels, FLOP_SIDE, FLOP_SIDE))
    return counter.get_total_flops() / FLOP_SIDE**2, config.pad_multiple


def route_flops_per_pixel(row: dict[str, Any], *, scratches: bool) -> float:
    """FLOPs per pixel of the route a child reported (see the module docstring)."""
    cost = flops_per_pixel(str(row["route"]))[0]
    if row.get("detail"):
        cost = flops_per_pixel(str(row["detail"]))[0] + cost * float(row["scale"]) ** 2
    return cost + (detector_flops_per_pixel() if scratches else 0.0)


def detector_flops_per_pixel() -> float:
    """The shipped detector's FLOPs per photo pixel: its own times the sum of its scales²."""
    from daguerre.pipelines.scratches import load_detector

    scales = load_detector("scratch", "cpu").scales
    return flops_per_pixel("scratch")[0] * sum(s * s for s in scales)


def tiled_pixels(height: int, width: int, tile: int, overlap: int, pad_multiple: int) -> int:
    """Pixels the network actually processes: every tile, overlaps and padding included."""

    def padded(n: int) -> int:
        return -(-n // pad_multiple) * pad_multiple

    tiles = plan_tiles(height, width, tile=tile, overlap=overlap)
    return sum(padded(t.y1 - t.y0) * padded(t.x1 - t.x0) for t in tiles)


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best fp32 matmul throughput in GFLOP/s with the current thread count."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(size, size, generator=gen), torch.rand(size, size, generator=gen)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# --- one size, in a child process -----------------------------------------------------------


def io_seconds(img: torch.Tensor) -> dict[str, float]:
    """Time writing ``img`` as an 8-bit PNG and reading it back (not part of the pipeline)."""
    from daguerre.io.image import read_image, write_image

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "restored.png"
        start = time.perf_counter()
        write_image(path, img)
        written = time.perf_counter()
        read_image(path)
        done = time.perf_counter()
        size = path.stat().st_size
    return {"write_s": written - start, "read_s": done - written, "png_mb": size / 1e6}


def measure(args: argparse.Namespace) -> dict[str, object]:
    """Restore one random image of ``args.child`` megapixels; seconds and peak RSS."""
    from daguerre.pipelines.restore import (
        RestoreOptions,
        expert_names,
        load_restorer,
        restore_tensor,
    )

    set_threads(args.threads)
    height, width = image_size(args.child)
    options = RestoreOptions(
        model=args.model, tile=args.tile, overlap=args.overlap, device="cpu",
        precision=args.precision,
        scratches="auto" if args.scratches else "off", monochrome=args.monochrome,
        ensemble=args.ensemble, fusion=args.fusion,
    )  # fmt: skip
    img = (
        photo(args.image, height, width)
        if args.image
        else torch.rand(
            1 if args.gray else 3, height, width, generator=torch.Generator().manual_seed(0)
        )
    )
    img = img.expand(3, -1, -1).contiguous() if args.gray else img  # gray: the to_gray path
    if args.damage:  # drawn at full size, so scratches are as thin as on a real 12 MP scan
        from daguerre.degrade.chain import run
        from daguerre.degrade.presets import build_preset

        drawn = run(build_preset(args.damage), img[None], torch.Generator().manual_seed(0))
        img = drawn.image[0]
    if args.sepia:  # a toned print: the monochrome check flags it (the retone path with "tone")
        img = img.mean(dim=0, keepdim=True) * torch.tensor(SEPIA).view(3, 1, 1)
    side = args.tile or 512
    restore_tensor(img[:, :side, :side].clone(), options)  # load the model, pick kernels
    start = time.perf_counter()
    out = restore_tensor(img, options)
    seconds = time.perf_counter() - start
    row: dict[str, object] = {"size": [height, width], "seconds": seconds}
    restorer = load_restorer(options)
    row["route"] = expert_names(restorer, img[None])[0]
    fusion, detail = restorer.fusion, restorer.detail_expert
    if row["route"] == args.model and fusion is not None and detail is not None:
        row["detail"] = detail.name
        row["scale"] = fusion.scale
    row["rss_bytes"] = peak_rss_bytes()  # before any file I/O
    if args.io:
        del img
        row |= io_seconds(out)
    return row


def photo(path: str, height: int, width: int) -> torch.Tensor:
    """The photo at ``path`` as ``(3,height,width)`` float32 [0, 1] (turned to the same
    orientation, then stretched bilinearly)."""
    import torch.nn.functional as F

    from daguerre.io.image import read_image

    rgb = read_image(Path(path)).rgb
    if (rgb.shape[1] > rgb.shape[2]) != (height > width):
        rgb = rgb.transpose(1, 2)
    return F.interpolate(rgb[None], size=(height, width), mode="bilinear", antialias=True)[0]


def run_child(args: argparse.Namespace, megapixels: float, model: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(megapixels), "--model", model]
    command += ["--tile", str(args.tile), "--overlap", str(args.overlap)]
    command += ["--threads", str(args.threads)] + (["--io"] if megapixels == IO_SIZE else [])
    command += ["--gray"] if args.gray else []
    command += ["--sepia"] if args.sepia else []
    command += ["--monochrome", args.monochrome]
    command += ["--scratches"] if args.scratches else []
    command += ["--ensemble", str(args.ensemble), "--precision", args.precision]
    command += ["--fusion", args.fusion]
    command += ["--image", args.image] if args.image else []
    command += ["--damage", args.damage] if args.damage else []
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{megapixels} MP child failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- report ---------------------------------------------------------------------------------


def _target(megapixels: float, seconds: float, rss: float, *, scratches: bool = False) -> str:
    if megapixels == TARGET_SECONDS[0]:
        limit = TARGET_SCRATCH_SECONDS if scratches else TARGET_SECONDS[1]
        ok = "OK" if seconds < limit else "MISS"
        return f"{megapixels:g} MP < {limit:g} s: {ok}"
    if megapixels == TARGET_RSS[0]:
        ok = "OK" if rss < TARGET_RSS[1] else "MISS"
        return f"{megapixels:g} MP < {TARGET_RSS[1] / 1e9:g} GB peak RSS: {ok}"
    return ""


def _precision_note(precision: str) -> str:
    """What ``--precision`` resolves to on this CPU (the restorer's rule)."""
    from daguerre.infer.device import cpu_has_fast_bf16, resolve_precision

    dtype = resolve_precision("cpu", precision, bf16_where_fast=True)
    name = "float32" if dtype is None else str(dtype).removeprefix("torch.")
    return f"{name} autocast (CPU native bf16: {'yes' if cpu_has_fast_bf16() else 'no'})"


def report(args: argparse.Namespace, model: str, description: str) -> None:
    set_threads(args.threads)
    per_pixel, pad_multiple = flops_per_pixel(model, scratches=args.scratches)
    matmul = matmul_gflops()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}  git {git_sha()}  CPU threads {args.threads}  load {load}")
    print(
        f"model: {description}"
        + ("  + scratch detector (--scratches auto)" if args.scratches else "")
    )
    print(f"cost of the model alone: {per_pixel / 1e3:.1f} kFLOP/px ({FLOP_SIDE}x{FLOP_SIDE} "
          "FlopCounterMode); each row gives its route's")  # fmt: skip
    kind = "gray (R=G=B)" if args.gray else "sepia-toned" if args.sepia else "colour"
    kind += f", --monochrome {args.monochrome}, --ensemble {args.ensemble}"
    print(f"tile {args.tile}, overlap {args.overlap}, pad multiple {pad_multiple}; {kind} images")
    print(f"precision {args.precision}: {_precision_note(args.precision)}")
    print(f"matmul 2048x2048 fp32: {matmul:.1f} GFLOP/s\n")
    print(f"{'MP':>4} {'size':>11} {'tiles':>5} {'tiledMP':>7} {'s':>7} {'MP/s':>6} "
          f"{'GFLOP/s':>7} {'%matmul':>7} {'peakMB':>7}  target")  # fmt: skip
    io_line = ""
    for megapixels in args.sizes:
        row = run_child(args, megapixels, model)
        height, width = (int(side) for side in row["size"])
        seconds, rss = float(row["seconds"]), float(row["rss_bytes"])
        tiles = len(plan_tiles(height, width, tile=args.tile, overlap=args.overlap))
        work = tiled_pixels(height, width, args.tile, args.overlap, pad_multiple) * args.ensemble
        route_cost = route_flops_per_pixel(row, scratches=args.scratches)
        gflops = route_cost * work / seconds / 1e9
        size = f"{height}x{width}"
        print(
            f"{megapixels:>4g} {size:>11} {tiles:>5} {work / 1e6:>7.1f} {seconds:>7.1f} "
            f"{height * width / 1e6 / seconds:>6.2f} {gflops:>7.1f} {100 * gflops / matmul:>6.0f}% "
            f"{rss / 1e6:>7.0f}  {_target(megapixels, seconds, rss, scratches=args.scratches)}"
        )
        print(f"     route: {_route_name(row)}, {route_cost / 1e3:.1f} kFLOP/px")
        if "write_s" in row:
            io_line = (
                f"{megapixels:g} MP file I/O (not included above): write 8-bit PNG "
                f"{row['write_s']:.1f} s ({row['png_mb']:.1f} MB), read back {row['read_s']:.1f} s"
            )
    if io_line:
        print(io_line)


def _route_name(row: dict[str, Any]) -> str:
    name = Path(str(row["route"])).name
    return (
        f"fused ({name} tone at x{row['scale']:g} + {row['detail']} detail)"
        if row.get("detail")
        else name
    )


def _sizes(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[1.0, 12.0, 48.0], help="MP, e.g. 1,12")
    parser.add_argument("--model", default="restore", help="shipped model name or folder")
    parser.add_argument("--tile", type=int, default=512, help="tile side (0 = whole image)")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gray", action="store_true", help="gray photos (R=G=B), as most scans")
    parser.add_argument("--sepia", action="store_true", help="sepia-toned prints")
    parser.add_argument("--monochrome", default="auto", choices=["auto", "tone", "off"])
    parser.add_argument("--scratches", action="store_true", help="detect + inpaint defects too")
    parser.add_argument("--ensemble", type=int, default=1, choices=[1, 2, 4, 8],
                        help="flipped copies averaged (RestoreOptions.ensemble)")  # fmt: skip
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="RestoreOptions.precision (auto: bf16 on bf16 CPUs)")  # fmt: skip
    parser.add_argument("--fusion", default="auto", choices=["auto", "off"],
                        help="RestoreOptions.fusion (print tone + digital detail)")  # fmt: skip
    parser.add_argument("--image", help="time this photo (stretched to each size), not noise")
    parser.add_argument("--damage", help="draw this preset on it first, e.g. scratches-only")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--io", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        model, description = resolve_model(args.model, Path(scratch))
        report(args, model, description)


if __name__ == "__main__":
    main()
