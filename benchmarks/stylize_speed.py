"""Speed and peak memory of ``stylize_tensor`` with a shipped style, on CPU (or a GPU).

For each size (megapixels, 4:3) a fresh child process builds a random image, warms the style
network up on one tile, then times ``stylize_tensor`` on the whole image (tiled, blended, with the
normalisation statistics of the whole image) and reports seconds per megapixel and peak RSS.
The network's FLOPs per pixel (``FlopCounterMode``, 256x256) give the achieved GFLOP/s, printed
next to a 2048x2048 fp32 matmul rate measured in the same run. Not a test; it prints the target
(under 2 s per megapixel on 2 CPU cores) next to the numbers.

Without an installed style a randomly initialised network of the style training architecture
(``configs/train/style.yaml``) stands in, with a warning: the speed is the same.

    .venv/bin/python benchmarks/stylize_speed.py                        # 1 and 12 MP, 2 threads
    .venv/bin/python benchmarks/stylize_speed.py --style starry_night --sizes 1 --device cuda
    .venv/bin/python benchmarks/stylize_speed.py --style ../shared/data/styles/udnie.jpg  # AdaIN
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from restore_speed import git_sha, image_size, matmul_gflops, peak_rss_bytes

TARGET_S_PER_MP = 2.0
STYLE_KWARGS: dict[str, Any] = {  # configs/train/style.yaml
    "base_channels": 32,
    "downsamplings": 2,
    "blocks": 6,
    "max_channels": 128,
    "residual": True,
}


def resolve_style(name: str | None, scratch: Path) -> tuple[str, str]:
    """A style model folder (or a painting: AdaIN mode) and a description.

    A random network of the style architecture stands in when nothing is installed.
    """
    from daguerre.pipelines.stylize import installed_styles

    if name is not None and Path(name).is_file():
        return name, f"AdaIN (shipped decoder) with the painting {Path(name).name}"

    styles = {s.name: s.folder for s in installed_styles()}
    if name in styles or (name is None and styles):
        chosen = name or sorted(styles)[0]
        return str(styles[chosen]), chosen
    from daguerre.nn.factory import build_generator
    from daguerre.weights.checkpoint import ModelConfig, save_model

    net = build_generator("resnet", STYLE_KWARGS)
    folder = save_model(
        scratch / "random-style",
        net,
        ModelConfig("resnet", STYLE_KWARGS, kind="style", pad_multiple=4),
    )
    print(
        f"WARNING: style '{name}' not installed; timing a random network of the same architecture"
    )
    return str(folder), "random resnet (style.yaml architecture)"


def flops_per_pixel(folder: str) -> float:
    """Forward FLOPs per pixel on a 256x256 input (AdaIN: the content path; the painting's
    statistics are computed once per image, from a 512 px copy, and are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    from daguerre.pipelines.stylize import adain_folder
    from daguerre.weights.checkpoint import load_model

    adain = Path(folder).is_file()
    net, _ = load_model(adain_folder() if adain else folder)  # type: ignore[arg-type]
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        x = torch.zeros(1, 3, 256, 256)
        if adain:
            stats = net.stats(x)  # type: ignore[operator]
            net.transfer(x, stats, stats)  # type: ignore[operator]
        else:
            net(x)
    total = counter.get_total_flops()
    if adain:  # net.stats ran the encoder once more: take it out
        counter = FlopCounterMode(display=False)
        with torch.inference_mode(), counter:
            net.stats(torch.zeros(1, 3, 256, 256))  # type: ignore[operator]
        total -= counter.get_total_flops()
    return total / 256**2


def measure(args: argparse.Namespace) -> dict[str, object]:
    from daguerre.infer import set_threads
    from daguerre.pipelines.stylize import StylizeOptions, stylize_tensor

    set_threads(args.threads)
    height, width = image_size(args.child)
    options = StylizeOptions(
        style=args.style, tile=args.tile, overlap=args.overlap, device=args.device
    )
    img = torch.rand(3, height, width, generator=torch.Generator().manual_seed(0))
    stylize_tensor(img[:, :512, :512].clone(), options)  # load, pick kernels
    if options.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    stylize_tensor(img, options)
    if options.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"size": [height, width], "seconds": seconds, "rss_bytes": peak_rss_bytes()}


def run_child(args: argparse.Namespace, megapixels: float, style: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(megapixels), "--style", style]
    for flag, value in (("--tile", args.tile), ("--overlap", args.overlap)):
        command += [flag, str(value)] if value is not None else []
    command += ["--threads", str(args.threads), "--device", args.device]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{megapixels} MP child failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", help="installed style name (default: the first installed)")
    parser.add_argument("--sizes", default="1,12", help="comma-separated megapixels")
    parser.add_argument("--tile", type=int, help="default: the pipeline's for the mode")
    parser.add_argument("--overlap", type=int, help="default: the pipeline's for the mode")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args)))
        return
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        folder, label = resolve_style(args.style, Path(scratch))
        per_pixel = flops_per_pixel(folder)
        matmul = matmul_gflops()
        print(
            f"git {git_sha()}, style {label}, device {args.device}, threads {args.threads}, "
            f"tile {'default' if args.tile is None else args.tile}, "
            f"overlap {'default' if args.overlap is None else args.overlap}"
        )
        print(
            f"model: {per_pixel * 1e6 / 1e9:.1f} GFLOP per megapixel; "
            f"fp32 matmul {matmul:.1f} GFLOP/s"
        )
        for megapixels in (float(s) for s in args.sizes.split(",")):
            row = run_child(args, megapixels, folder)
            h, w = row["size"]
            per_mp = row["seconds"] / (h * w / 1e6)
            achieved = per_pixel * h * w / row["seconds"] / 1e9
            ok = "OK" if per_mp < TARGET_S_PER_MP else "MISS"
            print(
                f"{megapixels:5.1f} MP ({w}x{h}): {row['seconds']:.2f} s, {per_mp:.2f} s/MP "
                f"[target < {TARGET_S_PER_MP} s/MP: {ok}], peak RSS "
                f"{row['rss_bytes'] / 2**20:.0f} MiB, ~{achieved:.0f} GFLOP/s achieved"
            )


if __name__ == "__main__":
    main()
