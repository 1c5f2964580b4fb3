"""Restoration pipeline: a scanned photo in, a restored photo of exactly the same size out.

The generator runs tile by tile (bounded memory at any size, feathered overlaps, no seams);
``strength`` blends between the input (0) and the full restoration (1); gray photos stay gray.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from daguerre.infer import TileConfig, pad_to_min, resolve_device, resolve_precision, run_tiled
from daguerre.infer.ensemble import ENSEMBLE_SIZES, ensemble
from daguerre.pipelines.convert import LUMA, from_any, looks_gray, to_like
from daguerre.pipelines.fusion import (
    FusionConfig,
    fuse_in_place,
    fusion_from_extra,
    resize_mask,
    shrink_area,
    small_size,
)

if TYPE_CHECKING:
    from daguerre.pipelines.scratches import DetectOptions

ImageT = TypeVar("ImageT")

DEFAULT_MODEL = "restore"
MONOCHROME_MODES = ("auto", "tone", "gray", "off")
KIND_MODES = ("auto", "print", "digital")
FUSION_MODES = ("auto", "off")


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore.

    Args:
        strength: 0 returns the input, 1 the full restoration; in between a linear blend.
        model: a shipped model name or a model folder (e.g. a training run's ``best/``).
        tile: tile side in pixels (0 = whole image at once).
        overlap: pixels shared by neighbouring tiles (blended).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        precision: "auto" (fp16 on CUDA, bf16 on a CPU with native bf16, else fp32), "fp32",
            "fp16", "bf16".
        scratches: where the defect mask comes from when none is passed to
            :func:`restore_tensor`: "off", "auto" (the scratch detector) or a mask file
            (white = damaged); see :func:`daguerre.pipelines.scratches.resolve_scratch_mask`.
        scratch_model: the detector used by ``scratches="auto"``.
        scratch_threshold: with ``scratches="auto"``, the damage probability in [0, 1] above
            which a pixel is inpainted; ``None`` takes the detector's threshold calibrated
            for inpainting (``extra.restore_threshold``, 0.995 for the shipped one). Lower
            finds fainter cracks (a print split into a crack web) and erases more real detail.
        grade: the whole-image colour grade applied after the network: "auto" (the grade
            model the restoration model's config names, if any), "off", or a grade model
            name or folder (see :mod:`daguerre.nn.grade`).
        monochrome: "auto": a photo that looks like a monochrome print (neutral, sepia-toned
            or yellowed; :func:`daguerre.pipelines.monochrome.looks_monochrome`) comes out
            neutral gray, so no colour is invented; "tone": such a print comes out neutral,
            then gets its own tone back (sepia stays sepia, yellowed paper stays yellow;
            :func:`daguerre.pipelines.monochrome.retone_in_place`); "gray": the photo is a
            black-and-white print whatever it looks like (a lightly toned print "auto" is
            unsure of keeps the network's colours): neutral gray out; "off": whatever the
            network gives. An exactly gray input always gives a gray output.
        kind: which expert restores the photo when ``model`` names experts (its config's
            ``extra.experts``; the shipped ``restore`` is the old-print expert and names
            ``restore-digital`` for digital photos with digital damage): "auto" asks the
            router the config names (``extra.router``, :class:`daguerre.nn.kind.KindNet`) per
            photo; "print" uses ``model`` itself; "digital" its digital expert. A model
            without experts restores every photo itself.
        ensemble: 1, 2, 4 or 8: average the network over that many flipped/transposed
            copies of the photo (:mod:`daguerre.infer.ensemble`); ``ensemble`` times slower,
            a little more accurate.
        fusion: "auto": a print expert whose config names a detail expert (``extra.detail``,
            :mod:`daguerre.pipelines.fusion`) gives only the tone, from a pass at reduced
            size, and the detail expert gives the fine detail (the shipped print expert
            takes its detail from the digital expert); "off": the print expert alone.
    """

    strength: float = 1.0
    model: str = DEFAULT_MODEL
    tile: int = 512
    overlap: int = 32
    device: str = "auto"
    precision: str = "auto"
    scratches: str = "off"
    scratch_model: str = "scratch"
    scratch_threshold: float | None = None
    grade: str = "auto"
    monochrome: str = "auto"
    kind: str = "auto"
    ensemble: int = 1
    fusion: str = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")
        if self.kind not in KIND_MODES:
            raise ValueError(f"kind must be one of {KIND_MODES}, got {self.kind!r}")
        if self.fusion not in FUSION_MODES:
            raise ValueError(f"fusion must be one of {FUSION_MODES}, got {self.fusion!r}")
        if self.scratch_threshold is not None and not 0.0 <= self.scratch_threshold <= 1.0:
            raise ValueError(f"scratch_threshold must be in [0, 1], got {self.scratch_threshold}")
        if self.ensemble not in ENSEMBLE_SIZES:
            raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, got {self.ensemble}")
        if self.monochrome not in MONOCHROME_MODES:
            raise ValueError(
                f"monochrome must be one of {MONOCHROME_MODES}, got {self.monochrome!r}"
            )
        self.tiles()  # validates tile/overlap early (ConfigError)

    def tiles(self) -> TileConfig:
        """The tiling config these options describe."""
        min_tile = min(128, max(self.tile, 64)) if self.tile else 128
        return TileConfig(
            tile=self.tile, overlap=self.overlap, min_tile=max(min_tile, self.overlap + 1)
        )

    def detect_options(self) -> DetectOptions:
        """Settings for the scratch detector: same tiling, device and precision.

        ``for_restore`` picks the detector's threshold calibrated for inpainting unless
        ``scratch_threshold`` sets one.
        """
        from daguerre.pipelines.scratches import DetectOptions

        return DetectOptions(
            model=self.scratch_model, threshold=self.scratch_threshold, for_restore=True,
            tile=self.tile, overlap=self.overlap, device=self.device, precision=self.precision,
        )  # fmt: skip


