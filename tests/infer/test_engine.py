import logging

import pytest
import torch
import torch.nn.functional as F

from daguerre.errors import DaguerreError, TileOOMError
from daguerre.infer.engine import is_out_of_memory, pad_to_multiple, run_tiled
from daguerre.infer.tiling import TileConfig, plan_tiles


def cfg(tile: int, overlap: int, batch: int = 1, min_tile: int | None = None) -> TileConfig:
    return TileConfig(
        tile=tile, overlap=overlap, batch=batch, min_tile=min_tile or max(overlap + 1, 4)
    )


def rand(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator("cpu").manual_seed(0))


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def pixelwise(x: torch.Tensor) -> torch.Tensor:
    return x * 0.5 + 0.1


BOX = torch.full((3, 1, 3, 3), 1 / 9)


def blur(x: torch.Tensor, passes: int) -> torch.Tensor:
    """``passes`` 3x3 box blurs (receptive-field radius ``passes``) with reflect padding."""
    for _ in range(passes):
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), BOX, groups=3)
    return x


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "batch"),
    [
        (50, 70, 16, 4, 1),
        (37, 53, 16, 4, 3),
        (37, 53, 20, 7, 2),
        (1, 70, 16, 4, 1),
        (70, 1, 16, 4, 4),
        (1, 1, 16, 4, 1),
        (10, 12, 64, 8, 1),
        (37, 53, 0, 4, 1),
        (64, 64, 16, 0, 5),
        (33, 35, 16, 14, 1),  # up to 9x9 tiles per pixel
        (30, 30, 16, 4, 2),
    ],
)
def test_identity_model_returns_the_input(h, w, tile, overlap, batch):
    img = rand(2, 3, h, w)
    out = run_tiled(identity, img, cfg(tile, overlap, batch))
    assert out.shape == img.shape and out.dtype == torch.float32
    torch.testing.assert_close(out, img, atol=1e-6, rtol=0)


def test_single_tile_is_bit_exact_and_3d_input_gives_3d_output():
    img = rand(3, 37, 53)
    out = run_tiled(identity, img, cfg(0, 4))
    assert torch.equal(out, img)
    assert torch.equal(run_tiled(identity, img, cfg(64, 8)), img)


@pytest.mark.parametrize(("tile", "overlap", "batch"), [(16, 4, 1), (20, 0, 3), (24, 8, 2)])
def test_pixelwise_model_matches_untiled(tile, overlap, batch):
    img = rand(1, 3, 45, 61)
    out = run_tiled(pixelwise, img, cfg(tile, overlap, batch))
    torch.testing.assert_close(out, pixelwise(img), atol=1e-6, rtol=0)


def blur_error(img: torch.Tensor, passes: int, overlap: int) -> float:
    model = lambda x: blur(x, passes)  # noqa: E731
    return (run_tiled(model, img, cfg(24, overlap)) - blur(img, passes)).abs().max().item()


def test_spatial_model_matches_untiled_with_enough_overlap():
    img = rand(1, 3, 64, 80)  # white noise: the harshest case for seams
    # One 3x3 blur (receptive-field radius 1), then two (radius 2).
    assert blur_error(img, 1, overlap=0) > 0.1  # plain seams
    assert blur_error(img, 1, overlap=2) < 1e-3
    assert blur_error(img, 1, overlap=4) < 1e-3
    assert blur_error(img, 2, overlap=4) < 2e-2  # overlap 2 * radius: close
    assert blur_error(img, 2, overlap=8) < 1e-3  # overlap 4 * radius: exact up to the floor


