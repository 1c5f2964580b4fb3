"""The one place where restore options become a ready :class:`Restorer`, or a typed error.

:func:`load_restorer` reads the print expert's :class:`~daguerre.pipelines.manifest.
RestorerManifest` and loads every model the options will use: the print expert (the model
asked for), the digital expert and the router (``photo_type``), the detail expert
(``fusion``), the colour grade (``grade``) and the scratch detector (``scratches``). It checks
they fit together (a defect mask needs experts with a mask input). Whatever is wrong comes
back as one :class:`~daguerre.pipelines.restore_options.RestoreOptionsError` naming the
option at fault, so the CLI, the web page and ``eval`` validate by loading, and word the error
their own way. The stages that run a :class:`Restorer` are in :mod:`daguerre.pipelines.restore`.

Networks are cached per (model, device) and restorers per options, so repeated calls load
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import torch

from daguerre.errors import CheckpointMismatchError, DaguerreError
from daguerre.infer import resolve_device
from daguerre.pipelines.fusion import FusionConfig
from daguerre.pipelines.manifest import RestorerManifest, restorer_manifest, router_manifest
from daguerre.pipelines.restore_options import RestoreOptions, RestoreOptionsError
from daguerre.pipelines.scratches import DetectOptions, load_detector

if TYPE_CHECKING:
    from daguerre.nn.grade import GradeNet

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Expert:
    """A loaded restoration network: float32, eval mode, on the restorer's device.

    Args:
        name: the model name or folder it was loaded from.
        net: maps ``(B,3,H,W)`` (``(B,4,H,W)`` with a mask channel) in [0, 1] to
            ``(B,3,H,W)`` in [0, 1]; H and W multiples of ``pad_multiple``.
        pad_multiple: the input-size multiple the network needs.
        manifest: what its ``config.json`` says about combining it with other models.
    """

    name: str
    net: torch.nn.Module
    pad_multiple: int
    manifest: RestorerManifest


@dataclass(frozen=True, eq=False)
class Router:
    """A loaded photo-type router: float32 on the CPU (it is tiny).

    Args:
        name: the model name or folder.
        net: ``(thumbnails, statistics)`` -> ``(B,)`` logits, high for an old print.
        threshold: a photo is taken for a print when its logit is above this.
    """

    name: str
    net: torch.nn.Module
    threshold: float


@dataclass(frozen=True, eq=False)
class Restorer:
    """Everything one set of :class:`RestoreOptions` needs, loaded and checked.

    Args:
        options: the options it was loaded from.
        device: where the experts run.
        print_expert: the model asked for (``options.model``): restores old prints, and
            every photo when it names no digital expert.
        digital_expert: restores digital photos; loaded when ``options.photo_type`` may pick
            it and the manifest names one.
        router: picks the expert per photo; with ``photo_type="auto"`` only.
        detail_expert: gives a print its fine detail (``fusion``); ``None`` without fusion.
        grade: the colour-grade network (CPU), or ``None``.
    """

    options: RestoreOptions
    device: torch.device
    print_expert: Expert
    digital_expert: Expert | None = None
    router: Router | None = None
    detail_expert: Expert | None = None
    grade: GradeNet | None = None

    @property
    def fusion(self) -> FusionConfig | None:
        """Scale and blur of the print/detail fusion (``None`` when prints are not fused)."""
        return None if self.detail_expert is None else self.print_expert.manifest.detail

    @property
    def prefill(self) -> bool:
        """Masked pixels are filled (OpenCV Telea) before the experts; see ``manifest.prefill``."""
        return self.print_expert.manifest.prefill

    def takes_mask(self, expert: Expert) -> bool:
        """Whether ``expert`` gets the defect mask: with a prefill, only experts trained on one."""
        return not self.prefill or expert.manifest.prefill

    def inpainter(self) -> Restorer | None:
        """The restorer that takes over a photo with damage to fill (``manifest.inpainting``).

        Loaded (and cached) with these options and the inpainting model; ``None`` when the
        manifest names none.

        Raises:
            RestoreOptionsError: (``option="model"``) the inpainting model is missing or
                names an inpainting model of its own.
        """
        name = self.print_expert.manifest.inpainting
        if name is None:
            return None
        inpainter = load_restorer(replace(self.options, model=name))
        if inpainter.print_expert.manifest.inpainting is not None:
            raise RestoreOptionsError(
                "model", f"'{name}' (extra.inpainting of '{self.print_expert.name}') names "
                "an inpainting model of its own; it must restore masked photos itself",
            )  # fmt: skip
        return inpainter

    @property
    def detect(self) -> DetectOptions | None:
        """The detector settings of ``scratches="auto"`` (``None`` for any other mask)."""
        return self.options.detect_options() if self.options.scratches == "auto" else None

    def experts(self) -> list[Expert]:
        """The experts this restorer may run, each once."""
        used = [self.digital_expert, self.detail_expert]
        if self.options.photo_type != "digital" or self.digital_expert is None:
            used.insert(0, self.print_expert)
        unique = {id(expert): expert for expert in used if expert is not None}
        return list(unique.values())


# --- loading ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def load_expert(model: str, device: str) -> Expert:
    """Load (and cache) a restoration network on ``device`` and parse its manifest once.

    Raises:
        CheckpointNotFoundError: no such shipped model or folder.
        ManifestError: its ``config.json`` ``extra`` is not a restorer manifest.
    """
    from daguerre.weights import load_model

    net, config = load_model(model)
    manifest = restorer_manifest(model, config.extra)
    return Expert(model, net.to(torch.device(device)).eval(), config.pad_multiple, manifest)


@functools.lru_cache(maxsize=2)
def load_router(model: str) -> Router:
    """Load (and cache) a photo-type router and its logit threshold (``extra.threshold``).

    The threshold trades the two kinds of mistake (a print left faded by the digital expert,
    a digital photo smoothed and re-toned by the print expert); the shipped one is
    calibrated on training photos (see the ``router`` model card).

    Raises:
        CheckpointMismatchError: the model is not a photo-type router.
    """
    from daguerre.weights import load_model

    net, config = load_model(model)
    if config.kind != "router":
        raise CheckpointMismatchError(f"{model}: a '{config.kind}' model, not a photo-type router")
    return Router(model, net.eval(), router_manifest(model, config.extra).threshold)


@functools.lru_cache(maxsize=4)
def load_grade(model: str) -> GradeNet:
    """Load (and cache) a colour-grade model; float32, eval mode, on the CPU (it is tiny).

    Raises:
        CheckpointMismatchError: the model is not a colour grade.
    """
    from daguerre.weights import load_model

    net, config = load_model(model)
    if config.kind != "grade":
        raise CheckpointMismatchError(f"{model}: a '{config.kind}' model, not a colour grade")
    return cast("GradeNet", net.eval())


@functools.lru_cache(maxsize=8)
def load_restorer(options: RestoreOptions) -> Restorer:
    """Load (and cache) everything ``options`` asks for, checked: the one place that does.

    Raises:
        RestoreOptionsError: ``option`` names what is wrong: ``"device"`` (not usable),
            ``"model"`` (missing, or a malformed manifest), ``"grade"`` (missing or not a
            grade), ``"photo_type"`` (a digital expert or router that is missing or wrong),
            ``"fusion"`` (a missing detail expert), ``"scratches"`` (an expert without a mask
            input, or neither off, auto nor an existing mask file or folder),
            ``"scratch_model"`` (a missing or wrong detector); an inpainting model that
            fails any of these checks, with ``scratches`` on.

    Example:
        >>> restorer = load_restorer(RestoreOptions(photo_type="print", fusion="off"))
        >>> restorer.print_expert.name, restorer.digital_expert, restorer.detail_expert
        ('restore', None, None)
    """
    device = _load("device", lambda: resolve_device(options.device))
    primary = _load("model", lambda: load_expert(options.model, str(device)))
    manifest = primary.manifest
    grade_name = manifest.grade if options.grade == "auto" else options.grade
    grade = None
    if grade_name is not None and grade_name != "off":
        grade = _load("grade", lambda: load_grade(grade_name))
    restorer = Restorer(
        options, device, primary,
        *_experts_for(options, manifest, str(device)),
        grade=grade,
    )  # fmt: skip
    _check_scratches(restorer)
    if options.scratches != "off":  # it will get masks: check its inpainting model now
        restorer.inpainter()
    return restorer


def _experts_for(
    options: RestoreOptions, manifest: RestorerManifest, device: str
) -> tuple[Expert | None, Router | None, Expert | None]:
    """(digital expert, router, detail expert) that ``photo_type`` and ``fusion`` may use."""
    digital = router = detail = None
    if manifest.digital is not None and options.photo_type != "print":
        name = manifest.digital
        digital = _load("photo_type", lambda: load_expert(name, device))
        if options.photo_type == "auto" and manifest.router is not None:
            router_name = manifest.router
            router = _load("photo_type", lambda: load_router(router_name))
    detail_name = manifest.detail_model
    if detail_name is not None and options.fusion == "auto" and options.photo_type != "digital":
        detail = _load("fusion", lambda: load_expert(detail_name, device))
    return digital, router, detail


def _check_scratches(restorer: Restorer) -> None:
    """A defect mask needs experts with a mask input, and a detector or a mask file."""
    options = restorer.options
    if options.scratches == "off":
        return
    for expert in restorer.experts():
        if not expert.manifest.mask_channel:
            raise RestoreOptionsError(
                "scratches",
                f"model '{expert.name}' has no mask input, so it cannot inpaint a defect mask; "
                "turn scratch removal off or use a model trained with a mask channel",
            )
    if options.scratches == "auto":
        _load("scratch_model", lambda: load_detector(options.scratch_model, str(restorer.device)))
    elif not Path(options.scratches).exists():
        raise RestoreOptionsError(
            "scratches", f"'{options.scratches}' is not off, auto, a mask file or a folder of masks"
        )


def _load(option: str, load: Callable[[], T]) -> T:
    """``load()``, a :class:`DaguerreError` turned into a :class:`RestoreOptionsError`."""
    try:
        return load()
    except DaguerreError as err:
        raise RestoreOptionsError(option, str(err)) from err


__all__ = [
    "Expert",
    "Restorer",
    "Router",
    "load_expert",
    "load_grade",
    "load_restorer",
    "load_router",
]
