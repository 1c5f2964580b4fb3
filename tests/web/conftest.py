"""Fixtures shared by the page's handler tests: a tiny model, work folders, handlers, bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daguerre.web.devserver import tiny_model
from daguerre.web.jobs import WebSettings, WorkDirs
from tests.badfiles import make_corpus


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def workdirs() -> Iterator[WorkDirs]:
    dirs = WorkDirs()
    yield dirs
    dirs.close()


@pytest.fixture
def handlers(model: Path, workdirs: WorkDirs) -> Any:
    """The page's :class:`~daguerre.web.app.Handlers` on the tiny model (imports gradio)."""
    pytest.importorskip("gradio")
    from daguerre.web.app import Handlers

    return Handlers(WebSettings(model=str(model), max_upload_mb=1.0), workdirs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))
