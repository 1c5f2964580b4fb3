"""Markdown text for the web page: user-controlled names escaped, and a job's summary. No Gradio."""

from __future__ import annotations

import re

from daguerre.web.jobs import JobReport

__all__ = ["escape_markdown", "format_report"]

# Inline Markdown syntax; names never start a line (each line starts with a mark), so the
# block-level characters (#, -, +, 1.) need no escaping.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")


def escape_markdown(text: str) -> str:
    """Escape Markdown syntax in user-controlled text (file names)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def format_report(report: JobReport, done: str) -> str:
    """Markdown summary of a job: what was written and, per failed file, why.

    Example:
        >>> from pathlib import Path
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
            name, output = escape_markdown(result.name), escape_markdown(output)
            lines.append(f"- ✓ {name} → {output} ({width}×{height})")
        sections.append("\n".join(lines))
    if report.errors:
        lines = [f"**Could not process {len(report.errors)} file(s):**"]
        lines.extend(f"- ⚠️ {escape_markdown(line)}" for line in report.errors)
        sections.append("\n".join(lines))
    return "\n\n".join(sections)
