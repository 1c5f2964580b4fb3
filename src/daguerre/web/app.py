"""The Gradio page of ``daguerre serve``: upload photos, restore, age or stylize them, download.

A thin shell over :mod:`daguerre.web.jobs` (which calls the Python API): one upload area shared
by one tab per task. Each task tab has its settings and a button; adding a task means one more
tab function (here, or in its own module like :mod:`daguerre.web.stylize_tab`) and one more
:class:`Handlers` method.

Results appear as a before/after comparison slider (downscaled preview) and as
full-resolution downloads in each input's own format. Messages (bad files, limits, a missing
model) appear in the page as text and as a toast, never as a traceback. Jobs are queued one at a
time (``default_concurrency_limit=1``) so two uploads do not fight over the CPU cores.

This module imports gradio; it is imported only by ``daguerre serve`` and the tests.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import gradio as gr

from daguerre.errors import DaguerreError
from daguerre.io.image import SUPPORTED_EXTENSIONS
from daguerre.web.jobs import (
    JobReport,
    Task,
    WebSettings,
    WorkDirs,
    age_task,
    model_problem,
    painting_problem,
    read_upload,
    restore_task,
    run_job,
    scratch_problem,
    stylize_task,
)
from daguerre.web.stylize_tab import OWN_PAINTING, stylize_tab
from daguerre.web.touchup import ADD, KEEP, Detected, find_defects, touched_mask

logger = logging.getLogger(__name__)

__all__ = ["Handlers", "build_app", "format_report"]

Previews = list[tuple[str, Any, Any]]  # (output name, before PIL image, after PIL image)
Outputs = tuple[Any, list[str] | None, str, Any, Previews, str | None]
# Inline Markdown syntax; names never start a line (each line starts with a mark), so the
# block-level characters (#, -, +, 1.) need no escaping.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")
_WORDS = {  # output suffix -> (progress, summary)
    "restored": ("Restoring", "Restored"),
    "aged": ("Ageing", "Aged"),
    "stylized": ("Stylizing", "Stylized"),
}
# Gradio spots the progress parameter by its default; one shared instance is what a
# per-function `gr.Progress()` default is too (its callback is per request).
_PROGRESS = gr.Progress()
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
NO_FILES = "Upload one or more photos first (drag them onto the upload area)."
NO_MASK = "Press “Find scratches” first, or paint the damage on the photo in red."
NO_PAINTING = "Upload the painting to take the style from, or choose one of the styles."


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


def _escape(text: str) -> str:
    """Escape Markdown syntax in user-controlled text (file names)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def format_report(report: JobReport, done: str) -> str:
    """Markdown summary of a job: what was written and, per failed file, why.

    Example:
        >>> format_report(JobReport([], Path(".")), "Restored")
        'Nothing was processed.'
    """
    if not report.results:
        return "Nothing was processed."
    sections = []
    ok = report.succeeded
    if ok:
        lines = [f"**{done} {len(ok)} of {len(report.results)} photo(s)** (full size):"]
        for result in ok:
            width, height = result.size or (0, 0)
            output = result.output.name if result.output else ""
            lines.append(f"- ✓ {_escape(result.name)} → {_escape(output)} ({width}×{height})")
        sections.append("\n".join(lines))
    if report.errors:
        lines = [f"**Could not process {len(report.errors)} file(s):**"]
        lines.extend(f"- ⚠️ {_escape(line)}" for line in report.errors)
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


