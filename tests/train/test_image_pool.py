import pytest
import torch

from daguerre.train.image_pool import ImagePool


def _images(start: int, count: int) -> torch.Tensor:
    """``count`` 1x1 images whose pixel value is their id (start, start+1, ...)."""
    return torch.arange(start, start + count, dtype=torch.float32).view(count, 1, 1, 1)


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(v) for v in batch.flatten()]


def test_fills_first_and_returns_the_new_images(gen: torch.Generator) -> None:
    pool = ImagePool(4)
    assert _ids(pool.query(_images(0, 3), gen)) == [0, 1, 2]
    assert _ids(pool.query(_images(3, 1), gen)) == [3]
    assert len(pool) == 4
    assert gen.get_state().equal(torch.Generator().manual_seed(0).get_state())  # no draws yet


def test_full_pool_swaps_about_half_for_stored_images(gen: torch.Generator) -> None:
    pool = ImagePool(10)
    pool.query(_images(0, 10), gen)
    returned = _ids(pool.query(_images(100, 400), gen))
    swapped = sum(1 for position, i in enumerate(returned) if i != 100 + position)
    assert 140 < swapped < 260  # Binomial(400, 0.5): mean 200, std 10
    assert any(i < 100 for i in returned)  # images from the first batch come back
    stored = sorted(_ids(torch.stack(pool.images)))
    assert len(stored) == 10 and len(set(stored)) == 10


def test_a_returned_stored_image_is_replaced_by_the_new_one(gen: torch.Generator) -> None:
    pool = ImagePool(1)
    pool.query(_images(0, 1), gen)
    for value in range(1, 20):
        before = _ids(torch.stack(pool.images))[0]
        out = _ids(pool.query(_images(value, 1), gen))[0]
        after = _ids(torch.stack(pool.images))[0]
        assert (out, after) in {(before, value), (value, before)}


def test_same_generator_state_same_answers() -> None:
    def run() -> list[int]:
        gen, pool = torch.Generator().manual_seed(3), ImagePool(5)
        return [i for n in range(0, 60, 6) for i in _ids(pool.query(_images(n, 6), gen))]

    assert run() == run()


def test_state_dict_round_trip_replays_exactly() -> None:
    gen, pool = torch.Generator().manual_seed(1), ImagePool(5)
    pool.query(_images(0, 8), gen)
    state, gen_state = pool.state_dict(), gen.get_state()
    expected = _ids(pool.query(_images(50, 8), gen))
    restored, gen2 = ImagePool(5), torch.Generator()
    restored.load_state_dict(state, torch.device("cpu"))
    gen2.set_state(gen_state)
    assert _ids(restored.query(_images(50, 8), gen2)) == expected


def test_empty_state_and_size_zero(gen: torch.Generator) -> None:
    pool = ImagePool(0)
    batch = torch.rand(3, 3, 4, 4, requires_grad=True)
    out = pool.query(batch, gen)
    assert torch.equal(out, batch) and not out.requires_grad and len(pool) == 0
    fresh = ImagePool(2)
    fresh.load_state_dict(ImagePool(2).state_dict(), torch.device("cpu"))
    assert len(fresh) == 0


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        ImagePool(-1)
    full = ImagePool(3)
    full.query(_images(0, 3), torch.Generator())
    with pytest.raises(ValueError, match="holds 2"):
        ImagePool(2).load_state_dict(full.state_dict(), torch.device("cpu"))
