"""Shipped outputs stay put: restore, detect and stylize a fixed set of small images.

The reference outputs in ``tests/data/golden_outputs.npz`` were made by the code at the
commit that added this file, in fp32. A refactor must reproduce them within float
tolerance; a change that is meant to move them (a retrained model, a new stage) rewrites
them with ``python -m tests.test_outputs_unchanged --write`` in the same commit and says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

GOLDEN = Path(__file__).parent / "data" / "golden_outputs.npz"
TOLERANCE = 2e-3  # max abs difference in [0, 1]: float reordering, not a changed result


def _photo(seed: int, height: int, width: int, toned: bool = False) -> torch.Tensor:
    """A small, fixed, photo-like image: smooth colour fields, a few edges, grain."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 4, 5, generator=gen)
    img = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic")[0]
    img[:, height // 3 : height // 2, width // 4 : width // 2] = 0.85  # a bright patch
    img[:, :, (2 * width) // 3] = 0.1  # a dark line
    img = img + 0.03 * torch.randn(3, height, width, generator=gen)
    if toned:  # a sepia print: colour a function of brightness
        luma = img.mean(0, keepdim=True)
        img = torch.cat([luma**0.9, 0.93 * luma, 0.78 * luma**1.2])
    return img.clamp(0.0, 1.0).float()


def _painting() -> torch.Tensor:
    """A fixed stand-in for a painting: strong diagonal strokes of two colours."""
    y, x = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    stripes = (torch.sin((x + y) / 3.0) > 0).float()
    return torch.stack([0.2 + 0.6 * stripes, 0.3 + 0.2 * stripes, 0.8 - 0.5 * stripes])


def _cases() -> dict[str, Callable[[], torch.Tensor]]:
    from daguerre.pipelines.restore import RestoreOptions, restore_tensor
    from daguerre.pipelines.scratches import DetectOptions, detect_defects
    from daguerre.pipelines.stylize import StylizeOptions, stylize_tensor

    colour, toned = _photo(1, 72, 96), _photo(2, 80, 64, toned=True)
    fp32 = RestoreOptions(precision="fp32", device="cpu")

    def restore(img: torch.Tensor, **kw: object) -> Callable[[], torch.Tensor]:
        from dataclasses import replace

        return lambda: restore_tensor(img, replace(fp32, **kw))  # type: ignore[arg-type]

    return {
        "restore_colour": restore(colour),
        "restore_toned": restore(toned),
        "restore_scratches": restore(colour, scratches="auto"),
        "restore_digital_no_grade": restore(colour, photo_type="digital", grade="off"),
        "restore_tone_kept": restore(toned, monochrome="tone"),
        "detect": lambda: detect_defects(colour, DetectOptions(precision="fp32", device="cpu")),
        "stylize_style": lambda: stylize_tensor(
            colour, StylizeOptions(style="great_wave", precision="fp32", device="cpu")
        ),
        "stylize_painting": lambda: stylize_tensor(
            colour,
            StylizeOptions(style="painting", alpha=0.6, precision="fp32", device="cpu"),
            style_image=_painting(),
        ),
    }


def _needs_backbone(name: str) -> None:
    if name == "stylize_painting":
        from daguerre.errors import CheckpointNotFoundError
        from daguerre.weights.backbone import find_backbone

        try:
            find_backbone()
        except CheckpointNotFoundError:
            pytest.skip("painting mode needs the MobileNetV2 backbone (make install)")


@pytest.mark.parametrize("name", sorted(_cases()))
def test_output_matches_the_reference(name: str) -> None:
    _needs_backbone(name)
    golden = np.load(GOLDEN)
    assert name in golden.files, f"no reference for {name}: rewrite {GOLDEN.name} (--write)"
    out = _cases()[name]().float().numpy()
    ref = golden[name].astype(np.float32)
    assert out.shape == ref.shape
    assert float(np.abs(out - ref).max()) < TOLERANCE


def _write() -> None:
    torch.set_num_threads(1)
    outputs = {name: make().float().numpy().astype(np.float16) for name, make in _cases().items()}
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, **outputs)
    print(f"wrote {GOLDEN} ({', '.join(outputs)})")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_outputs_unchanged --write")
    _write()