class Handlers:
    """The page's event handlers; stateless between requests (per-session data is gr.State).

    Args:
        settings: limits and the restoration model.
        workdirs: where per-request output folders are made and removed.
    """

    def __init__(self, settings: WebSettings, workdirs: WorkDirs) -> None:
        self.settings = settings
        self.workdirs = workdirs

    def restore(
        self,
        files: list[str] | None,
        strength: float,
        scratches: bool = False,
        monochrome: str = "auto",
        photo_type: str = "auto",
        best: bool = False,
        sensitivity: str = "sure",
        network_colours: bool = False,
        progress: Any = _PROGRESS,
    ) -> Outputs:
        """Restore the uploads with ``strength`` in [0, 1], optionally removing scratches.

        ``monochrome`` says what a monochrome print becomes ("auto": neutral if it looks
        black-and-white, "tone": its own tone back, "gray": always neutral, "off": the
        network's colours); ``network_colours`` (an Advanced box) forces "off". ``photo_type``
        says which expert restores ("auto": the router decides per photo, "print",
        "digital"; :class:`RestoreOptions`); ``best`` averages the network over four flips
        (:attr:`RestoreOptions.ensemble`); ``sensitivity`` is how much the scratch detector
        marks for inpainting (a key of :data:`SCRATCH_THRESHOLDS`).
        """
        problem = model_problem(self.settings.model)
        if problem is not None:
            return self._message(f"⚠️ {problem}", toast=True)
        if scratches and (why := scratch_problem(self.settings)) is not None:
            return self._message(f"⚠️ scratch removal unavailable: {why}", toast=True)
        monochrome = "off" if network_colours else monochrome
        try:
            task = restore_task(self.settings, float(strength), bool(scratches), str(monochrome),
                                str(photo_type), BEST_ENSEMBLE if best else 1,
                                scratch_threshold(sensitivity))  # fmt: skip
        except ValueError as err:  # strength outside [0, 1] or an unknown mode (API callers)
            return self._message(f"⚠️ {err}", toast=True)
        return self._run(files, task, "restored", progress)

    def age(
        self,
        files: list[str] | None,
        preset: str,
        seed: float,
        strength: float,
        progress: Any = _PROGRESS,
    ) -> Outputs:
        """Age the uploads with a degradation ``preset``; each file seeded from (seed, name)."""
        try:
            task = age_task(str(preset), int(seed or 0), float(strength))
        except (DaguerreError, ValueError) as err:
            return self._message(f"⚠️ {err}", toast=True)
        return self._run(files, task, "aged", progress)

    def stylize(
        self,
        files: list[str] | None,
        style: str,
        painting: str | None = None,
        strength: float = 1.0,
        preserve_color: bool = False,
        alpha: float = 1.0,
        progress: Any = _PROGRESS,
    ) -> Outputs:
        """Stylize the uploads with an installed ``style`` or after an uploaded ``painting``.

        ``style`` is an installed style's name, or :data:`OWN_PAINTING` to take the style
        from ``painting`` (AdaIN; ``alpha`` in [0, 1]: how far the photo's features move to
        the painting's). ``strength`` in [0, 1] blends with the photo; ``preserve_color``
        keeps its colours. A gray photo given colour by the style is written in colour.
        """
        own = str(style) == OWN_PAINTING
        if own and not painting:  # the upload is off while painting mode is unavailable
            why = painting_problem()
            text = NO_PAINTING if why is None else f"painting mode unavailable: {why}"
            return self._message(f"⚠️ {text}", toast=True)
        try:
            task = stylize_task(self.settings, str(style), float(strength),
                                preserve_color=bool(preserve_color),
                                painting=painting if own else None, alpha=float(alpha))  # fmt: skip
        except (DaguerreError, ValueError) as err:
            return self._message(f"⚠️ {err}", toast=True)
        return self._run(files, task, "stylized", progress, recolour_gray=True)

    def find_scratches(
        self, files: list[str] | None, sensitivity: str = "sure", progress: Any = _PROGRESS
    ) -> tuple[Any, Detected | None, str]:
        """Detect the damage on the first upload: (editor value, kept mask, status text).

        The editor shows a preview of the photo with the marked pixels tinted red, to paint
        on; the full-resolution mask stays on the server (:class:`Detected`, per browser tab).
        """
        paths = [f for f in files or [] if f]
        if not paths:
            return gr.skip(), None, _escape(NO_FILES)
        if (why := scratch_problem(self.settings)) is not None:
            return gr.skip(), None, _escape(f"⚠️ scratch removal unavailable: {why}")
        try:
            threshold = scratch_threshold(sensitivity)
        except ValueError as err:
            return gr.skip(), None, f"⚠️ {err}"
        try:
            loaded = read_upload(paths[0], self.settings)
            detected, preview = find_defects(
                loaded,
                paths[0],
                model=self.settings.scratch_model,
                threshold=threshold,
                preview_side=self.settings.preview_side,
                tile=self.settings.tile,
                device=self.settings.device,
                progress=lambda done, total: progress(done / max(total, 1), desc="Finding"),
            )
        except DaguerreError as err:
            return gr.skip(), None, _escape(f"⚠️ {Path(paths[0]).name}: {err}")
        share = float(detected.mask.float().mean()) * 100
        note = f" (the first of {len(paths)} uploads)" if len(paths) > 1 else ""
        status = (
            f"Marked {share:.2f} % of {_escape(Path(paths[0]).name)}{note} (tinted red). Paint "
            "red over damage it missed and green over marks on real detail, then press "
            "“Restore with this mask”."
        )
        value = {"background": preview, "layers": [], "composite": None}
        return value, detected, status

    def restore_touched(
        self,
        files: list[str] | None,
        editor: dict[str, Any] | None,
        detected: Detected | None,
        strength: float = 1.0,
        progress: Any = _PROGRESS,
    ) -> Outputs:
        """Restore the first upload, inpainting the mask as touched up in the editor."""
        paths = [f for f in files or [] if f]
        if not paths:
            return self._message(NO_FILES, toast=True)
        if (why := scratch_problem(self.settings)) is not None:
            return self._message(f"⚠️ scratch removal unavailable: {why}", toast=True)
        layers = list((editor or {}).get("layers") or [])
        if detected is not None and detected.path != paths[0]:
            detected = None  # found on another upload: only what is painted counts
        if detected is None and not layers:
            return self._message(f"⚠️ {NO_MASK}", toast=True)

        def mask_of(size: tuple[int, int]) -> Any:
            return touched_mask(detected, layers, size)

        try:
            task = restore_task(self.settings, float(strength), mask_of=mask_of)
        except ValueError as err:
            return self._message(f"⚠️ {err}", toast=True)
        return self._run(paths[:1], task, "restored", progress)

    def compare(self, name: str | None, previews: Previews | None) -> Any:
        """The before/after pair of the result written as ``name``."""
        for entry_name, before, after in previews or []:
            if entry_name == name:
                return (before, after)
        return None

    def cleanup(self, workdir: str | None) -> None:
        """Remove a request's output folder (Gradio has copied the outputs by now)."""
        self.workdirs.remove(workdir)

    def _run(
        self,
        files: list[str] | None,
        task: Task,
        suffix: str,
        progress: Any,
        *,
        recolour_gray: bool = False,
    ) -> Outputs:
        paths = [f for f in files or [] if f]
        if not paths:
            return self._message(NO_FILES, toast=True)
        workdir = self.workdirs.new()
        verb, done = _WORDS[suffix]

        def report_progress(fraction: float, description: str) -> None:
            progress(fraction, desc=description)

        report = run_job(
            paths,
            task,
            self.settings,
            suffix=suffix,
            workdir=workdir,
            progress=report_progress,
            verb=verb,
            recolour_gray=recolour_gray,
        )
        if report.errors:
            _toast("; ".join(report.errors))
        ok = report.succeeded
        # keyed by output name: unique within a request, unlike upload names
        previews: Previews = [(r.output.name, r.before, r.after) for r in ok if r.output]
        first = (previews[0][1], previews[0][2]) if previews else None
        names = [name for name, _, _ in previews]
        compare = gr.update(choices=names, value=names[0] if names else None, visible=len(ok) > 1)
        downloads = [str(r.output) for r in ok] or None
        return first, downloads, format_report(report, done), compare, previews, str(workdir)

    def _message(self, text: str, *, toast: bool) -> Outputs:
        if toast:
            _toast(text.removeprefix("⚠️ "))
        return None, None, _escape(text), gr.update(visible=False), [], None