@dataclass(frozen=True)
class LoadedRestorer:
    """A loaded restoration network and what the pipeline needs to know about it."""

    net: torch.nn.Module
    pad_multiple: int
    mask_channel: bool  # the network takes RGB + a defect mask (1 = damaged) as input
    grade: str | None  # the grade model trained for this network (config ``extra.grade``)
    experts: dict[str, str] = field(default_factory=dict)  # kind -> model (``extra.experts``)
    router: str | None = None  # the kind model that picks an expert (``extra.router``)
    detail: FusionConfig | None = None  # print tone + another expert's detail (``extra.detail``)


@functools.lru_cache(maxsize=4)
def load_restorer(model: str, device: str) -> LoadedRestorer:
    """Load (and cache) a restoration model on ``device``; float32, eval mode."""
    from daguerre.weights import load_model

    net, config = load_model(model)
    net = net.to(torch.device(device)).eval()
    extra = config.extra
    return LoadedRestorer(
        net, config.pad_multiple, bool(extra.get("mask_channel", False)), extra.get("grade"),
        dict(extra.get("experts", {})), extra.get("router"), fusion_from_extra(model, extra),
    )  # fmt: skip


@functools.lru_cache(maxsize=2)
def load_router(model: str) -> tuple[torch.nn.Module, float]:
    """Load (and cache) a photo-kind router and its logit threshold (``extra.threshold``).

    The router runs in float32 on the CPU (it is tiny). A photo is taken for a print when
    its logit is above the threshold, which trades the two kinds of mistake (a print left
    faded by the digital expert, a digital photo smoothed and re-toned by the print expert);
    the shipped one is calibrated on training photos (see the ``kind`` model card).
    """
    from daguerre.errors import CheckpointMismatchError
    from daguerre.weights import load_model

    net, config = load_model(model)
    if config.kind != "kind":
        raise CheckpointMismatchError(f"{model}: a '{config.kind}' model, not a photo-kind router")
    return net.eval(), float(config.extra.get("threshold", 0.0))


