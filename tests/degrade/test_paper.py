import dataclasses

import pytest
import torch

from daguerre.degrade.paper import KINDS, PaperTexture, height_field, shade
from tests.degrade.contract import DegradationContract


class TestPaperTexture(DegradationContract):
    build = staticmethod(lambda: PaperTexture())
    zero_params = staticmethod(lambda p: dataclasses.replace(p, strength=p.strength * 0))


@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_each_finish_adds_low_opacity_texture(kind: int) -> None:
    op = PaperTexture(kinds=(kind,), strength=(0.02, 0.02))
    img = torch.full((1, 3, 64, 64), 0.3)
    out = op.apply(img, op.sample(torch.Generator().manual_seed(0), 1))
    texture = out - img
    assert 0.005 < float(texture.std()) < 0.04
    assert float(texture.mean().abs()) < 0.01  # relief, not a tone shift
    assert torch.equal(out[:, 0], out[:, 1])  # the same relief on every channel of a grey


def test_relief_shows_more_in_dark_areas() -> None:
    op = PaperTexture(strength=(0.02, 0.02))
    params = op.sample(torch.Generator().manual_seed(1), 1)
    dark = op.apply(torch.full((1, 3, 48, 48), 0.1), params) - 0.1
    light = op.apply(torch.full((1, 3, 48, 48), 0.8), params) - 0.8
    assert dark.std() > 1.3 * light.std()


def test_shade_follows_the_light_direction() -> None:
    ramp = torch.linspace(0, 8, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32).contiguous()
    ramp = ramp + 0.5 * torch.sin(torch.arange(32.0)).view(1, 1, 32, 1)  # not flat
    lit_from_left = shade(ramp, 0.0)
    lit_from_right = shade(ramp, torch.pi)
    assert (
        torch.corrcoef(torch.stack([lit_from_left.flatten(), lit_from_right.flatten()]))[0, 1] < 0
    )


def test_height_field_is_deterministic() -> None:
    assert torch.equal(height_field(4, 24, 24, 0, 3.0), height_field(4, 24, 24, 0, 3.0))
