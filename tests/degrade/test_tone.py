import dataclasses

import torch

from daguerre.degrade.chain import Sequential, apply_to_target, run
from daguerre.degrade.tone import DyeFade, Fade, Sepia, Yellowing
from tests.degrade.contract import DegradationContract, make_image


def _zero_strength(p):  # noqa: ANN001, ANN202
    return dataclasses.replace(p, strength=p.strength * 0)


class TestSepia(DegradationContract):
    build = staticmethod(lambda: Sepia())
    zero_params = staticmethod(_zero_strength)


class TestYellowing(DegradationContract):
    build = staticmethod(lambda: Yellowing())
    zero_params = staticmethod(_zero_strength)


class TestFade(DegradationContract):
    build = staticmethod(lambda: Fade())
    zero_params = staticmethod(_zero_strength)


class TestDyeFade(DegradationContract):
    build = staticmethod(lambda: DyeFade())
    zero_params = staticmethod(_zero_strength)


def _grey(level: float, size: int = 32) -> torch.Tensor:
    return torch.full((1, 3, size, size), level)


def test_sepia_is_warm_on_grey(gen: torch.Generator) -> None:
    op = Sepia(strength=(1.0, 1.0))
    ramp = torch.linspace(0.05, 0.95, 32).view(1, 1, 1, 32).expand(1, 3, 8, 32).contiguous()
    out = op.apply(ramp, op.sample(gen, 1))
    red, green, blue = out[0, 0], out[0, 1], out[0, 2]
    assert (red >= green).all() and (green >= blue).all()
    mid = op.apply(_grey(0.5), op.sample(gen, 1))[0, :, 0, 0]
    assert mid[0] - mid[2] > 0.08  # clearly brown, not a faint tint


def test_sepia_turns_colour_into_a_monochrome_tone(gen: torch.Generator) -> None:
    img = torch.zeros(1, 3, 8, 8)
    img[:, 1] = 0.7  # pure green
    out = Sepia(strength=(1.0, 1.0)).apply(img, Sepia(strength=(1.0, 1.0)).sample(gen, 1))
    assert out[0, 0].mean() >= out[0, 1].mean()  # green is gone, warm tone instead


def test_sepia_target_is_neutral_where_the_toner_covered_colour(gen: torch.Generator) -> None:
    img = make_image((2, 3, 16, 16))
    op = Sequential([Sepia(strength=(0.7, 0.7))])
    hit = run(op, img, gen)
    target = apply_to_target(op, img, hit.params)
    spread = target.amax(dim=1) - target.amin(dim=1)  # 0 on a neutral pixel
    assert torch.allclose(spread, 0.3 * (img.amax(dim=1) - img.amin(dim=1)), atol=1e-5)
    kept = Sequential([Sepia(applies_to_target=False)])
    assert torch.equal(apply_to_target(kept, img, run(kept, img, gen).params), img)


def test_yellowing_hits_highlights_not_shadows(gen: torch.Generator) -> None:
    op = Yellowing(strength=(0.5, 0.5), border=(0.01, 0.01))
    params = op.sample(gen, 1)
    light = op.apply(_grey(0.95, 64), params)
    dark = op.apply(_grey(0.05, 64), params)
    centre = (slice(None), slice(None), slice(24, 40), slice(24, 40))
    assert (light[0, 0] - light[0, 2])[24:40, 24:40].mean() > 0.1  # yellow: blue drops
    assert (dark[centre] - 0.05).abs().max() < 0.03


def test_yellowing_is_stronger_at_the_border(gen: torch.Generator) -> None:
    op = Yellowing(strength=(0.4, 0.4), border=(0.1, 0.1))
    out = op.apply(_grey(0.3, 64), op.sample(gen, 1))
    blue_loss = 0.3 - out[0, 2]
    assert blue_loss[:3].mean() > blue_loss[28:36, 28:36].mean()


def test_fade_lifts_blacks_lowers_whites_and_edges_fade_more(gen: torch.Generator) -> None:
    op = Fade(strength=(0.5, 0.5), edge=(1.0, 1.0))
    params = op.sample(gen, 1)
    black, white = op.apply(_grey(0.0, 64), params), op.apply(_grey(1.0, 64), params)
    assert black.mean() > 0.08 and black.min() > 0.02 and white.mean() < 0.93
    assert black[0, 0].mean() > black[0, 2].mean()  # brown-grey, not neutral
    lift = black.mean(dim=1)[0]
    assert lift[:2].mean() > lift[28:36, 28:36].mean()  # the border faded more


def test_fade_compresses_contrast(gen: torch.Generator) -> None:
    img = make_image((1, 3, 32, 32))
    out = Fade(strength=(0.5, 0.5)).apply(img, Fade(strength=(0.5, 0.5)).sample(gen, 1))
    assert out.std() < 0.8 * img.std()


def test_dye_fade_casts_red_and_stains_highlights(gen: torch.Generator) -> None:
    op = DyeFade(strength=(1.0, 1.0), cyan=(0.6, 0.6), magenta=(0.1, 0.1), yellow=(0.2, 0.2))
    params = op.sample(gen, 1)
    mid = op.apply(_grey(0.3), params).mean(dim=(2, 3))[0]
    assert mid[0] > mid[1] + 0.05 and mid[0] > mid[2]  # cyan lost -> red-magenta cast
    light = op.apply(_grey(0.9), params).mean(dim=(2, 3))[0]
    assert light[2] < light[1]  # yellow stain in the highlights
