"""Restoration pipeline: a scanned photo in, a restored photo of exactly the same size out.

:func:`restore_tensor` takes the :class:`~daguerre.pipelines.restorer.Restorer` its options
describe (loaded and checked once, then cached; :func:`~daguerre.pipelines.restorer.
load_restorer`) and runs its stages in order, each a plain function below:

1. :func:`route`: old print or digital photo, per photo (``photo_type``, the router);
2. the expert(s): :func:`run_expert`, tile by tile (bounded memory at any size, feathered
   overlaps, no seams), averaged over flipped copies with ``ensemble``;
3. :func:`fuse`: a print takes its tone from the print expert at reduced size and its fine
   detail from the detail expert (``fusion``);
4. :func:`grade_in_place`: the whole-image colour grade (``grade``);
5. :func:`finish_in_place`: monochrome prints come out neutral or toned back
   (``monochrome``; gray photos stay gray), then ``strength`` blends with the input.

Damage to fill (a defect mask) goes to the inpainting restorer the manifest names, whose
result replaces the damaged pixels only (:func:`blend_fill_in_place`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from daguerre.infer import pad_to_min, resolve_precision, run_tiled
from daguerre.infer.engine import Progress  # progress(done, total), called per tile
from daguerre.infer.ensemble import ensemble
from daguerre.pipelines.convert import from_any, looks_gray, to_like
from daguerre.pipelines.fusion import fuse_in_place, resize_mask, shrink_area, small_size
from daguerre.pipelines.monochrome import gray_in_place, neutral_flags, retone_in_place
from daguerre.pipelines.restore_options import (
    DEFAULT_MODEL,
    FUSION_MODES,
    MONOCHROME_MODES,
    PHOTO_TYPES,
    RestoreOptions,
    RestoreOptionsError,
)
from daguerre.pipelines.restorer import Expert, Restorer, Router, load_restorer, load_router
from daguerre.pipelines.scratches import resolve_scratch_mask

if TYPE_CHECKING:
    from daguerre.nn.grade import GradeNet

ImageT = TypeVar("ImageT")

# --- 1. route ---------------------------------------------------------------------------------


def is_print(router: Router, rgb: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: does ``router`` take each photo for an old print (vs a digital photo)?

    Args:
        router: a loaded photo-type router.
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0, 1], any size (the router looks at a
            thumbnail and statistics at a 512 px scale).
    """
    from daguerre.nn.router import router_inputs

    thumbs, stats = router_inputs(rgb)
    with torch.no_grad():
        return router.net(thumbs.cpu(), stats.cpu()) > router.threshold


def photo_is_print(rgb: torch.Tensor, router: str) -> torch.Tensor:
    """:func:`is_print` with the router model named ``router`` (loaded once, cached)."""
    return is_print(load_router(router), rgb)


def route(restorer: Restorer, rgb: torch.Tensor) -> list[bool]:
    """Per photo of ``(B,3,H,W)`` ``rgb``: restore it as an old print (else as a digital photo)?

    Digital only where the restorer has a digital expert and ``photo_type`` is "digital",
    or is "auto" and the router says so.
    """
    batch = rgb.shape[0]
    if restorer.digital_expert is None:
        return [True] * batch
    if restorer.options.photo_type == "digital":
        return [False] * batch
    if restorer.router is None:
        return [True] * batch
    return [bool(flag) for flag in is_print(restorer.router, rgb).tolist()]


def expert_names(restorer: Restorer, rgb: torch.Tensor) -> list[str]:
    """The model that restores (or, fused, gives the tone of) each photo of ``(B,3,H,W)`` rgb."""
    digital = restorer.digital_expert
    return [
        restorer.print_expert.name if as_print or digital is None else digital.name
        for as_print in route(restorer, rgb)
    ]


# --- 2. the experts ---------------------------------------------------------------------------


