"""Widen a trained scratch detector without changing what it computes (Net2WiderNet).

See :mod:`daguerre.train.widen`. The output folder holds ``model.safetensors`` and
``config.json``, ready for ``init:`` in a ``daguerre train scratch`` config whose
``model.kwargs`` match the printed ones.

Usage: python scripts/widen_detector.py --base 24 --out runs/scratch-wide24-init [--model scratch]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from daguerre.nn.factory import build_generator
from daguerre.train.widen import scratch_level_widths, widen_scratch_state
from daguerre.weights import model_dir
from daguerre.weights.checkpoint import load_model, read_config, save_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="scratch")
    parser.add_argument("--base", type=int, required=True)
    parser.add_argument("--max-channels", type=int)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    folder = model_dir(args.model)
    config = read_config(folder)
    net, _ = load_model(folder)
    wide = {**config.kwargs, "base_channels": args.base}
    if args.max_channels:
        wide["max_channels"] = args.max_channels
    old, new = scratch_level_widths(config.kwargs), scratch_level_widths(wide)
    gen = torch.Generator().manual_seed(args.seed)
    state = widen_scratch_state(net.state_dict(), old, new, gen, noise=args.noise)
    wider = build_generator(config.arch, wide).eval()
    wider.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        change = float((wider(x) - net(x)).abs().max())
    print(f"widths {old} -> {new}; max logit change on a random image {change:.4f}")
    save_model(args.out, wider, dataclasses.replace(config, kwargs=wide, dtype="float32"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
