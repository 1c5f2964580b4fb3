"""The Age tab of ``daguerre serve``: a degradation preset, a seed and a strength.

Layout only; :meth:`daguerre.web.app.Handlers.age` runs the job through
:func:`daguerre.web.age_jobs.age_task`. This module imports gradio; it is imported only by
:mod:`daguerre.web.app`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

__all__ = ["age_tab"]


def age_tab() -> tuple[gr.Button, list[Any]]:
    """The Age tab: its button and inputs, in the order of :meth:`Handlers.age`'s parameters."""
    from daguerre.degrade.presets import PRESET_DESCRIPTIONS, preset_names

    with gr.Tab("Age", id="age"):
        choices = [(f"{n}: {PRESET_DESCRIPTIONS.get(n, '')}", n) for n in preset_names()]
        preset = gr.Dropdown(choices=choices, value="aged", label="Damage", elem_id="preset")
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
            strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
        button = gr.Button("Age", variant="primary", elem_id="age-btn")
    return button, [preset, seed, strength]
