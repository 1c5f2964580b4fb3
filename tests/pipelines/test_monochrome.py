import torch

from daguerre.degrade.chain import Sequential, run
from daguerre.degrade.grain import FilmGrain
from daguerre.degrade.tone import Sepia
from daguerre.pipelines.monochrome import chroma_residual, looks_monochrome
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
