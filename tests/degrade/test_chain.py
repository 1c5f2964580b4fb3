import json
from dataclasses import dataclass

import pytest
import torch

from daguerre.degrade.base import DefectDegradation, randint
from daguerre.degrade.blur import GaussianBlur
from daguerre.degrade.chain import (
    Maybe,
    OneOf,
    Sequential,
    Shuffle,
    apply_to_target,
    describe,
    replay,
    run,
    select_params,
)
from daguerre.degrade.color import Grayscale, RGBShift
from daguerre.degrade.jpeg import JPEG
from daguerre.degrade.noise import GaussianNoise
from tests.degrade.contract import DegradationContract, make_image


@dataclass(frozen=True)
class SquareParams:
    y: torch.Tensor  # (B,) int64
    x: torch.Tensor  # (B,) int64


class WhiteSquare(DefectDegradation[SquareParams]):
    """Test defect: paints an 8x8 white square and reports it."""

    def __init__(self, *, value: float = 1.0) -> None:
        self.value = value

    def sample(self, gen: torch.Generator, batch: int) -> SquareParams:
        return SquareParams(y=randint(gen, batch, 0, 20), x=randint(gen, batch, 0, 20))

    def apply_masked(self, img: torch.Tensor, params: SquareParams):  # type: ignore[no-untyped-def]
        out, mask = img.clone(), img.new_zeros(img.shape[0], 1, *img.shape[2:])
        for i in range(img.shape[0]):
            y, x = int(params.y[i]), int(params.x[i])
            out[i, :, y : y + 8, x : x + 8] = self.value
            mask[i, :, y : y + 8, x : x + 8] = 1.0
        return out, mask


def _chain() -> Sequential:
    return Sequential(
        [
            Shuffle([Maybe(GaussianBlur(), 0.7), Maybe(GaussianNoise(), 0.7), Maybe(JPEG(), 0.7)]),
            OneOf([RGBShift(), Maybe(WhiteSquare(), 0.5)], probs=(0.3, 0.7)),
            Maybe(Grayscale(), 0.3),
        ]
    )


class TestSequentialContract(DegradationContract):
    build = staticmethod(_chain)
    index_params = staticmethod(select_params)
    image_shape = (4, 3, 32, 32)


class TestMaybeContract(DegradationContract):
    build = staticmethod(lambda: Maybe(GaussianNoise(), 0.5))
    index_params = staticmethod(select_params)
    image_shape = (4, 3, 32, 32)


class TestOneOfContract(DegradationContract):
    build = staticmethod(lambda: OneOf([GaussianBlur(), GaussianNoise(), JPEG()]))
    index_params = staticmethod(select_params)
    image_shape = (4, 3, 32, 32)


class TestShuffleContract(DegradationContract):
    build = staticmethod(lambda: Shuffle([GaussianBlur(), GaussianNoise(), JPEG()]))
    index_params = staticmethod(select_params)
    image_shape = (4, 3, 32, 32)


def test_maybe_p0_is_identity_and_p1_always_fires() -> None:
    img = make_image((8, 3, 32, 32))
    never = run(Maybe(GaussianNoise(), 0.0), img, torch.Generator().manual_seed(0))
    assert torch.equal(never.image, img)
    assert never.image is not img
    always = run(Maybe(GaussianNoise(sigma=(20, 20)), 1.0), img, torch.Generator().manual_seed(0))
    assert bool(always.params.fire.all())
    assert all(not torch.equal(always.image[i], img[i]) for i in range(8))


def test_maybe_non_firing_images_pass_unchanged() -> None:
    img = make_image((16, 3, 32, 32))
    op = Maybe(GaussianNoise(sigma=(20, 20)), 0.5)
    result = run(op, img, torch.Generator().manual_seed(3))
    fire = result.params.fire
    assert 0 < int(fire.sum()) < 16
    changed = (result.image != img).flatten(1).any(dim=1)
    assert torch.equal(changed, fire)


def test_maybe_child_equals_direct_application_on_firing_images() -> None:
    img = make_image((6, 3, 32, 32))
    op = Maybe(GaussianBlur(), 0.5)
    params = op.sample(torch.Generator().manual_seed(1), 6)
    out = op.apply(img, params)
    direct = op.op.apply(img, params.child)
    for i in range(6):
        expected = direct[i] if params.fire[i] else img[i]
        torch.testing.assert_close(out[i], expected, atol=1e-6, rtol=0)


