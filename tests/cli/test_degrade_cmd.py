"""``daguerre degrade`` and ``daguerre presets`` end to end on tiny files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from daguerre.cli.app import app
from daguerre.degrade.presets import preset_names
from daguerre.io.image import read_image, write_image
from tests.badfiles import BAD_KEYS, make_corpus

runner = CliRunner()


def _photos(folder: Path, names: str = "abc") -> list[Path]:
    gen = torch.Generator().manual_seed(0)
    paths = []
    for index, name in enumerate(names):
        size = (24 + 4 * index, 32)
        base = torch.rand(1, 3, 6, 8, generator=gen)
        img = torch.nn.functional.interpolate(base, size=size, mode="bilinear")[0]
        paths.append(write_image(folder / f"{name}.png", img))
    return paths


def _degrade(*args: str | Path) -> object:
    return runner.invoke(app, ["degrade", *map(str, args)])


def test_folder_in_same_size_same_stems_out(tmp_path: Path) -> None:
    inputs = _photos(tmp_path / "in")
    result = _degrade(tmp_path / "in", "-o", tmp_path / "out", "--seed", "7")
    assert result.exit_code == 0, result.output
    for path in inputs:
        out = read_image(tmp_path / "out" / f"{path.stem}.png")
        assert out.meta.size == read_image(path).meta.size
        assert not torch.equal(out.rgb, read_image(path).rgb)  # something was done
    assert "3 done, 0 failed" in result.output
    assert not [p for p in (tmp_path / "out").rglob("*") if ".tmp" in p.name]


def test_same_seed_same_bytes_and_files_are_independent(tmp_path: Path) -> None:
    _photos(tmp_path / "in")
    _degrade(tmp_path / "in", "-o", tmp_path / "one", "--seed", "7")
    _degrade(tmp_path / "in", "-o", tmp_path / "two", "--seed", "7")
    _degrade(tmp_path / "in" / "b.png", "-o", tmp_path / "alone", "--seed", "7")
    _degrade(tmp_path / "in", "-o", tmp_path / "other", "--seed", "8")
    for name in ("a.png", "b.png", "c.png"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert (tmp_path / "alone" / "b.png").read_bytes() == (tmp_path / "one" / "b.png").read_bytes()
    different = [
        (tmp_path / "one" / name).read_bytes() != (tmp_path / "other" / name).read_bytes()
        for name in ("a.png", "b.png", "c.png")
    ]
    assert any(different)


def test_save_mask_and_params(tmp_path: Path) -> None:
    (photo,) = _photos(tmp_path, "p")
    result = _degrade(photo, "-o", tmp_path / "out", "--save-mask", "--save-params", "-q")
    assert result.exit_code == 0, result.output
    mask = read_image(tmp_path / "out" / "p_mask.png")
    assert mask.meta.is_gray and mask.meta.size == read_image(photo).meta.size
    record = json.loads((tmp_path / "out" / "p_params.json").read_text())
    assert record["preset"] == "aged" and record["seed"] == 0 and record["key"] == "p"
    assert isinstance(record["file_seed"], int) and record["params"]


def test_strength_zero_returns_the_input(tmp_path: Path) -> None:
    (photo,) = _photos(tmp_path, "p")
    result = _degrade(photo, "-o", tmp_path / "out", "--strength", "0")
    assert result.exit_code == 0, result.output
    assert torch.equal(read_image(tmp_path / "out" / "p.png").rgb, read_image(photo).rgb)


def test_bad_corpus_mixed_batch(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "in")
    result = _degrade(tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    for key in BAD_KEYS:
        assert any(line.startswith(f"error: {corpus[key]}: ") for line in error_lines), key
    out = tmp_path / "out"
    assert read_image(out / "png16.png").meta.bit_depth == 16
    assert read_image(out / "tiff16.png").meta.bit_depth == 16
    assert read_image(out / "gray16.png").meta.is_gray
    assert read_image(out / "rgba.png").alpha is not None
    assert read_image(out / "exif_rotated.png").meta.size == (32, 48)  # stored 48x32, rotated
    assert f"{len(BAD_KEYS)} failed" in result.output
    multipage = corpus["multipage_tiff"]
    assert f"warning: {multipage}: 2 pages/frames; only the first is read" in result.output
    assert "UserWarning" not in result.output


def test_unknown_preset_is_a_usage_error(tmp_path: Path) -> None:
    (photo,) = _photos(tmp_path, "p")
    result = _degrade(photo, "-o", tmp_path / "out", "--preset", "ancient")
    assert result.exit_code == 2
    assert "ancient" in result.output and preset_names()[0] in result.output
    assert not (tmp_path / "out").exists()


def test_refuses_to_overwrite_inputs_in_place(tmp_path: Path) -> None:
    inputs = _photos(tmp_path)
    before = [path.read_bytes() for path in inputs]
    result = _degrade(tmp_path, "-o", tmp_path)
    assert result.exit_code == 1
    assert [path.read_bytes() for path in inputs] == before
    for path in inputs:
        assert f"error: {path}: refusing to overwrite input file" in result.output


def test_quiet_prints_only_errors_and_summary(tmp_path: Path) -> None:
    _photos(tmp_path / "in", "ab")
    (tmp_path / "in" / "bad.png").write_bytes(b"junk")
    result = _degrade(tmp_path / "in", "-o", tmp_path / "out", "-q")
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith(f"error: {tmp_path / 'in' / 'bad.png'}: ")
    assert lines[1] == "2 done, 1 failed" and not any(line.startswith("ok:") for line in lines)


def test_ctrl_c_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import daguerre.pipelines.age as age_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(age_module, "age_tensor", interrupted)
    _photos(tmp_path / "in", "ab")
    result = _degrade(tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 130
    assert "interrupted: 2 file(s) not processed" in result.output


def test_sharded_by_torchrun_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _photos(tmp_path / "in", "abc")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = _degrade(tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["b.png"]


def test_presets_listing() -> None:
    listed = runner.invoke(app, ["presets"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == preset_names()
    flag = runner.invoke(app, ["degrade", "--list-presets"])
    assert (flag.exit_code, flag.output) == (0, listed.output)


def test_real_process_exit_codes(tmp_path: Path) -> None:
    (photo,) = _photos(tmp_path, "p")
    (tmp_path / "bad.jpg").write_bytes(b"")
    command = [sys.executable, "-m", "daguerre", "degrade", str(photo), str(tmp_path / "bad.jpg")]
    done = subprocess.run(
        [*command, "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and f"error: {tmp_path / 'bad.jpg'}: " in done.stderr
    assert (tmp_path / "out" / "p.png").is_file()
