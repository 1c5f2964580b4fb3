"""Tiled, feather-blended, memory-bounded inference with an explicit out-of-memory policy.

``run_tiled`` cuts an image into equally sized overlapping tiles (:func:`plan_tiles`), runs the
model on batches of tiles, and blends the results: ``out = sum(w * model(tile)) / sum(w)``
with raised-cosine weights (:func:`blend_weights`). It keeps nothing between calls.

Memory: besides the input, it holds a float32 output accumulator and a float32 weight
accumulator, both on the input's device, plus one batch of tiles (and the model's outputs for
it) on the compute device. So a 40 MP scan can stay on the CPU while tiles run on a GPU.

Tiles reach the model in channels-last memory layout (:func:`~daguerre.infer.device.channels_last`:
same shape and values; a 12 MP restore with scratch detection took 48.3 s instead of 71.2 s
on a 2-core Xeon, ``benchmarks/restore_speed.py``).

Out-of-memory policy (STYLE rule 9): when a forward pass runs out of memory the whole plan is
dropped (no partly filled accumulator or stale tile survives), cached device memory is
released, the tile side is halved and the image is processed again from the start, with a
logged warning. When halving would go below ``TileConfig.min_tile``, :class:`TileOOMError` is
raised. Only genuine out-of-memory errors are caught; any other error propagates unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from daguerre.errors import DaguerreError, TileOOMError
from daguerre.infer.device import channels_last
from daguerre.infer.tiling import Tile, TileConfig, blend_weights, plan_tiles
from daguerre.types import Tensor

__all__ = ["is_out_of_memory", "run_tiled"]

logger = logging.getLogger(__name__)

Model = Callable[[Tensor], Tensor]
Progress = Callable[[int, int], None]

# Messages of allocator failures raised as plain RuntimeError: CUDA and MPS say "out of memory",
# the CPU allocator says "can't allocate memory". Matched lower-cased, nothing broader.
_OOM_PHRASES = ("out of memory", "can't allocate memory")


@dataclass(frozen=True)
class _Job:
    """Everything a single pass over one plan needs (internal)."""

    overlap: int
    batch: int
    pad_multiple: int
    scale: int
    out_channels: int | None
    autocast_dtype: torch.dtype | None
    device: torch.device
    progress: Progress | None


# --- out-of-memory policy -----------------------------------------------------------------


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocator out-of-memory failure (CUDA, MPS or CPU).

    Example:
        >>> is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
        True
        >>> is_out_of_memory(RuntimeError("shape mismatch"))
        False
    """
    oom_types = tuple(
        t
        for t in (getattr(torch, "OutOfMemoryError", None), torch.cuda.OutOfMemoryError)
        if isinstance(t, type)
    )
    if isinstance(error, oom_types):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and any(p in message for p in _OOM_PHRASES)


def _smaller_tile(tile: int, h: int, w: int, min_tile: int, error: BaseException) -> int:
    """Halve the effective tile side after an OOM, or raise TileOOMError below ``min_tile``."""
    current = max(h, w) if tile == 0 else min(tile, max(h, w))
    smaller = current // 2
    if smaller < min_tile:
        raise TileOOMError(
            f"out of memory with {current}px tiles on a {h}x{w} image, and halving would go "
            f"below min_tile={min_tile}; use a smaller min_tile or batch, lower precision, or "
            f"the CPU ({error})"
        ) from error
    logger.warning(
        "out of memory with %dpx tiles on a %dx%d image; retrying with %dpx tiles",
        current,
        h,
        w,
        smaller,
    )
    return smaller


def _release_cached_memory(device: torch.device) -> None:
    """Return cached allocator blocks so the retry starts from a clean device."""
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps") and torch.backends.mps.is_available():
        torch.mps.empty_cache()


