import torch

from daguerre.degrade.chain import Sequential, run
from daguerre.degrade.grain import FilmGrain
from daguerre.degrade.tone import Sepia
from daguerre.pipelines.monochrome import chroma_residual, looks_monochrome, retone_in_place
from daguerre.pipelines.restore import RestoreOptions, restore_tensor
from tests.degrade.contract import make_image
from tests.pipelines.models import save_random_model


def _sepia_print(seed: int = 0) -> torch.Tensor:
    """A grainy sepia-toned print of a structured colour image, ``(3,256,320)``."""
    gen = torch.Generator().manual_seed(seed)
    op = Sequential([FilmGrain(), Sepia(strength=(1.0, 1.0))])  # grain is in the silver
    return run(op, make_image((1, 3, 256, 320), seed=seed), gen).image[0]


def test_toned_prints_are_monochrome_and_colour_photos_are_not() -> None:
    prints = torch.stack([_sepia_print(seed) for seed in range(3)])
    colour = make_image((3, 3, 64, 80), seed=7)
    assert looks_monochrome(prints).tolist() == [True, True, True]
    assert looks_monochrome(colour).tolist() == [False, False, False]
    assert bool((chroma_residual(colour) > 3 * chroma_residual(prints).max()).all())


def test_one_vivid_colour_is_not_a_print() -> None:
    red = torch.zeros(3, 32, 32)
    red[0] = torch.linspace(0.3, 1.0, 32)
    assert float(chroma_residual(red)) < 0.01  # its colour depends on brightness only...
    assert not bool(looks_monochrome(red))  # ...but no toner gives a cast that strong


def test_restoring_a_toned_print_gives_a_neutral_one(tmp_path) -> None:
    model = str(save_random_model(tmp_path / "random"))
    sepia = _sepia_print()
    auto = restore_tensor(sepia, RestoreOptions(model=model))
    off = restore_tensor(sepia, RestoreOptions(model=model, monochrome="off"))
    assert torch.allclose(auto[0], auto[1]) and torch.allclose(auto[1], auto[2])
    assert (off[0] - off[2]).abs().max() > 0.01
    colour = make_image((1, 3, 64, 80), seed=7)[0]
    kept = restore_tensor(colour, RestoreOptions(model=model))
    assert torch.equal(kept, restore_tensor(colour, RestoreOptions(model=model, monochrome="off")))


def test_strips_and_single_pixels_are_judged_without_error() -> None:
    tone = torch.tensor([1.0, 0.85, 0.6]).view(3, 1, 1)
    for size in [(1, 1), (1, 40), (40, 1), (5, 7)]:
        luma = torch.linspace(0.2, 0.9, size[0] * size[1]).view(1, *size)
        assert bool(looks_monochrome(luma * tone))  # a toned ramp, whatever its shape
        assert bool(looks_monochrome(luma.expand(3, -1, -1)))  # plain gray


def test_retone_gives_a_neutral_restoration_the_prints_tone_back() -> None:
    gray = make_image((1, 3, 96, 128), seed=3).mean(dim=1, keepdim=True).expand(1, 3, 96, 128)
    tint = torch.tensor([1.0, 0.82, 0.58]).view(1, 3, 1, 1)
    sepia = (gray * tint).clamp(0, 1)
    wider = (gray.clone() - 0.5) * 1.3 + 0.5  # the restoration's wider tonal range
    restored = wider.clamp(0, 1).contiguous()
    luma_before = restored[0, 0].clone()
    retone_in_place(restored, sepia, torch.tensor([True]))
    expected_ratio = tint / (0.299 * tint[0, 0] + 0.587 * tint[0, 1] + 0.114 * tint[0, 2])
    inside = (luma_before > 0.1) & (luma_before < 0.7)  # away from clipping
    for channel in range(3):
        ratio = restored[0, channel][inside] / luma_before[inside]
        assert (ratio - expected_ratio[0, channel, 0, 0]).abs().max() < 0.03
    luma_after = 0.299 * restored[0, 0] + 0.587 * restored[0, 1] + 0.114 * restored[0, 2]
    assert (luma_after - luma_before)[inside].abs().max() < 1e-5


