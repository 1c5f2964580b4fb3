"""Reporting for the batch commands: progress lines or a Rich bar, the summary, exit codes.

:func:`daguerre.cli.batch.run_batch` sends per-file events to a :class:`Reporter` and returns a
:class:`BatchReport`; :func:`exit_with` prints its summary and leaves the CLI with its exit code
(0 ok, 1 any failure, 130 interrupted). Everything here is re-exported by
:mod:`daguerre.cli.batch`.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import typer

from daguerre.errors import ImageReadError, ImageWriteError

UNREAD = "not read: "  # reason prefix of a folder's file that no reader takes (batch skips it)

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130

# --- outcome --------------------------------------------------------------------------------


@dataclasses.dataclass
class BatchReport:
    """What a batch did. ``exit_code``: 130 interrupted, 1 any failure, else 0."""

    done: list[tuple[Path, list[Path]]] = dataclasses.field(default_factory=list)
    failed: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    skipped: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    not_started: int = 0
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """Process exit code for this outcome."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK


# --- reporting ------------------------------------------------------------------------------


def error_line(path: Path, reason: str) -> str:
    """The one-line report of a failed file: ``error: <path>: <reason>``."""
    return f"error: {path}: {' '.join(reason.split())}"


class Reporter:
    """Progress events as plain lines on ``stream`` (stderr by default); ``quiet``: errors only.

    ``run_batch`` calls ``start`` once, then per file any ``warned`` and one of ``done``,
    ``skipped`` or ``failed``, and ``close`` at the end (also on Ctrl-C). ``RichReporter``
    overrides ``start``/``advance``/``emit``/``close`` to draw a bar instead of ``ok:`` lines.
    """

    show_done = True  # one "ok:" line per finished file

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self._stream = stream

    def start(self, total: int) -> None:
        """The loop is about to handle ``total`` files."""

    def advance(self) -> None:
        """One more file was handled."""

    def emit(self, line: str) -> None:
        """Show one line."""
        print(line, file=self._stream or sys.stderr, flush=True)

    def close(self) -> None:
        """The loop ended."""

    def done(self, path: Path, outputs: list[Path]) -> None:  # noqa: D102
        self.advance()
        if self.show_done and not self.quiet:
            self.emit(f"ok: {path} -> {', '.join(str(out) for out in outputs)}")

    def skipped(self, path: Path, reason: str) -> None:  # noqa: D102
        self.advance()
        if self.show_done and not self.quiet:
            self.emit(f"skip: {path}: {reason}")

    def failed(self, path: Path, reason: str) -> None:  # noqa: D102
        self.advance()
        self.emit(error_line(path, reason))

    def warned(self, path: Path, message: str) -> None:  # noqa: D102
        if not self.quiet:
            self.emit(f"warning: {path}: {' '.join(message.split())}")


class RichReporter(Reporter):
    """A Rich progress bar with ETA (for terminals); errors and warnings print above it."""

    show_done = False

    def __init__(self, label: str, *, console: Any = None) -> None:
        from rich import progress as bar
        from rich.console import Console

        super().__init__()
        columns = (bar.TextColumn("{task.description}"), bar.BarColumn(), bar.MofNCompleteColumn())
        timers = (bar.TimeElapsedColumn(), bar.TimeRemainingColumn())
        self.progress = bar.Progress(*columns, *timers, console=console or Console(stderr=True))
        self.label = label
        self.task: Any = None

    def start(self, total: int) -> None:  # noqa: D102
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=total)

    def advance(self) -> None:  # noqa: D102
        self.progress.advance(self.task)

    def emit(self, line: str) -> None:  # noqa: D102
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:  # noqa: D102
        self.progress.stop()


def make_reporter(label: str, *, quiet: bool) -> Reporter:
    """A Rich bar when stderr is a terminal (and not ``quiet``), else plain lines."""
    if not quiet and sys.stderr.isatty():
        return RichReporter(label)
    return Reporter(quiet=quiet)


def summary_lines(report: BatchReport) -> list[str]:
    """``N done, M failed[, K skipped]``, then the failures and the unread files, one a line."""
    head = f"{len(report.done)} done, {len(report.failed)} failed"
    if report.skipped:
        head += f", {len(report.skipped)} skipped"
    lines = [head]
    if report.interrupted:
        lines.append(f"interrupted: {report.not_started} file(s) not processed")
    if report.failed:
        lines.append("failed:")
        lines.extend(f"  {path}: {' '.join(reason.split())}" for path, reason in report.failed)
    unread = [(path, reason) for path, reason in report.skipped if reason.startswith(UNREAD)]
    if unread:
        lines.append("not read:")
        lines.extend(f"  {path}: {reason.removeprefix(UNREAD)}" for path, reason in unread)
    return lines


def exit_with(report: BatchReport, *, stream: TextIO | None = None) -> NoReturn:
    """Print the summary on stderr and leave the CLI with ``report.exit_code``."""
    for line in summary_lines(report):
        print(line, file=stream or sys.stderr)
    raise typer.Exit(report.exit_code)


# --- per-file errors ------------------------------------------------------------------------


def describe_error(err: BaseException) -> str:
    """A one-line reason for a per-file failure (the input path is printed separately)."""
    if isinstance(err, ImageWriteError):
        return f"cannot write {err.path}: {err.reason}"
    if isinstance(err, ImageReadError):
        return err.reason
    if isinstance(err, MemoryError):
        return "out of memory (image too large?)"
    if isinstance(err, OSError) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        return f"{err.strerror}{where}"
    return str(err) or type(err).__name__
