import pytest
import torch

from daguerre.errors import ConfigError
from daguerre.infer.tiling import (
    Tile,
    TileConfig,
    _axis_starts,
    _tile_size,
    blend_weights,
    plan_tiles,
)

# (h, w, tile, overlap): odd sizes, strips, tiles larger than the image, whole-image tiles,
# zero overlap, overlap close to the tile, last tiles shifted far inward.
CASES = [
    (50, 70, 16, 4),
    (37, 53, 16, 4),
    (37, 53, 20, 7),
    (1, 70, 16, 4),
    (70, 1, 16, 4),
    (1, 1, 16, 4),
    (10, 12, 64, 8),
    (37, 53, 0, 4),
    (64, 64, 16, 0),
    (33, 35, 16, 15),
    (30, 30, 16, 4),
    (17, 100, 16, 8),
]


def coverage(tiles: list[Tile], h: int, w: int) -> torch.Tensor:
    count = torch.zeros(h, w, dtype=torch.int64)
    for t in tiles:
        count[t.y0 : t.y1, t.x0 : t.x1] += 1
    return count


def placed_weight_sum(tiles: list[Tile], h: int, w: int, overlap: int) -> torch.Tensor:
    total = torch.zeros(h, w, dtype=torch.float64)
    for t in tiles:
        total[t.y0 : t.y1, t.x0 : t.x1] += blend_weights(t, h, w, overlap=overlap)[0, 0].double()
    return total


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), CASES)
def test_plan_covers_every_pixel_with_equal_tiles_inside_the_image(h, w, tile, overlap):
    tiles = plan_tiles(h, w, tile=tile, overlap=overlap)
    sizes = {(t.height, t.width) for t in tiles}
    assert len(sizes) == 1  # equal tiles
    (th, tw), cap = sizes.pop(), tile or max(h, w)
    assert th <= min(cap, h) and tw <= min(cap, w)
    assert all(0 <= t.y0 < t.y1 <= h and 0 <= t.x0 < t.x1 <= w for t in tiles)
    assert bool((coverage(tiles, h, w) >= 1).all())
    assert len(set(tiles)) == len(tiles)


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), CASES)
def test_neighbours_share_at_least_overlap(h, w, tile, overlap):
    for length in (h, w):
        size = length if tile == 0 else min(tile, length)
        starts = _axis_starts(length, size, overlap)
        fitted = _axis_starts(length, _tile_size(length, tile, overlap), overlap)
        assert len(fitted) == len(starts)  # shrinking the tiles never adds one
        assert starts[0] == 0 and starts[-1] + size == length
        for before, after in zip(starts, starts[1:], strict=False):
            assert 0 < after - before <= size - overlap


def test_plan_examples():
    assert plan_tiles(10, 20, tile=10, overlap=2) == [  # 3 tiles of 10 would overlap by 5
        Tile(0, 0, 10, 8),
        Tile(0, 6, 10, 14),
        Tile(0, 12, 10, 20),
    ]
    assert plan_tiles(10, 18, tile=10, overlap=2) == [Tile(0, 0, 10, 10), Tile(0, 8, 10, 18)]
    assert plan_tiles(37, 53, tile=0, overlap=4) == [Tile(0, 0, 37, 53)]
    assert plan_tiles(8, 9, tile=100, overlap=50) == [Tile(0, 0, 8, 9)]


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "match"),
    [
        (10, 10, 8, 8, "smaller than tile"),
        (10, 10, 8, 9, "smaller than tile"),
        (10, 10, -1, 0, "tile must be"),
        (10, 10, 8, -1, "overlap must be"),
        (0, 10, 8, 2, "at least 1x1"),
        (10, 0, 8, 2, "at least 1x1"),
    ],
)
def test_plan_rejects_bad_arguments(h, w, tile, overlap, match):
    with pytest.raises(ValueError, match=match):
        plan_tiles(h, w, tile=tile, overlap=overlap)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tile": -1},
        {"overlap": -1},
        {"tile": 64, "overlap": 64},
        {"tile": 512, "overlap": 32, "min_tile": 32},
        {"batch": 0},
    ],
)
def test_tile_config_rejects_bad_values(kwargs):
    with pytest.raises(ConfigError):
        TileConfig(**kwargs)


