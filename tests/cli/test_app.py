"""The CLI entry point: fast --version, command registry, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from daguerre import __version__
from daguerre.cli import app as app_module
from daguerre.errors import ConfigError

runner = CliRunner()

LIGHTNESS_CHECK = """
import sys
from daguerre.cli.app import main
sys.argv = ["daguerre", "--version"]
try:
    main()
except SystemExit as exit_:
    assert exit_.code in (0, None), exit_.code
heavy = [name for name in ("torch", "numpy", "cv2", "PIL") if name in sys.modules]
print("HEAVY", heavy)
"""


def test_version_is_fast_and_imports_nothing_heavy() -> None:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LIGHTNESS_CHECK], capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert f"daguerre {__version__}" in done.stdout
    assert "HEAVY []" in done.stdout
    assert elapsed < 5.0  # typically ~0.3 s; torch alone takes ~2 s to import


def test_python_dash_m_and_console_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daguerre", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"daguerre {__version__}")
    script = Path(sys.executable).parent / "daguerre"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, f"daguerre {__version__}")


def test_help_lists_registered_commands() -> None:
    result = runner.invoke(app_module.app, ["--help"])
    assert result.exit_code == 0
    assert "degrade" in result.output and "presets" in result.output
    for module in app_module.COMMANDS:
        assert callable(module.register)


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app_module.app, ["--no-such-flag"]).exit_code == 2
    assert runner.invoke(app_module.app, ["no-such-command"]).exit_code == 2
    result = runner.invoke(app_module.app, ["degrade", "x.png"])  # missing -o
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_main_turns_a_daguerre_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = typer.Typer()

    @broken.command()
    def explode() -> None:
        raise ConfigError("train.lr: expected a float, got 'fast'")

    monkeypatch.setattr(app_module, "app", broken)
    monkeypatch.setattr(sys, "argv", ["daguerre"])
    with pytest.raises(SystemExit) as exit_info:
        app_module.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err == "error: train.lr: expected a float, got 'fast'\n"


@pytest.mark.parametrize(
    ("kind", "folders"),
    [
        ("restore", ["--data", "--val"]),
        ("scratch", ["--data", "--val"]),
        ("grade", ["--data", "--val"]),
        ("router", ["--data", "--val"]),
        ("style", ["--a", "--b"]),
        ("adain", ["--content", "--style"]),
    ],
)
def test_every_train_kind_keeps_its_options(kind: str, folders: list[str]) -> None:
    result = runner.invoke(app_module.app, ["train", kind, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    shared = ["--out", "--config", "--set", "--resume", "--device", "--wandb"]
    assert all(flag in result.output for flag in [*folders, *shared])
    missing = runner.invoke(app_module.app, ["train", kind, "--out", "x"])  # no folders
    assert missing.exit_code == 2 and "Traceback" not in missing.output