def _with_empty_mask(net: torch.nn.Module) -> Any:
    """Feed a mask-input network an all-zero mask per tile (no full-size 4-channel copy)."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([x, torch.zeros_like(x[:, :1])], dim=1))  # keeps x's layout

    return forward


def _network_input(
    expert: Expert, rgb: torch.Tensor, mask: torch.Tensor | None
) -> tuple[Any, torch.Tensor]:
    """(the model to tile, its input): RGB, or RGB + mask for a network with a mask input."""
    if expert.manifest.mask_channel and mask is not None:
        return expert.net, torch.cat([rgb, mask.to(rgb.dtype)], dim=-3)
    if expert.manifest.mask_channel:
        return _with_empty_mask(expert.net), rgb
    if mask is not None:
        raise RestoreOptionsError(
            "mask", f"model '{expert.name}' has no mask input; it cannot use a defect mask"
        )
    return expert.net, rgb


def _pass_progress(progress: Progress | None, index: int, passes: int) -> Progress | None:
    """``progress`` for pass ``index`` of ``passes``: ``(done, total)`` over all passes."""
    if progress is None or passes == 1:
        return progress
    return lambda done, total: progress(index * total + done, passes * total)


def run_expert(
    restorer: Restorer, expert: Expert, rgb: torch.Tensor, mask: torch.Tensor | None,
    progress: Progress | None = None,
) -> torch.Tensor:  # fmt: skip
    """One expert over ``(B,3,H,W)`` float32 [0, 1] ``rgb``, tiled; a new tensor, same shape.

    Memory: besides the input, one full-size float32 output plus the tiler's weight map
    (with ``ensemble`` > 1, also a flipped copy of the input and a second output).

    Args:
        restorer: tiling, ensemble, device and precision (its options).
        expert: the network.
        rgb: the photos.
        mask: ``(B,1,H,W)`` defect mask, 1 = damaged, or ``None`` (an all-zero one for a
            network with a mask input, and for an expert that does not take the mask of a
            prefilled photo: :meth:`Restorer.takes_mask`).
        progress: called as ``progress(done, total)`` per tile, over all ensemble passes.

    Raises:
        RestoreOptionsError: (``option="mask"``) a mask for a network without a mask input.
    """
    options, device = restorer.options, restorer.device
    model, net_input = _network_input(expert, rgb, mask if restorer.takes_mask(expert) else None)
    h, w = rgb.shape[-2:]
    net_input = pad_to_min(net_input, 2 * expert.pad_multiple)
    tiles, passes = options.tiles(), iter(range(options.ensemble))
    # residual restorers barely move in bf16 (0.001 RMS); native bf16 (AMX, AVX512-BF16)
    # runs them 1.3-1.7x faster
    autocast = resolve_precision(device, options.precision, bf16_where_fast=True)

    def one_pass(x: torch.Tensor) -> torch.Tensor:
        return run_tiled(
            model, x, tiles, pad_multiple=expert.pad_multiple, device=device,
            out_channels=3, autocast_dtype=autocast,
            progress=_pass_progress(progress, next(passes), options.ensemble),
        )  # fmt: skip

    return ensemble(one_pass, net_input, options.ensemble)[..., :h, :w].clamp_(0.0, 1.0)


def restore_as(
    restorer: Restorer, as_print: bool, rgb: torch.Tensor, mask: torch.Tensor | None,
    progress: Progress | None = None,
) -> torch.Tensor:  # fmt: skip
    """``(B,3,H,W)`` photos restored by the digital expert, or as prints (fused if set up)."""
    if not as_print and restorer.digital_expert is not None:
        return run_expert(restorer, restorer.digital_expert, rgb, mask, progress)
    if restorer.detail_expert is not None:
        return fuse(restorer, rgb, mask, progress)
    return run_expert(restorer, restorer.print_expert, rgb, mask, progress)


def restore_routed(
    restorer: Restorer, rgb: torch.Tensor, mask: torch.Tensor | None, prints: list[bool],
    progress: Progress | None = None,
) -> torch.Tensor:  # fmt: skip
    """Each photo of ``(B,3,H,W)`` ``rgb`` by its expert: the whole batch at once if they agree."""
    if len(set(prints)) == 1:
        return restore_as(restorer, prints[0], rgb, mask, progress)
    return torch.cat([
        restore_as(restorer, as_print, rgb[i : i + 1], None if mask is None else mask[i : i + 1])
        for i, as_print in enumerate(prints)
    ])  # fmt: skip


# --- 3. fuse ----------------------------------------------------------------------------------


def fuse(
    restorer: Restorer,
    rgb: torch.Tensor,
    mask: torch.Tensor | None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Prints ``(B,3,H,W)``: tone from the print expert at reduced size, detail from another.

    The print expert runs on the photo shrunk by the fusion's ``scale``, the detail expert at
    full size; see :func:`daguerre.pipelines.fusion.fuse_in_place`. A gray photo's two
    restorations are made gray before they are fused.
    """
    fusion, detail = restorer.fusion, restorer.detail_expert
    assert fusion is not None and detail is not None, "fuse() needs a restorer set up to fuse"
    size = small_size(rgb.shape[-2], rgb.shape[-1], fusion.scale)
    small = shrink_area(rgb, size)
    small_mask = None if mask is None else resize_mask(mask, size)
    tone = run_expert(restorer, restorer.print_expert, small, small_mask)
    gray_in_place(tone, looks_gray(small))
    del small
    gray = looks_gray(rgb)
    restored = run_expert(restorer, detail, rgb, mask, progress)
    gray_in_place(restored, gray)
    return fuse_in_place(restored, tone, fusion.sigma)