def test_tile_config_defaults():
    cfg = TileConfig()
    assert (cfg.tile, cfg.overlap, cfg.min_tile, cfg.batch) == (512, 32, 128, 1)
    assert TileConfig(tile=0).tile == 0


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), CASES)
def test_weights_positive_bounded_and_summing_positive(h, w, tile, overlap):
    tiles = plan_tiles(h, w, tile=tile, overlap=overlap)
    for t in tiles:
        weights = blend_weights(t, h, w, overlap=overlap)
        assert weights.shape == (1, 1, t.height, t.width)
        assert weights.dtype == torch.float32
        assert bool((weights > 0).all()) and bool((weights <= 1).all())
    assert bool((placed_weight_sum(tiles, h, w, overlap) > 0).all())


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), [(50, 70, 16, 4), (64, 64, 16, 0)])
def test_weights_form_a_partition_of_unity(h, w, tile, overlap):
    # No pixel is covered by three tiles along one axis here, so the ramps are complementary.
    total = placed_weight_sum(plan_tiles(h, w, tile=tile, overlap=overlap), h, w, overlap)
    torch.testing.assert_close(total, torch.ones(h, w, dtype=torch.float64), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), CASES)
def test_weights_stay_one_across_the_image_border(h, w, tile, overlap):
    for t in plan_tiles(h, w, tile=tile, overlap=overlap):
        weights = blend_weights(t, h, w, overlap=overlap)[0, 0]
        column_max, row_max = weights.amax(0), weights.amax(1)
        # Separable weights: on a border row/column the perpendicular factor must be exactly 1,
        # and on a side facing a neighbour it must be < 1 (a ramp).
        for on_border, line, peak in [
            (t.y0 == 0, weights[0], column_max),
            (t.y1 == h, weights[-1], column_max),
            (t.x0 == 0, weights[:, 0], row_max),
            (t.x1 == w, weights[:, -1], row_max),
        ]:
            if on_border:
                assert torch.equal(line, peak)
            elif overlap > 0:
                assert bool((line < peak).all())
        corner = (t.y0 == 0 or t.y1 == h) and (t.x0 == 0 or t.x1 == w)
        if corner:
            y = 0 if t.y0 == 0 else -1
            x = 0 if t.x0 == 0 else -1
            assert weights[y, x].item() == 1.0


def test_single_tile_weights_are_all_one():
    (tile,) = plan_tiles(20, 30, tile=64, overlap=8)
    assert torch.equal(blend_weights(tile, 20, 30, overlap=8), torch.ones(1, 1, 20, 30))


def test_ramp_rises_across_the_middle_of_the_overlap():
    tiles = plan_tiles(16, 40, tile=16, overlap=8)
    left = blend_weights(tiles[1], 16, 40, overlap=8)[0, 0, 0, :8].double()
    assert bool((left[1:] >= left[:-1]).all())
    assert bool((left[3:6] > left[2:5]).all())  # strictly rising in the middle half
    # The quarter next to the tile's own edge (no context there) is almost ignored.
    assert float(left[:2].max()) < 1e-3 and float(left[-2:].min()) > 1 - 1e-3
    # Tiles 0 and 1 share columns 8..15, and their weights there sum to one.
    right = blend_weights(tiles[0], 16, 40, overlap=8)[0, 0, 0, 8:].double()
    torch.testing.assert_close(left + right, torch.ones(8, dtype=torch.float64))


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), [(37, 53, 16, 4), (9, 70, 16, 5)])
@pytest.mark.parametrize("scale", [2, 4])
def test_scaled_plan_is_the_plan_scaled(h, w, tile, overlap, scale):
    # The engine blends upscaled outputs with the plan computed at output resolution.
    plan = plan_tiles(h, w, tile=tile, overlap=overlap)
    big = plan_tiles(h * scale, w * scale, tile=tile * scale, overlap=overlap * scale)
    assert big == [t.scaled(scale) for t in plan]


def test_blend_weights_rejects_foreign_tiles():
    with pytest.raises(ValueError, match="not in the plan"):
        blend_weights(Tile(0, 3, 16, 19), 16, 40, overlap=8)
    with pytest.raises(ValueError, match="inside"):
        blend_weights(Tile(0, 30, 16, 46), 16, 40, overlap=8)


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [(1155, 256, 32, 4), (866, 256, 32, 4), (3000, 512, 64, 32), (100, 64, 16, 16), (37, 24, 8, 8)],
)
def test_fitted_tiles_stay_on_the_stride_grid(length, tile, overlap, multiple):
    plan = plan_tiles(length, 1, tile=tile, overlap=overlap, multiple=multiple)
    size = plan[0].height
    assert size <= tile and (size % multiple == 0 or size == tile)
    starts = [t.y0 for t in plan]
    assert all(s % multiple == 0 for s in starts[:-1])  # all but the inward-shifted last one
    full = plan_tiles(length, 1, tile=tile, overlap=overlap)
    assert len(plan) == len(full)  # as few tiles as full-size ones
    assert size * len(plan) <= tile * len(plan)


def test_multiple_must_be_positive():
    with pytest.raises(ValueError, match="multiple"):
        plan_tiles(10, 10, tile=8, overlap=2, multiple=0)