def test_pad_multiple_is_honoured_and_cropped_back():
    seen: list[tuple[int, int]] = []

    def needs_multiple_of_8(x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0, x.shape
        seen.append((x.shape[-2], x.shape[-1]))
        return x

    img = rand(1, 3, 37, 53)
    out = run_tiled(needs_multiple_of_8, img, cfg(20, 4), pad_multiple=8)
    torch.testing.assert_close(out, img, atol=1e-6, rtol=0)
    # 37 px: 3 tiles of 15 -> padded to 16; 53 px: 4 tiles of 17 -> padded to 24
    assert len(seen) == 12 and set(seen) == {(16, 24)}
    # Smaller than the pad: replicate padding instead of reflect.
    tiny = rand(1, 3, 3, 5)
    assert torch.equal(run_tiled(needs_multiple_of_8, tiny, cfg(0, 4), pad_multiple=8), tiny)


def test_padding_reflects_or_replicates():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[0, 0, 3], x[0, 0, 1])  # reflected row
    tiny = torch.arange(2.0).reshape(1, 1, 1, 2)
    padded = pad_to_multiple(tiny, 4)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[0, 0, :, 3], torch.ones(4))  # replicated
    assert pad_to_multiple(x, 1) is x


@pytest.mark.parametrize(("tile", "overlap"), [(16, 4), (0, 4), (20, 6)])
def test_scale_two_model(tile, overlap):
    def upsample(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")

    img = rand(2, 3, 37, 29)
    out = run_tiled(upsample, img, cfg(tile, overlap), scale=2, pad_multiple=4)
    assert out.shape == (2, 3, 74, 58)
    torch.testing.assert_close(out, upsample(img), atol=1e-6, rtol=0)


def test_single_channel_output():
    def gray(x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1, keepdim=True)

    img = rand(1, 3, 40, 50)
    out = run_tiled(gray, img, cfg(16, 4), out_channels=1)
    assert out.shape == (1, 1, 40, 50)
    torch.testing.assert_close(out, gray(img), atol=1e-6, rtol=0)


def test_output_mismatches_raise_clear_errors():
    img = rand(1, 3, 20, 20)
    with pytest.raises(DaguerreError, match="out_channels=1"):
        run_tiled(identity, img, cfg(16, 4), out_channels=1)
    with pytest.raises(DaguerreError, match="scale=2"):
        run_tiled(identity, img, cfg(16, 4), scale=2)
    with pytest.raises(DaguerreError, match="tensor"):
        run_tiled(lambda x: x.tolist(), img, cfg(16, 4))


@pytest.mark.parametrize(
    "img",
    [torch.zeros(3, 4, dtype=torch.float32), torch.zeros(1, 3, 4, 4, dtype=torch.uint8)],
)
def test_bad_images_are_rejected(img):
    with pytest.raises(ValueError):
        run_tiled(identity, img, cfg(16, 4))


def test_progress_is_called_once_per_tile():
    calls: list[tuple[int, int]] = []
    img = rand(1, 3, 50, 70)
    run_tiled(
        identity, img, cfg(16, 4, batch=3), progress=lambda done, total: calls.append((done, total))
    )
    total = len(plan_tiles(50, 70, tile=16, overlap=4))
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_tiles_reach_the_model_channels_last_and_output_is_unchanged():
    layouts: list[bool] = []
    net = torch.nn.Conv2d(3, 3, 3, padding=1)

    def model(x: torch.Tensor) -> torch.Tensor:
        layouts.append(x.is_contiguous(memory_format=torch.channels_last))
        return net(x)

    img = rand(1, 3, 30, 30)
    out = run_tiled(model, img, cfg(16, 4))
    assert layouts and all(layouts)
    assert out.is_contiguous()  # the caller gets a plain NCHW tensor back
    with torch.no_grad():
        untiled = net(img)
    assert torch.allclose(run_tiled(model, img, cfg(0, 0)), untiled, atol=1e-6)


def test_runs_without_grad_and_is_stateless():
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    img = rand(1, 3, 30, 30)
    first = run_tiled(net, img, cfg(16, 4))
    assert not first.requires_grad
    assert torch.equal(run_tiled(net, img, cfg(16, 4)), first)


def test_autocast_returns_float32_close_to_fp32():
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    img = rand(1, 3, 30, 30)
    out = run_tiled(net, img, cfg(16, 4), autocast_dtype=torch.bfloat16, device="cpu")
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, run_tiled(net, img, cfg(16, 4)), atol=5e-2, rtol=0)


