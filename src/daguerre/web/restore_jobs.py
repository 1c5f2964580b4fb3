"""The Restore and Touch-up tasks of the web page, and why restoration may be unavailable.

Task builders for :func:`daguerre.web.jobs.run_job` over
:func:`daguerre.pipelines.restore.restore_tensor`, with the page's wording of a bad option
(:func:`restore_problem`) and one-line reasons the model (:func:`model_problem`) or scratch
removal (:func:`scratch_problem`) cannot be used. No Gradio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from daguerre.errors import DaguerreError
from daguerre.io.image import LoadedImage
from daguerre.web.jobs import Task, WebSettings

if TYPE_CHECKING:
    from daguerre.pipelines.restore import RestoreOptionsError

__all__ = [
    "RESTORE_CONTROLS",
    "model_problem",
    "restore_problem",
    "restore_task",
    "scratch_problem",
]


RESTORE_CONTROLS = {
    "strength": "Strength",
    "photo_type": "Photo type",
    "monochrome": "Black-and-white prints",
    "ensemble": "Best quality",
    "scratches": "Scratch removal",
    "scratch_model": "Scratch removal",
    "scratch_threshold": "Scratch removal sensitivity",
    "mask": "Scratch removal",
    "model": "Restoration model (server setting)",
    "device": "Device (server setting)",
    "tile": "Tile size (server setting)",
}
"""The page's name for each :class:`RestoreOptions` field a restore job sets."""


def restore_problem(err: RestoreOptionsError) -> str:
    """One line for the page: the control (or the server's setting) at fault, and why.

    Example:
        >>> from daguerre.pipelines.restore import RestoreOptionsError
        >>> restore_problem(RestoreOptionsError("ensemble", "ensemble must be one of ..."))
        'Best quality: ensemble must be one of ...'
    """
    return f"{RESTORE_CONTROLS.get(err.option, err.option)}: {err.reason}"


def restore_task(
    settings: WebSettings,
    strength: float,
    scratches: bool = False,
    monochrome: str = "auto",
    photo_type: str = "auto",
    ensemble: int = 1,
    scratch_threshold: float | None = None,
    mask_of: Callable[[tuple[int, int]], torch.Tensor] | None = None,
) -> Task:
    """A task running :func:`daguerre.pipelines.restore.restore_tensor` with ``strength``.

    With ``scratches`` the defect detector finds scratches, dust and tears first and the
    restorer inpaints them; ``scratch_threshold`` is :attr:`RestoreOptions.scratch_threshold`
    (``None``: the detector's calibrated inpainting threshold). ``monochrome`` is
    :attr:`RestoreOptions.monochrome` ("auto", "tone", "gray" or "off"), ``photo_type``
    :attr:`RestoreOptions.photo_type` ("auto", "print" or "digital") and ``ensemble``
    :attr:`RestoreOptions.ensemble` (1, 2, 4 or 8). ``mask_of`` gives the defect mask to
    inpaint, ``(1,H,W)`` float32 {0, 1}, for a photo of size ``(H, W)`` (a mask the user
    touched up; ``scratches`` is then ignored). Every model is loaded and checked here.

    Raises:
        RestoreOptionsError: (a ValueError) a bad value or an unusable model, worded for the
            page by :func:`restore_problem`.
    """
    from daguerre.pipelines.restore import (
        RestoreOptions,
        RestoreOptionsError,
        load_restorer,
        restore_tensor,
    )

    detect = scratches and mask_of is None
    try:
        options = RestoreOptions(
            strength=strength, model=settings.model, tile=settings.tile, device=settings.device,
            scratches="auto" if detect else "off", scratch_model=settings.scratch_model,
            scratch_threshold=scratch_threshold if detect else None, monochrome=monochrome,
            photo_type=photo_type, ensemble=ensemble,
        )  # fmt: skip
        load_restorer(options)
    except RestoreOptionsError as err:
        raise RestoreOptionsError(err.option, restore_problem(err)) from None

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        def on_tile(done: int, total: int) -> None:
            progress(done / max(total, 1))

        mask = None if mask_of is None else mask_of(tuple(loaded.rgb.shape[-2:]))  # type: ignore[arg-type]
        return restore_tensor(loaded.rgb, options, mask=mask, progress=on_tile)

    return task


_SCRATCH_SETTINGS = ("model", "device", "scratches", "scratch_model")  # what makes it unavailable


def scratch_problem(settings: WebSettings) -> str | None:
    """Why scratch removal is unavailable (no detector, or a restorer without mask input).

    Asks :func:`~daguerre.pipelines.restorer.load_restorer` for the server's restorer with
    the detector (the models are then loaded and cached for the first restore).
    """
    from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, load_restorer

    try:
        load_restorer(RestoreOptions(
            model=settings.model, tile=settings.tile, device=settings.device, scratches="auto",
            scratch_model=settings.scratch_model,
        ))  # fmt: skip
    except RestoreOptionsError as err:
        return err.reason if err.option in _SCRATCH_SETTINGS else None
    return None


def model_problem(model: str) -> str | None:
    """Why the restoration model cannot be used, in one line, or ``None`` when it can.

    Reads its ``config.json`` and manifest only (no weights), so the page can say so at once.
    """
    from daguerre.pipelines.manifest import restorer_manifest
    from daguerre.weights import model_dir
    from daguerre.weights.checkpoint import read_config

    try:
        restorer_manifest(model, read_config(model_dir(model)).extra)
    except DaguerreError as err:
        return f"restoration model unavailable: {err}"
    return None
