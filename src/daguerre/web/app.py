"""The Gradio page of ``daguerre serve``: upload photos, restore, age or stylize them, download.

A thin shell over :mod:`daguerre.web.jobs` (which calls the Python API): one upload area shared
by one tab per task. Each task tab has its settings and a button; adding a task means one more
tab module (like :mod:`daguerre.web.restore_tab`, :mod:`daguerre.web.age_tab` and
:mod:`daguerre.web.stylize_tab`), one task module (like :mod:`daguerre.web.restore_jobs`) and
one more :class:`Handlers` method.

Results appear as a before/after comparison slider (downscaled preview) and as
full-resolution downloads in each input's own format. Messages (bad files, limits, a missing
model) appear in the page as text and as a toast, never as a traceback. Jobs are queued one at a
time (``default_concurrency_limit=1``) so two uploads do not fight over the CPU cores.

This module imports gradio; it is imported only by ``daguerre serve`` and the tests.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import gradio as gr

from daguerre.errors import DaguerreError
from daguerre.io.image import SUPPORTED_EXTENSIONS
from daguerre.web.age_jobs import age_task
from daguerre.web.age_tab import age_tab
from daguerre.web.jobs import Task, WebSettings, WorkDirs, read_upload, run_job
from daguerre.web.report import escape_markdown, format_report
from daguerre.web.restore_jobs import model_problem, restore_task, scratch_problem
from daguerre.web.restore_tab import BEST_ENSEMBLE, restore_tab, scratch_threshold, touchup_tab
from daguerre.web.stylize_jobs import painting_problem, stylize_task
from daguerre.web.stylize_tab import OWN_PAINTING, stylize_tab
from daguerre.web.touchup import Detected, find_defects, touched_mask

logger = logging.getLogger(__name__)

__all__ = ["Handlers", "build_app"]

Previews = list[tuple[str, Any, Any]]  # (output name, before PIL image, after PIL image)
Outputs = tuple[Any, list[str] | None, str, Any, Previews, str | None]
_WORDS = {  # output suffix -> (progress, summary)
    "restored": ("Restoring", "Restored"),
    "aged": ("Ageing", "Aged"),
    "stylized": ("Stylizing", "Stylized"),
}
# Gradio spots the progress parameter by its default; one shared instance is what a
# per-function `gr.Progress()` default is too (its callback is per request).
_PROGRESS = gr.Progress()
NO_FILES = "Upload one or more photos first (drag them onto the upload area)."
NO_MASK = "Press “Find scratches” first, or paint the damage on the photo in red."
NO_PAINTING = "Upload the painting to take the style from, or choose one of the styles."


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
            return gr.skip(), None, escape_markdown(NO_FILES)
        if (why := scratch_problem(self.settings)) is not None:
            return gr.skip(), None, escape_markdown(f"⚠️ scratch removal unavailable: {why}")
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
            return gr.skip(), None, escape_markdown(f"⚠️ {Path(paths[0]).name}: {err}")
        share = float(detected.mask.float().mean()) * 100
        note = f" (the first of {len(paths)} uploads)" if len(paths) > 1 else ""
        name = escape_markdown(Path(paths[0]).name)
        status = (
            f"Marked {share:.2f} % of {name}{note} (tinted red). Paint "
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
        return None, None, escape_markdown(text), gr.update(visible=False), [], None


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
                tabs = [restore_tab(settings), age_tab()]
                touchup = touchup_tab(settings)
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