def plan_side(h: int, w: int, tile: int, overlap: int = 4) -> int:
    """The longest tile side of the plan (tiles shrink below ``tile`` to fit the image)."""
    first = plan_tiles(h, w, tile=tile, overlap=overlap)[0]
    return max(first.height, first.width)


class FlakyModel:
    """Raises ``error`` for tiles larger than ``max_side``, after ``good_calls`` bogus outputs."""

    def __init__(self, max_side: int, error: Exception, good_calls: int = 0) -> None:
        self.max_side, self.error, self.good_calls = max_side, error, good_calls
        self.sides: list[int] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        side = max(x.shape[-2:])
        self.sides.append(side)
        if side > self.max_side:
            if self.good_calls > 0:
                self.good_calls -= 1
                return x + 100.0  # would poison the result if a stale tile survived
            raise self.error
        return x


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("MPS backend out of memory (MPS allocated: 1.00 GB)"),
    ],
)
def test_oom_halves_the_tile_and_restarts_cleanly(error, caplog):
    model = FlakyModel(max_side=20, error=error, good_calls=2)  # 2 of 4 tiles, then OOM
    img = rand(1, 3, 100, 90)
    calls: list[tuple[int, int]] = []
    with caplog.at_level(logging.WARNING, logger="daguerre.infer.engine"):
        out = run_tiled(
            model, img, cfg(64, 4, min_tile=16), progress=lambda d, t: calls.append((d, t))
        )
    torch.testing.assert_close(out, img, atol=1e-6, rtol=0)
    # 64 -> 32 -> 16, then everything fits (tiles of 52, 28, 16 px on this image).
    sides = [plan_side(100, 90, t) for t in (64, 32, 16)]
    assert sorted(set(model.sides), reverse=True) == sides == [52, 28, 16]
    assert [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()] == [
        "out of memory with 64px tiles on a 100x90 image; retrying with 32px tiles",
        "out of memory with 32px tiles on a 100x90 image; retrying with 16px tiles",
    ]
    total = len(plan_tiles(100, 90, tile=16, overlap=4))
    assert calls[-total:] == [(i, total) for i in range(1, total + 1)]


def test_oom_below_min_tile_raises_tile_oom_error():
    error = torch.cuda.OutOfMemoryError("CUDA out of memory")
    model = FlakyModel(max_side=0, error=error)
    with pytest.raises(TileOOMError, match="min_tile=16") as info:
        run_tiled(model, rand(1, 3, 100, 90), cfg(64, 4, min_tile=16))
    assert info.value.__cause__ is error
    assert sorted(set(model.sides), reverse=True) == [plan_side(100, 90, t) for t in (64, 32, 16)]


def test_whole_image_tile_backs_off_too():
    model = FlakyModel(max_side=40, error=torch.cuda.OutOfMemoryError("CUDA out of memory"))
    img = rand(1, 3, 60, 50)
    out = run_tiled(model, img, cfg(0, 4, min_tile=8))
    torch.testing.assert_close(out, img, atol=1e-6, rtol=0)
    assert sorted(set(model.sides), reverse=True) == [60, plan_side(60, 50, 30)]


def test_other_runtime_errors_propagate_unchanged():
    error = RuntimeError("Given groups=1, weight of size [8, 3, 3, 3], expected input")
    model = FlakyModel(max_side=0, error=error)
    with pytest.raises(RuntimeError) as info:
        run_tiled(model, rand(1, 3, 40, 40), cfg(32, 4, min_tile=8))
    assert info.value is error
    assert model.sides == [plan_side(40, 40, 32)]  # no retry


def test_is_out_of_memory():
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("whatever"))
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert not is_out_of_memory(RuntimeError("size mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))
