"""Guards the public API: removing or renaming a name must be a deliberate change."""

import json
import subprocess
import sys
from pathlib import Path

import daguerre


def test_all_matches_recorded_surface() -> None:
    recorded = json.loads((Path(__file__).parent / "api_surface.json").read_text())
    assert sorted(daguerre.__all__) == sorted(recorded)


def test_every_public_name_resolves() -> None:
    for name in daguerre.__all__:
        assert getattr(daguerre, name) is not None, name


def test_import_is_light() -> None:
    code = "import sys, daguerre; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
