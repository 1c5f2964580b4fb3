import pytest
import torch
import torch.nn.functional as F

from daguerre.infer.ensemble import (
    ENSEMBLE_SIZES,
    SYMMETRIES,
    apply_symmetry,
    ensemble,
    undo_symmetry,
)


def _shift_right(x: torch.Tensor) -> torch.Tensor:
    """Not flip-equivariant: each pixel becomes the mean of itself and its left neighbour."""
    return 0.5 * (x + F.pad(x, (1, 0, 0, 0), mode="replicate")[..., :-1])


def test_every_symmetry_is_undone_on_a_non_square_image() -> None:
    x = torch.rand(2, 3, 5, 9, generator=torch.Generator().manual_seed(0))
    seen = set()
    for index in range(len(SYMMETRIES)):
        moved = apply_symmetry(x, index)
        assert torch.equal(undo_symmetry(moved, index), x)
        seen.add(moved.contiguous().flatten().numpy().tobytes())
    assert len(seen) == 8  # eight different views of the same image


@pytest.mark.parametrize("size", ENSEMBLE_SIZES)
def test_a_pointwise_model_is_unchanged(size: int) -> None:
    x = torch.rand(1, 3, 7, 4, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ensemble(lambda t: t.sqrt(), x, size), x.sqrt(), atol=1e-6)


def test_the_ensemble_is_the_mean_of_the_undone_runs() -> None:
    x = torch.rand(1, 3, 6, 8, generator=torch.Generator().manual_seed(2))
    two = ensemble(_shift_right, x, 2)
    expected = 0.5 * (_shift_right(x) + _shift_right(x.flip(-1)).flip(-1))
    assert torch.allclose(two, expected, atol=1e-6)
    assert not torch.allclose(two, _shift_right(x), atol=1e-3)  # the flip does change it
    four = ensemble(_shift_right, x, 4)
    assert torch.allclose(four, expected, atol=1e-6)  # vertical flips commute with this op
    eight = ensemble(_shift_right, x, 8)
    assert not torch.allclose(eight, four, atol=1e-3)  # transposes shift along the other axis


def test_the_input_is_never_accumulated_into() -> None:
    x = torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(3))
    before = x.clone()
    out = ensemble(lambda t: t, x, 4)
    assert torch.equal(x, before) and torch.allclose(out, x)


def test_other_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="ensemble size"):
        ensemble(lambda t: t, torch.zeros(1, 1, 2, 2), 3)