# --- one pass over a plan -----------------------------------------------------------------


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Pad bottom/right of ``(N,C,h,w)`` up to a multiple: reflect, or replicate if too small."""
    pad_h, pad_w = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    fits = pad_h < x.shape[-2] and pad_w < x.shape[-1]  # reflect needs pad < size
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if fits else "replicate")


def _check_output(pred: object, expected: tuple[int, int, int], job: _Job) -> Tensor:
    """Validate the model's output ``(N, C', h*s, w*s)`` for a padded input batch."""
    if not isinstance(pred, torch.Tensor) or pred.ndim != 4:
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise DaguerreError(f"model must return a (N,C,H,W) tensor, got {got}")
    count, height, width = expected
    if pred.shape[0] != count or tuple(pred.shape[-2:]) != (height, width):
        raise DaguerreError(
            f"model returned {tuple(pred.shape)} for {count} tiles; expected (N={count}, C, "
            f"{height}, {width}) with scale={job.scale}, pad_multiple={job.pad_multiple}"
        )
    if job.out_channels is not None and pred.shape[1] != job.out_channels:
        raise DaguerreError(
            f"model returned {pred.shape[1]} channels; expected out_channels={job.out_channels}"
        )
    return pred


def _forward(model: Model, img: Tensor, group: list[Tile], job: _Job) -> Tensor:
    """Model on a tile batch -> ``(len(group)*B, C', th*s, tw*s)`` float32 on img's device."""
    crops = torch.cat([img[:, :, t.y0 : t.y1, t.x0 : t.x1] for t in group])
    crops = crops.to(job.device, torch.float32)
    height, width = crops.shape[-2:]
    padded = channels_last(pad_to_multiple(crops, job.pad_multiple))
    autocast = (
        torch.autocast(device_type=job.device.type, dtype=job.autocast_dtype)
        if job.autocast_dtype is not None
        else contextlib.nullcontext()
    )
    with autocast:
        pred = model(padded)
    s = job.scale
    expected = (padded.shape[0], padded.shape[-2] * s, padded.shape[-1] * s)
    pred = _check_output(pred, expected, job)[:, :, : height * s, : width * s]
    return pred.to(img.device, torch.float32)


def _run_plan(model: Model, img: Tensor, tile: int, job: _Job) -> Tensor:
    """Process the whole image once with tiles of side ``tile``; ``(B, C', H*s, W*s)`` float32."""
    b, _, h, w = img.shape
    s = job.scale
    tiles = plan_tiles(h, w, tile=tile, overlap=job.overlap, multiple=job.pad_multiple)
    out: Tensor | None = None
    weight_sum = torch.zeros(h * s, w * s, dtype=torch.float32, device=img.device)
    for first in range(0, len(tiles), job.batch):
        group = tiles[first : first + job.batch]
        preds = _forward(model, img, group, job)
        if out is None:
            out = torch.zeros(b, preds.shape[1], h * s, w * s, device=img.device)
        for index, tile_in in enumerate(group):
            t = tile_in.scaled(s)
            weights = blend_weights(t, h * s, w * s, overlap=job.overlap * s)[0, 0]
            weights = weights.to(img.device)
            out[:, :, t.y0 : t.y1, t.x0 : t.x1] += preds[index * b : (index + 1) * b] * weights
            weight_sum[t.y0 : t.y1, t.x0 : t.x1] += weights
            if job.progress is not None:
                job.progress(first + index + 1, len(tiles))
    assert out is not None, "a plan always has at least one tile"
    return out.div_(weight_sum)


# --- public entry point ---------------------------------------------------------------------


def _check_args(img: Tensor, pad_multiple: int, scale: int, out_channels: int | None) -> None:
    if not isinstance(img, torch.Tensor) or img.ndim not in (3, 4):
        shape = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
        raise ValueError(f"img must be a (C,H,W) or (B,C,H,W) tensor, got {shape}")
    if not img.is_floating_point():
        raise ValueError(f"img must be a float tensor in [0, 1], got {img.dtype}")
    if img.shape[-1] < 1 or img.shape[-2] < 1 or img.shape[-3] < 1:
        raise ValueError(f"img must not be empty, got shape {tuple(img.shape)}")
    if pad_multiple < 1 or scale < 1:
        raise ValueError(f"pad_multiple and scale must be >= 1, got {pad_multiple}, {scale}")
    if out_channels is not None and out_channels < 1:
        raise ValueError(f"out_channels must be >= 1 or None, got {out_channels}")


@torch.inference_mode()
def run_tiled(
    model: Model,
    img: Tensor,
    cfg: TileConfig,
    *,
    pad_multiple: int = 1,
    scale: int = 1,
    out_channels: int | None = None,
    autocast_dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Run ``model`` over ``img`` tile by tile and feather-blend the results.

    ``out = sum(w * model(tile)) / sum(w)``, accumulated in float32 on ``img``'s device under
    :func:`torch.inference_mode`. Stateless: two calls with the same inputs give the same output.

    Args:
        model: maps ``(N, C, h, w)`` float32 (h, w multiples of ``pad_multiple``) to
            ``(N, C', h*scale, w*scale)``. Put it in ``eval()`` mode and on ``device`` first.
        img: ``(B, C, H, W)`` or ``(C, H, W)`` float image, usually in [0, 1].
        cfg: tile side, overlap, minimum tile for the OOM backoff, tiles per forward pass.
        pad_multiple: each tile is reflection-padded (replicate-padded if smaller than the pad)
            at the bottom/right up to this multiple and the output is cropped back.
        scale: the model's output/input size ratio (1 for restoration, 2 or 4 for upscalers).
        out_channels: if given, the model's output must have this many channels.
        autocast_dtype: ``torch.float16`` / ``torch.bfloat16`` to run the model under
            :func:`torch.autocast` (see :func:`~daguerre.infer.device.resolve_precision`);
            None runs in float32. Outputs are cast back to float32 either way.
        device: where tiles run; None = ``img.device``. Outputs are accumulated on ``img.device``.
        progress: called as ``progress(done, total)`` after each tile. After an out-of-memory
            retry the count restarts at 1 with the new plan's total.

    Returns:
        ``(B, C', H*scale, W*scale)`` float32 (``(C', H*scale, W*scale)`` for a 3-D input) on
        ``img.device``; an inference tensor (no autograd).

    Raises:
        ValueError: on a malformed image or arguments.
        DaguerreError: if the model's output shape does not match ``scale``/``out_channels``.
        TileOOMError: if the model runs out of memory even with tiles of ``cfg.min_tile``.

    Example:
        >>> img = torch.rand(1, 3, 37, 53)
        >>> out = run_tiled(lambda x: x, img, TileConfig(tile=16, overlap=4, min_tile=8))
        >>> out.shape, bool(torch.allclose(out, img, atol=1e-6))
        (torch.Size([1, 3, 37, 53]), True)
    """
    _check_args(img, pad_multiple, scale, out_channels)
    batched = img.ndim == 4
    images = img if batched else img[None]
    h, w = images.shape[-2:]
    job = _Job(
        overlap=cfg.overlap,
        batch=cfg.batch,
        pad_multiple=pad_multiple,
        scale=scale,
        out_channels=out_channels,
        autocast_dtype=autocast_dtype,
        device=torch.device(device) if device is not None else images.device,
        progress=progress,
    )
    tile = cfg.tile
    while True:
        try:
            out = _run_plan(model, images, tile, job)
            return out if batched else out[0]
        except RuntimeError as error:
            if not is_out_of_memory(error):
                raise
            tile = _smaller_tile(tile, h, w, cfg.min_tile, error)
        # Outside the except block the traceback (and the tensors its frames hold) is gone.
        _release_cached_memory(job.device)
