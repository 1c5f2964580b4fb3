"""The Stylize tab of ``daguerre serve``: a shipped style, or the look of the user's own painting.

Layout only; :meth:`daguerre.web.app.Handlers.stylize` runs the job through
:func:`daguerre.web.stylize_jobs.stylize_task`. The painting upload and its one expert setting
(how far the features move to the painting's, AdaIN ``alpha``) show only when "Your own
painting" is chosen. This module imports gradio; it is imported only by :mod:`daguerre.web.app`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from daguerre.io.image import SUPPORTED_EXTENSIONS
from daguerre.web.stylize_jobs import painting_problem

__all__ = ["OWN_PAINTING", "STYLE_LABELS", "style_choices", "style_label", "stylize_tab"]

OWN_PAINTING = "own painting"
"""The style choice's value for painting mode (not a style name: those are folder names)."""
STYLE_LABELS = {
    "great_wave": "The Great Wave (Hokusai)",
    "starry_night": "The Starry Night (van Gogh)",
    "the_scream": "The Scream (Munch)",
    "composition_vii": "Composition VII (Kandinsky)",
    "vintage": "Vintage print (faded, desaturated)",
}
"""Installed style name -> what the page calls it, in menu order; other styles follow, named."""


def style_label(name: str) -> str:
    """What the page calls an installed style.

    Example:
        >>> style_label("great_wave"), style_label("my_style")
        ('The Great Wave (Hokusai)', 'My style')
    """
    return STYLE_LABELS.get(name) or name.replace("_", " ").capitalize()


def style_choices() -> list[tuple[str, str]]:
    """(label, value) of every installed style, then "Your own painting"."""
    from daguerre.pipelines.stylize import installed_styles

    order = list(STYLE_LABELS)
    names = sorted(
        (info.name for info in installed_styles()),
        key=lambda name: (order.index(name) if name in order else len(order), name),
    )
    return [*((style_label(name), name) for name in names), ("Your own painting", OWN_PAINTING)]


def _show_painting(choice: str) -> Any:
    """Show the painting controls only in painting mode."""
    return gr.update(visible=choice == OWN_PAINTING)


def stylize_tab() -> tuple[gr.Button, list[Any]]:
    """Build the tab: its button and inputs, in the order of ``Handlers.stylize``'s parameters."""
    choices = style_choices()
    first = choices[0][1]
    with gr.Tab("Stylize", id="stylize"):
        style = gr.Dropdown(choices=choices, value=first, label="Style", elem_id="style")
        off = painting_problem()
        with gr.Column(visible=first == OWN_PAINTING, elem_id="own-painting") as own:
            if off is not None:
                gr.Markdown(f"⚠️ Your own painting is unavailable: {off}.", elem_id="painting-off")
            painting = gr.File(
                label="Painting to take the style from",
                file_count="single",
                file_types=sorted(SUPPORTED_EXTENSIONS),
                interactive=off is None,
                elem_id="painting",
            )
            with gr.Accordion("Advanced", open=False, elem_id="stylize-advanced"):
                alpha = gr.Slider(
                    0.0,
                    1.0,
                    value=1.0,
                    step=0.05,
                    label="How far the painting reshapes the photo (lower keeps faces, detail)",
                    elem_id="alpha",
                )
        strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0 = unchanged)")
        keep_colours = gr.Checkbox(
            value=False, label="Keep the photo's colours", elem_id="preserve-color"
        )
        button = gr.Button("Stylize", variant="primary", elem_id="stylize-btn")
    style.change(_show_painting, style, own, queue=False, api_visibility="private")
    return button, [style, painting, strength, keep_colours, alpha]
