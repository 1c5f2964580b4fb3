import dataclasses

import torch

from daguerre.degrade.resize import DownUp, RandomResize, resize
from tests.degrade.contract import DegradationContract, make_image


class TestDownUp(DegradationContract):
    build = staticmethod(lambda: DownUp())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(
            p, scale_h=torch.ones_like(p.scale_h), scale_w=torch.ones_like(p.scale_w)
        )
    )


class TestRandomResize(DegradationContract):
    build = staticmethod(lambda: RandomResize(probs=(0.4, 0.5, 0.1)))
    zero_params = staticmethod(lambda p: dataclasses.replace(p, scale=torch.ones_like(p.scale)))


def test_down_up_loses_detail() -> None:
    img = make_image((1, 3, 64, 64))
    op = DownUp(scale=(0.5, 0.5))
    out = op.apply(img, op.sample(torch.Generator().manual_seed(0), 1))
    assert out.shape == img.shape
    assert (out - img).abs().mean() > 0.01


def test_random_resize_sampling(gen: torch.Generator) -> None:
    params = RandomResize().sample(gen, 2000)
    up = (params.scale > 1).float().mean()
    down = (params.scale < 1).float().mean()
    assert abs(float(up) - 0.2) < 0.04 and abs(float(down) - 0.7) < 0.04
    assert params.scale.max() <= 1.5 and params.scale.min() >= 0.15
    assert set(params.mode.tolist()) == {0, 1, 2}


def test_resize_modes_shapes() -> None:
    img = torch.rand(1, 3, 10, 12)
    for mode in ("area", "bilinear", "bicubic", "nearest"):
        assert resize(img, (5, 7), mode).shape == (1, 3, 5, 7)
        assert resize(img, (20, 24), mode).shape == (1, 3, 20, 24)