# --- 4. grade and 5. finish -------------------------------------------------------------------


def grade_in_place(grade: GradeNet, rgb: torch.Tensor, restored: torch.Tensor) -> None:
    """Grade ``restored`` in place: blend with ``rgb`` and colour-correct, from whole-image views.

    The coefficients come from thumbnails and detail statistics of both ``(B,3,H,W)``
    images, computed once here, so every tile gets the same correction.
    """
    from daguerre.nn.grade import apply_grade, detail_stats, thumbnail

    size = grade.thumb
    thumbs = torch.cat([thumbnail(rgb, size), thumbnail(restored, size)], dim=1).cpu()
    coeffs = grade(thumbs, detail_stats(rgb, restored))
    apply_grade(restored, coeffs.to(restored.device), rgb)


def finish_in_place(
    restored: torch.Tensor, rgb: torch.Tensor, flags: tuple[torch.Tensor, torch.Tensor],
    strength: float,
) -> None:  # fmt: skip
    """Monochrome handling (``flags``: gray, toned back) and the ``strength`` blend, in place."""
    gray, toned = flags
    gray_in_place(restored, gray)
    if bool(toned.any()):
        retone_in_place(restored, rgb, toned)
    if strength < 1.0:  # in place: rgb + strength * (restored - rgb)
        restored.sub_(rgb).mul_(strength).add_(rgb)


# --- the pipeline -----------------------------------------------------------------------------