def photo_is_print(rgb: torch.Tensor, router: str) -> torch.Tensor:
    """``(B,)`` bool: does the router take each photo for an old print (vs a digital photo)?

    Args:
        rgb: ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0, 1], any size (the router looks at a
            thumbnail and statistics at a 512 px scale).
        router: a kind model name or folder.
    """
    from daguerre.nn.kind import kind_inputs

    net, threshold = load_router(router)
    thumbs, stats = kind_inputs(rgb)
    with torch.no_grad():
        return net(thumbs.cpu(), stats.cpu()) > threshold


def expert_names(rgb: torch.Tensor, options: RestoreOptions, loaded: LoadedRestorer) -> list[str]:
    """The model that restores each photo of ``rgb`` (see :attr:`RestoreOptions.kind`)."""
    batch = rgb.shape[0] if rgb.ndim == 4 else 1
    digital = loaded.experts.get("digital")
    if digital is None or options.kind == "print":
        return [options.model] * batch
    if options.kind == "digital":
        return [digital] * batch
    if loaded.router is None:
        return [options.model] * batch
    prints = photo_is_print(rgb, loaded.router).tolist()
    return [options.model if is_print else digital for is_print in prints]


def check_experts(options: RestoreOptions, loaded: LoadedRestorer) -> None:
    """Load the router and experts ``options.kind`` may use (so a missing one fails early).

    Also loads the detail expert a fused print restoration uses (``options.fusion``).

    Raises:
        CheckpointNotFoundError: a named expert or router does not exist.
        CheckpointMismatchError: the router is not a kind model.
    """
    device = str(resolve_device(options.device))
    if loaded.detail is not None and options.fusion == "auto" and options.kind != "digital":
        load_restorer(loaded.experts[loaded.detail.expert], device)
    digital = loaded.experts.get("digital")
    if digital is None or options.kind == "print":
        return
    load_restorer(digital, device)
    if options.kind == "auto" and loaded.router is not None:
        load_router(loaded.router)


def _restore_by_expert(
    rgb: torch.Tensor, options: RestoreOptions, names: list[str], mask: torch.Tensor | None,
    progress: Any,
) -> torch.Tensor:  # fmt: skip
    """Restore with the chosen experts: the whole batch at once when they agree."""
    if len(set(names)) == 1:
        chosen = replace(options, model=names[0], kind="print")
        return restore_tensor(rgb, chosen, mask=mask, progress=progress)
    outs = []
    for index, name in enumerate(names):
        one_mask = None if mask is None else mask[index : index + 1]
        chosen = replace(options, model=name, kind="print")
        outs.append(restore_tensor(rgb[index : index + 1], chosen, mask=one_mask))
    return torch.cat(outs)


def _restore_fused(
    rgb: torch.Tensor, options: RestoreOptions, loaded: LoadedRestorer, fusion: FusionConfig,
    mask: torch.Tensor | None, progress: Any,
) -> torch.Tensor:  # fmt: skip
    """Restore prints with ``loaded.detail``: tone from the print expert, detail from another.

    The print expert runs at reduced size, the detail expert at full size; see
    :func:`daguerre.pipelines.fusion.fuse_in_place`. The defect mask and the monochrome
    decision are made once, on the full-size photo.
    """
    batched = rgb if rgb.ndim == 4 else rgb[None]
    gray, toned = _neutral_output(batched, options)
    if mask is None and options.scratches != "off":
        mask = _mask_from_options(batched, options, loaded)
    full_mask = None if mask is None else (mask if mask.ndim == 4 else mask[None])
    plain = replace(options, strength=1.0, kind="print", scratches="off", monochrome="off",
                    fusion="off", grade=grade_name(options, loaded) or "off")  # fmt: skip
    size = small_size(batched.shape[-2], batched.shape[-1], fusion.scale)
    small_mask = None if full_mask is None else resize_mask(full_mask, size)
    tone = restore_tensor(shrink_area(batched, size), plain, mask=small_mask)
    detail_model = replace(plain, model=loaded.experts[fusion.expert])
    restored = restore_tensor(batched, detail_model, mask=full_mask, progress=progress)
    fuse_in_place(restored, tone, fusion.sigma)
    del tone
    _finish_in_place(restored, batched, gray, toned, options)
    return restored if rgb.ndim == 4 else restored[0]