def test_retone_handles_strips_and_single_pixels() -> None:
    gen = torch.Generator().manual_seed(5)
    for shape in [(3, 1, 1), (3, 1, 5), (3, 7, 1), (3, 2, 3)]:
        source = torch.rand(shape, generator=gen)
        neutral = source.mean(dim=0, keepdim=True).expand(shape).contiguous()
        retone_in_place(neutral, source, torch.tensor(True))
        assert bool(torch.isfinite(neutral).all()), shape
        assert 0.0 <= float(neutral.min()) and float(neutral.max()) <= 1.0, shape


def test_retone_leaves_unflagged_images_and_gray_originals_alone() -> None:
    photos = make_image((2, 3, 40, 48), seed=4)
    neutral = photos.mean(dim=1, keepdim=True).expand(2, 3, 40, 48).contiguous()
    before = neutral.clone()
    retone_in_place(neutral, photos, torch.tensor([False, False]))
    assert torch.equal(neutral, before)
    retone_in_place(neutral, before, torch.tensor([True, True]))  # a gray print: no tint
    assert torch.allclose(neutral, before, atol=1e-6)


def test_restoring_with_tone_keeps_the_print_warm_and_huge_photos_in_row_slices(
    tmp_path, monkeypatch
) -> None:
    model = str(save_random_model(tmp_path / "random"))
    sepia = _sepia_print()
    neutral = restore_tensor(sepia, RestoreOptions(model=model))
    monkeypatch.setattr("daguerre.pipelines.monochrome.TONE_ROWS", 7)  # many row slices
    toned = restore_tensor(sepia, RestoreOptions(model=model, monochrome="tone"))
    assert float((toned[0] - toned[2]).mean()) > 0.05  # warm: red above blue, like the print
    assert float((sepia[0] - sepia[2]).mean()) > 0.05
    luma = 0.299 * toned[0] + 0.587 * toned[1] + 0.114 * toned[2]
    assert (luma - neutral[0]).abs().mean() < 0.01  # same brightness as the neutral one


def test_tone_keeps_a_near_gray_input_exactly_gray(tmp_path) -> None:
    model = str(save_random_model(tmp_path / "random"))
    gray = make_image((1, 3, 64, 80), seed=6).mean(dim=1).expand(3, 64, 80).clone()
    gray[0] += 1.0 / 255.0  # within looks_gray's tolerance: a gray scan with a slight cast
    out = restore_tensor(gray.clamp(0, 1), RestoreOptions(model=model, monochrome="tone"))
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])


def _partly_toned(colour: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A photo with a warm toner curve mixed in at ``fraction``, plus grain and scan noise."""
    gen = torch.Generator().manual_seed(seed)
    b, _, h, w = colour.shape
    grain = 0.03 * torch.randn(b, 1, h, w, generator=gen)  # in the silver: every channel
    luma = (torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1) * colour).sum(1, keepdim=True)
    tone = torch.cat([luma**0.85, 0.9 * luma, 0.75 * luma**1.35], dim=1) + 0.03
    mixed = (1 - fraction) * colour + fraction * tone.clamp(0, 1) + grain
    return (mixed + 0.005 * torch.randn(mixed.shape, generator=gen)).clamp(0, 1)


def test_a_colour_photo_toned_up_to_nine_tenths_keeps_its_colour() -> None:
    vivid = make_image((4, 3, 128, 160), seed=11)
    gray = vivid.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    colour = gray + 0.3 * (vivid - gray)  # a photo's modest colour, not random saturated noise
    for fraction in (0.3, 0.6, 0.9):
        toned = _partly_toned(colour, fraction, seed=int(fraction * 10))
        assert not looks_monochrome(toned).any(), fraction
    assert looks_monochrome(_partly_toned(gray, 1.0, seed=1)).all()  # a fully toned print


def test_gray_mode_turns_even_a_colour_photo_neutral(tmp_path) -> None:
    model = str(save_random_model(tmp_path / "random"))
    colour = make_image((1, 3, 64, 80), seed=7)[0]
    gray = restore_tensor(colour, RestoreOptions(model=model, monochrome="gray"))
    auto = restore_tensor(colour, RestoreOptions(model=model))
    assert (gray.amax(dim=0) - gray.amin(dim=0)).max() < 1e-6
    assert (auto.amax(dim=0) - auto.amin(dim=0)).max() > 0.05  # auto keeps its colour