def defect_mask_for(
    restorer: Restorer, rgb: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor | None:
    """``(B,1,H,W)`` defect mask: ``mask`` if given, else what ``options.scratches`` names."""
    if mask is not None:
        return mask if mask.ndim == 4 else mask[None]
    spec = restorer.options.scratches
    return None if spec == "off" else resolve_scratch_mask(spec, rgb, options=restorer.detect)


FILL_FEATHER = 3  # px: the inpainting restorer's fill fades into the restoration around it
FILL_MARGIN = 64 + FILL_FEATHER  # px of context around the damage the inpainting pass restores
FILL_CELL = 256  # px: the inpainting pass runs on the cells of this grid that hold damage

Box = tuple[slice, slice]  # rows, columns


def fill_weight(masks: torch.Tensor, feather: int = FILL_FEATHER) -> torch.Tensor:
    """How much of the fill each pixel takes: ``(B,1,H,W)`` masks -> ``(B,1,H,W)`` in [0, 1].

    1 on the damage (``masks > 0``); at (chessboard) distance d from it ``1 - d / (feather +
    1)``, and 0 from ``feather + 1`` px on.
    """
    import torch.nn.functional as F

    damaged = (masks > 0).float()
    weight = damaged.clone()
    for grow in range(1, feather + 1):
        weight += F.max_pool2d(damaged, 2 * grow + 1, stride=1, padding=grow)
    return weight.div_(feather + 1)


def blend_fill_in_place(
    restored: torch.Tensor, filled: torch.Tensor, masks: torch.Tensor, feather: int = FILL_FEATHER
) -> None:
    """Put ``filled`` into ``restored`` where ``masks`` marks damage, with a feathered edge.

    Args:
        restored: ``(B,3,H,W)`` float32 [0, 1], changed in place.
        filled: the same photos from the inpainting restorer, same shape; used as scratch
            space (overwritten), so no full-size temporary is made.
        masks: ``(B,1,H,W)``, 1 = damaged: there ``filled`` is taken whole.
        feather: px of fade (:func:`fill_weight`).
    """
    restored.add_(filled.sub_(restored).mul_(fill_weight(masks, feather)))


def damage_windows(
    masks: torch.Tensor, margin: int, cell: int = FILL_CELL, feather: int = FILL_FEATHER
) -> list[tuple[Box, Box]]:
    """Where the inpainting pass runs: ``(window, core)`` pairs for ``(B,1,H,W)`` masks.

    The photo is cut into a grid of ``cell`` px squares; a square is needed when damage (in
    any photo of the batch) lies within ``feather`` px of it. Needed squares are joined into
    runs along each grid row, and a run into the one above when both span the same columns,
    so damage everywhere gives one window, the whole photo. The cores (the runs) do not
    overlap and hold every pixel a fill reaches; a window is its core grown by ``margin`` px
    of context, clipped to the photo, starting at an even pixel (a fused print is shrunk by
    half). No damage: no windows.

    Example:
        >>> m = torch.zeros(1, 1, 600, 600); m[..., 10, 10] = 1; m[..., 590, 300:590] = 1
        >>> [(w[0].start, w[0].stop, c[1].start, c[1].stop) for w, c in damage_windows(m, 8)]
        [(0, 264, 0, 256), (504, 600, 256, 600)]
    """
    import torch.nn.functional as F

    damaged = (masks > 0).any(dim=0, keepdim=True).float()  # (1,1,H,W)
    height, width = damaged.shape[-2:]
    grown = F.max_pool2d(damaged, 2 * feather + 1, stride=1, padding=feather)
    rows, cols = -(-height // cell), -(-width // cell)
    padded = F.pad(grown, (0, cols * cell - width, 0, rows * cell - height))
    needed = padded.view(rows, cell, cols, cell).amax(dim=(1, 3)) > 0  # (rows, cols)
    boxes: list[list[int]] = []  # [row0, row1, col0, col1] in grid units
    for row in range(rows):
        for col0, col1 in _runs(needed[row].tolist()):
            above = next((b for b in boxes if b[1] == row and b[2:] == [col0, col1]), None)
            if above is not None:
                above[1] = row + 1
            else:
                boxes.append([row, row + 1, col0, col1])
    pairs = []
    for row0, row1, col0, col1 in boxes:
        core = (slice(row0 * cell, min(row1 * cell, height)),
                slice(col0 * cell, min(col1 * cell, width)))  # fmt: skip
        pairs.append((_grown(core, margin, height, width), core))
    return pairs


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True in ``flags``."""
    runs, start = [], None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index))
            start = None
    return runs


def _grown(box: Box, margin: int, height: int, width: int) -> Box:
    """``box`` grown by ``margin`` px, clipped to ``height x width``, starting even."""
    rows, cols = box
    top, left = max(rows.start - margin, 0) // 2 * 2, max(cols.start - margin, 0) // 2 * 2
    return slice(top, min(rows.stop + margin, height)), slice(left, min(cols.stop + margin, width))


def _fill_windows(
    inpainter: Restorer, batched: torch.Tensor, masks: torch.Tensor,
    flags: tuple[torch.Tensor, torch.Tensor], restored: torch.Tensor,
    progress: Progress | None,
) -> None:  # fmt: skip
    """The inpainting pass: fill the damage of ``restored`` in place, window by window.

    A colour grade or a print toned back reads the whole photo: then it is one window.
    """
    whole = inpainter.grade is not None or bool(flags[1].any())
    everything = (slice(None), slice(None))
    windows = [(everything, everything)] if whole else damage_windows(masks, FILL_MARGIN)
    count = len(windows)
    for index, (window, core) in enumerate(windows):
        win = (..., *window)
        filled = _stages(
            inpainter, batched[win], masks[win], flags,
            _pass_progress(progress, count + index, 2 * count), batched,
        )  # fmt: skip
        inner = (..., *(_shift(c, w) for c, w in zip(core, window, strict=True)))
        target = restored[(..., *core)]
        target.add_(filled[inner].sub_(target).mul_(fill_weight(masks[win])[inner]))


def _shift(inner: slice, outer: slice) -> slice:
    """``inner`` (absolute) as a slice of the ``outer`` range."""
    start = outer.start or 0
    return slice((inner.start or 0) - start, None if inner.stop is None else inner.stop - start)


def _stages(
    restorer: Restorer, batched: torch.Tensor, masks: torch.Tensor | None,
    flags: tuple[torch.Tensor, torch.Tensor], progress: Progress | None,
    whole: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """Stages 1-5 on ``(B,3,H,W)`` photos with the given defect masks (or none).

    ``flags``: :func:`neutral_flags` of the whole photos. ``whole``: the photos ``batched``
    was cut from, if it is a window of them: the experts are then chosen on the whole photos.
    """
    net_in = batched
    if masks is not None and restorer.prefill:  # the experts refine a fill of the damage
        from daguerre.pipelines.baseline import telea_fill

        net_in = telea_fill(batched, masks)
    prints = route(restorer, batched if whole is None else whole)
    restored = restore_routed(restorer, net_in, masks, prints, progress)
    del net_in
    if restorer.grade is not None:  # trained on what the routed, fused pipeline makes
        grade_in_place(restorer.grade, batched, restored)
    finish_in_place(restored, batched, flags, restorer.options.strength)
    return restored


@torch.inference_mode()
def run_restorer(
    restorer: Restorer, rgb: torch.Tensor, *, mask: torch.Tensor | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:  # fmt: skip
    """Run the stages in order on ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1]; same shape out.

    With damage to fill (a non-empty mask) and an inpainting restorer in the manifest
    (:meth:`Restorer.inpainter`), the photo is restored as without damage, and the
    inpainting restorer restores windows around the damage (:func:`damage_windows`:
    ``FILL_CELL`` px squares holding damage, ``FILL_MARGIN`` px of context; experts and
    monochrome decided on the whole photo), whose result replaces the damaged pixels with a
    feathered edge (:func:`fill_weight`): the rest of the photo is what ``scratches="off"``
    gives.
    """
    batched = rgb if rgb.ndim == 4 else rgb[None]
    flags = neutral_flags(batched, restorer.options.monochrome)  # before the output exists
    masks = defect_mask_for(restorer, batched, mask)
    inpainter = restorer.inpainter() if masks is not None and bool(masks.any()) else None
    if inpainter is None or masks is None:
        restored = _stages(restorer, batched, masks, flags, progress)
    else:
        restored = _stages(restorer, batched, None, flags, _pass_progress(progress, 0, 2))
        _fill_windows(inpainter, batched, masks, flags, restored, progress)
    return restored if rgb.ndim == 4 else restored[0]


@torch.inference_mode()
def restore_tensor(
    rgb: torch.Tensor,
    options: RestoreOptions | None = None,
    *,
    mask: torch.Tensor | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Restore a ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1] image; same shape out.

    Args:
        rgb: the photo.
        options: model, strength, tiling, device, ...; loaded once by
            :func:`~daguerre.pipelines.restorer.load_restorer` (cached).
        mask: optional defect mask ``(1,H,W)``/``(B,1,H,W)``, 1 = damaged (scratch, dust,
            tear): a model with a mask input channel inpaints those pixels. Without one,
            ``options.scratches`` says where a mask comes from ("off": none).
        progress: called as ``progress(done, total)`` per tile.

    Raises:
        RestoreOptionsError: an option the models cannot serve (``option`` names it: a
            missing model, ``scratches`` with a model without a mask input, ...), or a
            ``mask`` for a model without a mask input.
        DaguerreError: ``options.scratches`` names a folder without this photo's mask, or
            the mask does not fit.

    Example:
        >>> out = restore_tensor(torch.rand(3, 40, 56), RestoreOptions(strength=0.0))
        >>> out.shape
        torch.Size([3, 40, 56])
    """
    options = options or RestoreOptions()
    if options.strength == 0.0:
        return rgb.clone()
    return run_restorer(load_restorer(options), rgb, mask=mask, progress=progress)


def restore(
    image: ImageT, *, strength: float = 1.0, model: str | Path = DEFAULT_MODEL, **kwargs: Any
) -> ImageT:
    """Restore a photo given as a PIL image, a float tensor or a numpy array; same type back.

    Args:
        image: PIL image (any mode), ``(3,H,W)``/``(B,3,H,W)`` float32 tensor in [0,1], or an
            ``HxWx3`` numpy array (uint8 in -> uint8 out; float in [0,1] -> float).
        strength: 0..1 blend between input and full restoration.
        model: shipped model name or model folder.
        **kwargs: further :class:`RestoreOptions` fields (tile, overlap, device, precision,
            scratches, scratch_model, photo_type, ...).

    Returns:
        The restored image, same type and pixel size as ``image``; alpha is carried through.
    """
    options = RestoreOptions(strength=strength, model=str(model), **kwargs)
    rgb, alpha = from_any(image)
    return to_like(image, restore_tensor(rgb, options), alpha)


__all__ = [
    "DEFAULT_MODEL",
    "FUSION_MODES",
    "MONOCHROME_MODES",
    "PHOTO_TYPES",
    "Restorer",
    "RestoreOptions",
    "RestoreOptionsError",
    "blend_fill_in_place",
    "defect_mask_for",
    "expert_names",
    "finish_in_place",
    "fuse",
    "grade_in_place",
    "is_print",
    "load_restorer",
    "photo_is_print",
    "restore",
    "restore_as",
    "restore_routed",
    "restore_tensor",
    "route",
    "run_expert",
    "run_restorer",
]