def _finish_in_place(
    restored: torch.Tensor, rgb: torch.Tensor, gray: torch.Tensor, toned: torch.Tensor,
    options: RestoreOptions,
) -> None:  # fmt: skip
    """Monochrome handling (gray, toned back) and the ``strength`` blend, in place."""
    _gray_in_place(restored, gray)
    if bool(toned.any()):
        from daguerre.pipelines.monochrome import retone_in_place

        retone_in_place(restored, rgb, toned)
    if options.strength < 1.0:  # in place: rgb + strength * (restored - rgb)
        restored.sub_(rgb).mul_(options.strength).add_(rgb)


@functools.lru_cache(maxsize=4)
def load_grade(model: str) -> torch.nn.Module:
    """Load (and cache) a colour-grade model; float32, eval mode, on the CPU (it is tiny)."""
    from daguerre.errors import CheckpointMismatchError
    from daguerre.weights import load_model

    net, config = load_model(model)
    if config.kind != "grade":
        raise CheckpointMismatchError(f"{model}: a '{config.kind}' model, not a colour grade")
    return net.eval()


def grade_name(options: RestoreOptions, loaded: LoadedRestorer) -> str | None:
    """The grade model ``options.grade`` resolves to for ``loaded`` (``None``: no grade)."""
    if options.grade == "off":
        return None
    return loaded.grade if options.grade == "auto" else options.grade


def _grade_in_place(rgb: torch.Tensor, restored: torch.Tensor, grade: str) -> None:
    """Grade ``restored`` in place: blend with ``rgb`` and colour-correct, from whole-image views.

    The coefficients come from thumbnails and detail statistics of both images, computed once
    here, so every tile gets the same correction.
    """
    from daguerre.nn.grade import apply_grade, detail_stats, thumbnail

    net = load_grade(grade)
    size = net.thumb
    thumbs = torch.cat([thumbnail(rgb, size), thumbnail(restored, size)], dim=1).cpu()
    coeffs = net(thumbs, detail_stats(rgb, restored))
    apply_grade(restored, coeffs.to(restored.device), rgb)


def _with_empty_mask(net: torch.nn.Module) -> Any:
    """Feed a mask-input network an all-zero mask per tile (no full-size 4-channel copy)."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([x, torch.zeros_like(x[:, :1])], dim=1))  # keeps x's layout

    return forward


def _mask_from_options(
    rgb: torch.Tensor, options: RestoreOptions, loaded: LoadedRestorer
) -> torch.Tensor | None:
    """The defect mask ``options.scratches`` asks for (checked against the model first)."""
    if not loaded.mask_channel:
        raise ValueError(f"model '{options.model}' has no mask input; use scratches='off' with it")
    from daguerre.pipelines.scratches import resolve_scratch_mask

    return resolve_scratch_mask(options.scratches, rgb, options=options.detect_options())


def _neutral_output(
    rgb: torch.Tensor, options: RestoreOptions
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bools per image: (must the restoration come out gray, is it then toned back).

    Gray: a gray input, or with ``monochrome`` "auto"/"tone" a monochrome print. Toned
    back: with "tone", the monochrome prints that are not gray inputs (those stay gray).
    """
    gray = looks_gray(rgb)
    if options.monochrome == "off":
        return gray, torch.zeros_like(gray)
    if options.monochrome == "gray":
        return torch.ones_like(gray), torch.zeros_like(gray)
    from daguerre.pipelines.monochrome import looks_monochrome

    prints = looks_monochrome(rgb)
    toned = prints & ~gray if options.monochrome == "tone" else torch.zeros_like(gray)
    return gray | prints, toned


def _gray_in_place(restored: torch.Tensor, gray: torch.Tensor) -> None:
    """Replace each image flagged in ``gray`` by its luma, with one HxW temporary at a time."""
    images = restored if restored.ndim == 4 else restored[None]
    flags = gray.reshape(-1)
    for index in range(images.shape[0]):
        if bool(flags[index]):
            luma = torch.zeros_like(images[index, 0])
            for channel, weight in enumerate(LUMA):
                luma.add_(images[index, channel], alpha=weight)
            images[index].copy_(luma.expand_as(images[index]))


