"""The Restore and "Touch up scratches" tabs of ``daguerre serve``: settings and buttons.

Layout only; :meth:`daguerre.web.app.Handlers.restore` and
:meth:`~daguerre.web.app.Handlers.restore_touched` run the jobs through
:func:`daguerre.web.restore_jobs.restore_task`. The choices (print colour, photo type, scratch
sensitivity) map page labels to :class:`~daguerre.pipelines.restore.RestoreOptions` values.
This module imports gradio; it is imported only by :mod:`daguerre.web.app`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from daguerre.web.jobs import WebSettings
from daguerre.web.report import escape_markdown
from daguerre.web.restore_jobs import model_problem, scratch_problem
from daguerre.web.touchup import ADD, KEEP

__all__ = [
    "BEST_ENSEMBLE",
    "MONOCHROME_CHOICES",
    "PHOTO_TYPE_CHOICES",
    "SCRATCH_CHOICES",
    "SCRATCH_THRESHOLDS",
    "restore_tab",
    "scratch_threshold",
    "touchup_tab",
]

MONOCHROME_CHOICES = {
    "Gray if it looks black-and-white": "auto",
    "Keep the print's tone": "tone",
    "Black-and-white print (always gray)": "gray",
}
"""Label -> :attr:`RestoreOptions.monochrome` for the Restore tab's print-colour choice.

The fourth mode, "off" (the network's colours as they come), is an Advanced checkbox."""
PHOTO_TYPE_CHOICES = {
    "Decide per photo": "auto",
    "Old print (faded, toned, grainy)": "print",
    "Digital photo (noise, blur, JPEG)": "digital",
}
"""Label -> :attr:`RestoreOptions.photo_type` for the Restore tab's Advanced photo-type choice."""
SCRATCH_CHOICES = {
    "Only what it is sure of": "sure",
    "More (fainter cracks; may gray thin bright details)": "more",
    "Everything it suspects (prints cracked all over; check the result)": "all",
}
"""Label -> key of :data:`SCRATCH_THRESHOLDS` for the Restore tab's scratch sensitivity."""
SCRATCH_THRESHOLDS: dict[str, float | None] = {"sure": None, "more": 0.65, "all": 0.3}
"""Sensitivity -> :attr:`RestoreOptions.scratch_threshold` (``None``: the detector's calibrated
inpainting threshold; 0.65 is its best-F1 detection threshold; 0.3 clears most of a print
split all over, and erases some real detail)."""
BEST_ENSEMBLE = 4
""":attr:`RestoreOptions.ensemble` of the Restore tab's "best quality" box."""


def scratch_threshold(sensitivity: str) -> float | None:
    """:attr:`RestoreOptions.scratch_threshold` of a sensitivity key; ValueError if unknown."""
    if str(sensitivity) not in SCRATCH_THRESHOLDS:
        known = ", ".join(SCRATCH_THRESHOLDS)
        raise ValueError(f"scratch sensitivity must be one of {known}, got {sensitivity!r}")
    return SCRATCH_THRESHOLDS[str(sensitivity)]


def _sensitivity_radio(label: str, elem_id: str, *, interactive: bool) -> gr.Radio:
    """The choice of how much the scratch detector marks (:data:`SCRATCH_CHOICES`)."""
    return gr.Radio(
        choices=list(SCRATCH_CHOICES.items()),
        value="sure",
        label=label,
        interactive=interactive,
        elem_id=elem_id,
    )


def restore_tab(settings: WebSettings) -> tuple[gr.Button, list[Any]]:
    """The Restore tab: its button and inputs, in the order of :meth:`Handlers.restore`'s."""
    with gr.Tab("Restore", id="restore"):
        problem = model_problem(settings.model)
        if problem is not None:
            gr.Markdown(
                f"⚠️ {escape_markdown(problem)}. Restoration is off; start the server with "
                "`daguerre serve --model FOLDER` pointing at a trained model folder.",
                elem_id="model-missing",
            )
        strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0 = unchanged)")
        scratch_off = scratch_problem(settings)
        scratches = gr.Checkbox(
            value=False,  # off by default until the detector/inpainting meet their targets
            interactive=scratch_off is None,
            label="Remove scratches, dust and tears"
            + ("" if scratch_off is None else f" (unavailable: {escape_markdown(scratch_off)})"),
        )
        sensitivity = _sensitivity_radio(
            "Scratch removal: what to fill", "scratch-sensitivity", interactive=scratch_off is None
        )
        monochrome = gr.Radio(
            choices=list(MONOCHROME_CHOICES.items()),
            value="auto",
            label="Black-and-white prints (sepia, yellowed)",
            elem_id="monochrome",
        )
        photo_type, best, network_colours = _advanced_restore_settings()
        button = gr.Button(
            "Restore", variant="primary", elem_id="restore-btn", interactive=problem is None
        )
    # in the order of Handlers.restore's parameters
    return button, [strength, scratches, monochrome, photo_type, best, sensitivity, network_colours]


def _advanced_restore_settings() -> tuple[gr.Radio, gr.Checkbox, gr.Checkbox]:
    """Expert choices, folded away: photo type, four-flip average, the network's own colours."""
    with gr.Accordion("Advanced", open=False, elem_id="advanced"):
        photo_type = gr.Radio(
            choices=list(PHOTO_TYPE_CHOICES.items()),
            value="auto",
            label="Photo type (which restoration expert)",
            elem_id="photo-type",
        )
        best = gr.Checkbox(
            value=False,
            label=f"Best quality ({BEST_ENSEMBLE}x slower: averages flipped copies)",
            elem_id="best",
        )
        network_colours = gr.Checkbox(
            value=False,
            label="Network's colours (skip the black-and-white print choice above)",
            elem_id="network-colours",
        )
    return photo_type, best, network_colours


def touchup_tab(settings: WebSettings) -> dict[str, Any]:
    """The "Touch up scratches" tab: its mask editor, buttons and inputs, by role."""
    with gr.Tab("Touch up scratches", id="touchup"):
        off = scratch_problem(settings)
        gr.Markdown(
            "For one photo (the first upload): find the damage (tinted red), paint **red** over "
            "damage it missed and **green** over marks on real detail, then restore."
            + ("" if off is None else f" ⚠️ Unavailable: {escape_markdown(off)}.")
        )
        sensitivity = _sensitivity_radio(
            "What to mark", "touchup-sensitivity", interactive=off is None
        )
        find = gr.Button("Find scratches", elem_id="find-btn", interactive=off is None)
        editor = gr.ImageEditor(
            type="numpy",
            image_mode="RGBA",
            sources=(),
            transforms=(),
            brush=gr.Brush(
                colors=[ADD, KEEP], default_color=ADD, color_mode="fixed", default_size=6
            ),
            layers=gr.LayerOptions(allow_additional_layers=False),
            label="Damage: red adds, green keeps (the eraser undoes strokes)",
            height=520,
            interactive=off is None,
            elem_id="mask-editor",
        )
        note = gr.Markdown("", elem_id="touchup-status")
        strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0 = unchanged)")
        button = gr.Button(
            "Restore with this mask",
            variant="primary",
            elem_id="touchup-btn",
            interactive=off is None,
        )
    return {"sensitivity": sensitivity, "find": find, "editor": editor, "note": note,
            "strength": strength, "button": button}  # fmt: skip