def _toast(text: str) -> None:
    """A warning toast in the page; Gradio renders it as HTML, so file names are escaped."""
    gr.Warning(html.escape(text[:500]))


# --- layout ---------------------------------------------------------------------------------


def _header(settings: WebSettings) -> None:
    gr.Markdown(
        "# daguerre\nRestore and age old photographs, or stylize any photo. Everything runs "
        "on this computer, at full resolution; uploads and results are deleted within 20 minutes."
    )
    limits = f"Up to {settings.max_upload_mb:g} MB and {settings.max_pixels / 1e6:g} MP per file."
    gr.Markdown(
        "Formats: PNG, JPEG, TIFF, WebP, BMP (8/16-bit, alpha kept), GIF and phone photos "
        f"(HEIC, AVIF; restored as PNG). {limits}"
    )


def _restore_tab(settings: WebSettings) -> tuple[gr.Button, list[Any]]:
    with gr.Tab("Restore", id="restore"):
        problem = model_problem(settings.model)
        if problem is not None:
            gr.Markdown(
                f"⚠️ {_escape(problem)}. Restoration is off; start the server with "
                "`daguerre serve --model FOLDER` pointing at a trained model folder.",
                elem_id="model-missing",
            )
        strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0 = unchanged)")
        scratch_off = scratch_problem(settings)
        scratches = gr.Checkbox(
            value=False,  # off by default until the detector/inpainting meet their targets
            interactive=scratch_off is None,
            label="Remove scratches, dust and tears"
            + ("" if scratch_off is None else f" (unavailable: {_escape(scratch_off)})"),
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


def _age_tab() -> tuple[gr.Button, list[Any]]:
    from daguerre.degrade.presets import PRESET_DESCRIPTIONS, preset_names

    with gr.Tab("Age", id="age"):
        choices = [(f"{n}: {PRESET_DESCRIPTIONS.get(n, '')}", n) for n in preset_names()]
        preset = gr.Dropdown(choices=choices, value="aged", label="Damage", elem_id="preset")
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
            strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
        button = gr.Button("Age", variant="primary", elem_id="age-btn")
    return button, [preset, seed, strength]


def _touchup_tab(settings: WebSettings) -> dict[str, Any]:
    with gr.Tab("Touch up scratches", id="touchup"):
        off = scratch_problem(settings)
        gr.Markdown(
            "For one photo (the first upload): find the damage (tinted red), paint **red** over "
            "damage it missed and **green** over marks on real detail, then restore."
            + ("" if off is None else f" ⚠️ Unavailable: {_escape(off)}.")
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


def _outputs() -> dict[str, Any]:
    status = gr.Markdown("", elem_id="status")
    compare = gr.Dropdown(label="Compare", choices=[], visible=False, elem_id="compare")
    slider = gr.ImageSlider(
        label="Before / after (preview)", type="pil", interactive=False, elem_id="slider"
    )
    downloads = gr.File(
        label="Full-resolution results (original format)",
        file_count="multiple",
        interactive=False,
        elem_id="downloads",
    )
    return {"status": status, "compare": compare, "slider": slider, "downloads": downloads}


def build_app(
    settings: WebSettings, workdirs: WorkDirs, *, examples: list[Path] | None = None
) -> gr.Blocks:
    """Build the page (not launched). ``examples``: photos offered as one-click uploads."""
    handlers = Handlers(settings, workdirs)
    file_types = sorted(SUPPORTED_EXTENSIONS)
    with gr.Blocks(title="daguerre", analytics_enabled=False, delete_cache=(300, 900)) as demo:
        _header(settings)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(
                    label="Photos (drop one or many)",
                    file_count="multiple",
                    file_types=file_types,
                    elem_id="upload",
                )
                if examples:
                    gr.Examples([[[str(p)]] for p in examples], inputs=[upload], label="Examples")
                tabs = [_restore_tab(settings), _age_tab()]
                touchup = _touchup_tab(settings)
                tabs.append(stylize_tab())
            with gr.Column(scale=2):
                out = _outputs()
        previews = gr.State([], time_to_live=900)  # preview images held per browser tab
        workdir = gr.State(None, time_to_live=900)
        outputs = [out["slider"], out["downloads"], out["status"], out["compare"]]
        outputs += [previews, workdir]
        fns = (handlers.restore, handlers.age, handlers.stylize)
        for (button, inputs), fn, name in zip(
            tabs, fns, ("restore", "age", "stylize"), strict=True
        ):
            # One shared queue for every task: one job at a time, whatever the tab.
            event = button.click(
                fn, [upload, *inputs], outputs, api_name=name, concurrency_id="jobs"
            )
            event.then(handlers.cleanup, [workdir], None, queue=False, api_visibility="private")
        detected = gr.State(None, time_to_live=900)  # the full-resolution mask of "find"
        touchup["find"].click(
            handlers.find_scratches,
            [upload, touchup["sensitivity"]],
            [touchup["editor"], detected, touchup["note"]],
            concurrency_id="jobs",
            api_visibility="private",
        )
        event = touchup["button"].click(
            handlers.restore_touched,
            [upload, touchup["editor"], detected, touchup["strength"]],
            outputs,
            concurrency_id="jobs",
            api_visibility="private",
        )
        event.then(handlers.cleanup, [workdir], None, queue=False, api_visibility="private")
        out["compare"].change(
            handlers.compare,
            [out["compare"], previews],
            out["slider"],
            queue=False,
            api_visibility="private",
        )
    return demo