def test_one_of_picks_per_image() -> None:
    img = make_image((32, 3, 16, 16))
    op = OneOf([Grayscale(), RGBShift(shift=0.0)])  # gray vs identity
    result = run(op, img, torch.Generator().manual_seed(0))
    choice = result.params.choice
    assert 0 < int((choice == 0).sum()) < 32
    gray = (result.image[:, 0] == result.image[:, 1]).flatten(1).all(dim=1)
    assert torch.equal(gray, choice == 0)


def test_one_of_respects_probs() -> None:
    op = OneOf([Grayscale(), JPEG(), RGBShift()], probs=(0.0, 0.25, 0.75))
    choice = op.sample(torch.Generator().manual_seed(0), 4000).choice
    counts = torch.bincount(choice, minlength=3).float() / 4000
    torch.testing.assert_close(counts, torch.tensor([0.0, 0.25, 0.75]), atol=0.03, rtol=0)


def test_shuffle_orders_are_per_image_permutations() -> None:
    order = Shuffle([JPEG(), JPEG(), JPEG(), JPEG()]).sample(torch.Generator(), 50).order
    assert torch.equal(order.sort(dim=1).values, torch.arange(4).expand(50, 4))
    assert len({tuple(row) for row in order.tolist()}) > 5


def test_shuffle_applies_in_each_images_order() -> None:
    # gray-then-shift differs from shift-then-gray, so the order is visible in the output
    img = make_image((8, 3, 16, 16))
    op = Shuffle([Grayscale(), RGBShift(shift=40)])
    params = op.sample(torch.Generator().manual_seed(2), 8)
    out = op.apply(img, params)
    for i in range(8):
        x = img[i : i + 1]
        steps = [(op.ops[k], params.children[k]) for k in params.order[i].tolist()]
        for child_op, child in steps:
            x = child_op.apply(x, select_params(child, torch.tensor([i])))
        torch.testing.assert_close(out[i : i + 1], x, atol=1e-6, rtol=0)


def test_masks_combine_with_max_and_survive_later_ops() -> None:
    img = make_image((3, 3, 32, 32))
    op = Sequential([WhiteSquare(), Maybe(WhiteSquare(value=0.0), 1.0), GaussianBlur()])
    result = run(op, img, torch.Generator().manual_seed(0))
    first = op.steps[0].apply_masked(img, result.params.steps[0])[1]
    second = op.steps[1].op.apply_masked(img, result.params.steps[1].child)[1]
    torch.testing.assert_close(result.mask, torch.maximum(first, second))
    assert result.mask.shape == (3, 1, 32, 32)


def test_mask_zero_when_no_defect_fires_and_partial_scatter() -> None:
    img = make_image((8, 3, 32, 32))
    none = run(Sequential([GaussianBlur(), JPEG()]), img, torch.Generator())
    assert none.mask.shape == (8, 1, 32, 32) and float(none.mask.max()) == 0.0
    some = run(Maybe(WhiteSquare(), 0.5), img, torch.Generator().manual_seed(1))
    marked = some.mask.flatten(1).amax(dim=1) > 0
    assert torch.equal(marked, some.params.fire)


def test_run_then_replay_identical() -> None:
    img = make_image((4, 3, 32, 32))
    first = run(_chain(), img, torch.Generator().manual_seed(11))
    again = replay(_chain(), img, first.params)
    assert torch.equal(first.image, again.image)
    assert torch.equal(first.mask, again.mask)


def test_describe_is_json_and_nested() -> None:
    params = _chain().sample(torch.Generator().manual_seed(0), 2)
    text = json.dumps(describe(params))
    tree = json.loads(text)
    assert tree["type"] == "SequentialParams"
    assert tree["steps"][0]["type"] == "ShuffleParams"
    assert len(tree["steps"][0]["order"]) == 2


def test_apply_to_target_follows_firing_grayscale_only() -> None:
    img = make_image((16, 3, 16, 16))
    op = Sequential([Maybe(Grayscale(), 0.5), GaussianNoise(), RGBShift()])
    params = op.sample(torch.Generator().manual_seed(4), 16)
    target = apply_to_target(op, img, params)
    fire = params.steps[0].fire
    assert 0 < int(fire.sum()) < 16
    gray = (target[:, 0] == target[:, 1]).flatten(1).all(dim=1)
    assert torch.equal(gray, fire)
    assert torch.equal(target[~fire], img[~fire])


def test_apply_to_target_respects_flag() -> None:
    img = make_image((2, 3, 16, 16))
    op = Grayscale(applies_to_target=False)
    assert torch.equal(apply_to_target(op, img, op.sample(torch.Generator(), 2)), img)


def test_rejects_bad_images() -> None:
    with pytest.raises(ValueError, match="float32"):
        run(_chain(), torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.Generator())
    with pytest.raises(ValueError):
        run(_chain(), torch.zeros(3, 8, 8), torch.Generator())