def _pass_progress(progress: Any, index: int, passes: int) -> Any:
    """``progress`` for pass ``index`` of ``passes``: ``(done, total)`` over all passes."""
    if progress is None or passes == 1:
        return progress
    return lambda done, total: progress(index * total + done, passes * total)


@torch.inference_mode()
def restore_tensor(
    rgb: torch.Tensor,
    options: RestoreOptions | None = None,
    *,
    mask: torch.Tensor | None = None,
    progress: Any = None,
) -> torch.Tensor:
    """Restore a ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1] image; same shape out.

    Memory: besides the input, one full-size float32 output plus the tiler's weight map
    (with ``options.ensemble`` > 1, also a flipped copy of the input and a second output).

    Args:
        rgb: the photo.
        options: model, strength, tiling, device.
        mask: optional defect mask ``(1,H,W)``/``(B,1,H,W)``, 1 = damaged (scratch, dust,
            tear): a model with a mask input channel inpaints those pixels. Without one,
            ``options.scratches`` says where a mask comes from ("off": none).
        progress: called as ``progress(done, total)`` per tile.

    Raises:
        ValueError: a mask (or ``scratches`` other than "off") with a model without a mask
            input.
        DaguerreError: ``options.scratches`` names no mask file, or the mask does not fit.

    Example:
        >>> out = restore_tensor(torch.rand(3, 40, 56), RestoreOptions(strength=0.0))
        >>> out.shape
        torch.Size([3, 40, 56])
    """
    options = options or RestoreOptions()
    if options.strength == 0.0:
        return rgb.clone()
    device = resolve_device(options.device)
    loaded = load_restorer(str(options.model), str(device))
    names = expert_names(rgb, options, loaded)
    if names != [options.model] * len(names):
        # every expert's output gets the grade of the model asked for (the grade is trained
        # on what the whole routed pipeline makes), not its own
        graded = replace(options, grade=grade_name(options, loaded) or "off")
        return _restore_by_expert(rgb, graded, names, mask, progress)
    if loaded.detail is not None and options.fusion == "auto":
        return _restore_fused(rgb, options, loaded, loaded.detail, mask, progress)
    gray, toned = _neutral_output(rgb, options)  # before the output: its temporaries don't add
    model: Any = loaded.net
    if mask is None and options.scratches != "off":
        mask = _mask_from_options(rgb, options, loaded)
    net_input = rgb
    if loaded.mask_channel and mask is not None:
        net_input = torch.cat([rgb, mask.to(rgb.dtype)], dim=-3)
    elif loaded.mask_channel:
        model = _with_empty_mask(loaded.net)
    elif mask is not None:
        raise ValueError(f"model '{options.model}' has no mask input; it cannot use a defect mask")
    tiles = options.tiles()
    h, w = rgb.shape[-2:]
    net_input = pad_to_min(net_input, 2 * loaded.pad_multiple)
    passes = iter(range(options.ensemble))

    def one_pass(x: torch.Tensor) -> torch.Tensor:
        return run_tiled(
            model, x, tiles, pad_multiple=loaded.pad_multiple, device=device, out_channels=3,
            # residual restorers barely move in bf16 (0.001 RMS); native bf16 (AMX,
            # AVX512-BF16) runs them 1.3-1.7x faster
            autocast_dtype=resolve_precision(device, options.precision, bf16_where_fast=True),
            progress=_pass_progress(progress, next(passes), options.ensemble),
        )  # fmt: skip

    restored = ensemble(one_pass, net_input, options.ensemble)[..., :h, :w].clamp_(0.0, 1.0)
    del net_input
    grade = grade_name(options, loaded)
    if grade is not None:
        _grade_in_place(rgb, restored, grade)
    _finish_in_place(restored, rgb, gray, toned, options)
    return restored


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
            scratches, scratch_model).

    Returns:
        The restored image, same type and pixel size as ``image``; alpha is carried through.
    """
    options = RestoreOptions(strength=strength, model=str(model), **kwargs)
    rgb, alpha = from_any(image)
    return to_like(image, restore_tensor(rgb, options), alpha)
