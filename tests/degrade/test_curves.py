import dataclasses

import torch

from daguerre.degrade.curves import ColorCast, Levels, hue_color
from tests.degrade.contract import DegradationContract


class TestLevels(DegradationContract):
    build = staticmethod(lambda: Levels())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(
            p, black=p.black * 0, white=p.white * 0 + 1, gamma=p.gamma * 0 + 1
        )
    )


class TestColorCast(DegradationContract):
    build = staticmethod(lambda: ColorCast())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, gain=p.gain * 0, veil=p.veil * 0))


def test_levels_squeeze_maps_black_and_white_per_channel() -> None:
    op = Levels(black=(0.1, 0.25), white=(0.7, 0.9), gamma=(0.8, 1.3), jitter=0.04)
    params = op.sample(torch.Generator().manual_seed(3), 4)
    ends = torch.cat([torch.zeros(4, 3, 1, 1), torch.ones(4, 3, 1, 1)], dim=-1)
    out = op.apply(ends, params)
    assert torch.allclose(out[..., 0, 0], params.black) and torch.allclose(
        out[..., 0, 1], params.white
    )
    assert (params.black.amax(1) - params.black.amin(1)).max() > 0  # channels differ: a cast
    assert ((params.gamma > 0.8 * 0.86) & (params.gamma < 1.3 * 1.17)).all()


def test_colour_cast_tints_highlights_and_lifts_shadows_in_its_own_hue() -> None:
    op = ColorCast(gain=(0.4, 0.4), veil=(0.1, 0.1))
    params = op.sample(torch.Generator().manual_seed(0), 1)
    params = dataclasses.replace(params, hue=torch.tensor([0.0]), shadow_hue=torch.tensor([2 / 3]))
    white, black = (
        op.apply(torch.ones(1, 3, 2, 2), params),
        op.apply(torch.zeros(1, 3, 2, 2), params),
    )
    assert white[0, 0, 0, 0] == 1.0 and white[0, 1, 0, 0] < 0.7  # a red highlight cast
    assert black[0, 2, 0, 0] > black[0, 0, 0, 0] + 0.05  # a blue veil in the blacks


def test_hue_color_is_saturated_and_periodic() -> None:
    hues = torch.linspace(0, 1, 13)
    colors = hue_color(hues)
    assert torch.allclose(colors[0], colors[-1], atol=1e-6)
    assert (colors.amax(1) - colors.amin(1)).min() > 0.9
