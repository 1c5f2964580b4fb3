"""collect_inputs, scan_inputs (files not read), output_path, is_same_file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from daguerre.errors import UnknownNameError
from daguerre.io import (
    SUPPORTED_EXTENSIONS,
    WRITE_EXTENSIONS,
    collect_inputs,
    is_same_file,
    output_path,
)
from daguerre.io import image as image_module
from daguerre.io.discover import scan_inputs
from tests.io.corpus_parts import avif_available, heif_available

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for name in (
        "b.png", "a.JPG", "c.tiff", "d.webp", "e.bmp", "f.jpeg", "g.tif",
        "notes.txt", "raw.cr2", ".hidden.png", ".out.png.1a2b3c4d.tmp.png", "half.tmp.png",
        "sub/z.png", "sub/deeper/y.jpg", ".git/objects.png", "sub/.secret/x.png",
    ):  # fmt: skip
        touch(root / name)
    (root / "folder.png").mkdir()  # a folder with an image extension is not a file
    return root


def test_supported_extensions() -> None:
    always = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".mpo"}
    heif = {".heic", ".heif", ".hif"} if heif_available() else set()
    avif = {".avif"} if avif_available() else set()
    assert always | heif | avif == SUPPORTED_EXTENSIONS
    written = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
    assert written | (heif - {".hif"}) | avif == WRITE_EXTENSIONS  # never GIF or MPO


def test_folder_files_not_read_are_listed_with_a_reason(tree: Path) -> None:
    touch(tree / "anim.gif")
    touch(tree / "sub" / "readme")
    scan = scan_inputs([tree])
    assert [path.name for path in scan.files] == [
        "a.JPG", "anim.gif", "b.png", "c.tiff", "d.webp", "e.bmp", "f.jpeg", "g.tif",
    ]  # fmt: skip
    assert scan.unread == [
        (tree / "notes.txt", "unknown extension '.txt'"),
        (tree / "raw.cr2", "unknown extension '.cr2'"),
    ]  # hidden files, temp files and sub-folders (without --recursive) are not listed
    deep = scan_inputs([tree], recursive=True)
    assert (tree / "sub" / "readme", "no file extension") in deep.unread
    assert scan_inputs([tree / "notes.txt"]).unread == []  # named files are taken as given


def test_a_missing_decoder_is_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "phone.HEIC")
    without_heif = SUPPORTED_EXTENSIONS - {".heic", ".heif", ".hif"}
    monkeypatch.setattr(image_module, "SUPPORTED_EXTENSIONS", without_heif)
    scan = scan_inputs([tmp_path])
    assert scan.files == []
    assert scan.unread == [
        (tmp_path / "phone.HEIC", "HEIC/HEIF needs pillow-heif (pip install pillow-heif)")
    ]


def test_folder_gives_sorted_supported_visible_files(tree: Path) -> None:
    files, problems = collect_inputs([tree])
    assert problems == []
    names = [path.name for path in files]
    assert names == ["a.JPG", "b.png", "c.tiff", "d.webp", "e.bmp", "f.jpeg", "g.tif"]
    assert all(path.parent == tree for path in files)


def test_recursive_descends_but_skips_hidden_folders(tree: Path) -> None:
    files, _ = collect_inputs([str(tree)], recursive=True)
    relative = [path.relative_to(tree).as_posix() for path in files]
    assert "sub/z.png" in relative and "sub/deeper/y.jpg" in relative
    assert not any(part.startswith(".") for rel in relative for part in rel.split("/"))
    assert relative == sorted(relative, key=lambda rel: Path(rel).parts)


def test_files_are_taken_as_given(tree: Path) -> None:
    files, problems = collect_inputs([tree / "notes.txt", tree / ".hidden.png"])
    assert files == [tree / "notes.txt", tree / ".hidden.png"] and problems == []


def test_missing_paths_are_reported_not_dropped(tree: Path) -> None:
    files, problems = collect_inputs([tree / "nope.png", tree / "b.png", "also/missing"])
    assert files == [tree / "b.png"]
    assert [path for path, _ in problems] == [tree / "nope.png", Path("also/missing")]
    assert all("no such file" in reason for _, reason in problems)


@needs_symlinks
def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    link = tmp_path / "dangling.png"
    link.symlink_to(tmp_path / "gone.png")
    files, problems = collect_inputs([link])
    assert files == [] and problems == [(link, "broken symbolic link")]


def test_duplicates_are_removed_keeping_first_order(tree: Path) -> None:
    files, _ = collect_inputs([tree / "e.bmp", tree, tree / "e.bmp", tree / "sub" / ".." / "b.png"])
    names = [path.name for path in files]
    assert names[0] == "e.bmp"
    assert len(names) == len(set(names)) == 7


@needs_symlinks
def test_symlinked_duplicate_counts_once(tmp_path: Path) -> None:
    real = touch(tmp_path / "real.png")
    (tmp_path / "alias.png").symlink_to(real)
    files, _ = collect_inputs([real, tmp_path / "alias.png"])
    assert files == [real]


@needs_symlinks
def test_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "one.png")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    files, _ = collect_inputs([tmp_path / "a"], recursive=True)
    assert [path.name for path in files] == ["one.png"]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_subfolder_is_reported(tmp_path: Path) -> None:
    touch(tmp_path / "ok.png")
    locked = tmp_path / "locked"
    touch(locked / "hidden_from_us.png")
    locked.chmod(0)
    try:
        files, problems = collect_inputs([tmp_path], recursive=True)
    finally:
        locked.chmod(0o755)
    assert [path.name for path in files] == ["ok.png"]
    assert problems and problems[0][0] == locked


def test_output_path_defaults_to_png_in_out_dir(tmp_path: Path) -> None:
    result = output_path(Path("in/deep/photo.jpg"), tmp_path / "out")
    assert result == tmp_path / "out" / "photo.png"


@pytest.mark.parametrize(("fmt", "ext"), [("jpg", ".jpg"), (".JPG", ".jpg"), ("TIFF", ".tiff")])
def test_output_path_format_and_suffix(fmt: str, ext: str) -> None:
    result = output_path(Path("a/photo.v2.png"), Path("out"), fmt=fmt, suffix="_restored")
    assert result == Path("out") / f"photo.v2_restored{ext}"


def test_output_path_keeps_structure_below_base(tmp_path: Path) -> None:
    base = tmp_path / "in"
    result = output_path(base / "2020" / "may" / "x.png", tmp_path / "out", base=base)
    assert result == tmp_path / "out" / "2020" / "may" / "x.png"
    assert output_path(base / "x.png", tmp_path / "out", base=base) == tmp_path / "out" / "x.png"
    with pytest.raises(ValueError, match="not inside"):
        output_path(tmp_path / "elsewhere" / "x.png", tmp_path / "out", base=base)


def test_output_path_rejects_unknown_format() -> None:
    with pytest.raises(UnknownNameError, match="choose from"):
        output_path(Path("x.png"), Path("out"), fmt="gif")


def test_is_same_file(tmp_path: Path) -> None:
    first, second = touch(tmp_path / "one.png"), touch(tmp_path / "two.png")
    assert is_same_file(first, first)
    assert is_same_file(first, tmp_path / "." / "one.png")
    assert not is_same_file(first, second)
    assert not is_same_file(first, tmp_path / "missing.png")
    assert not is_same_file(tmp_path / "missing.png", tmp_path / "missing.png")


@needs_symlinks
def test_is_same_file_follows_symlinks(tmp_path: Path) -> None:
    real = touch(tmp_path / "real.png")
    (tmp_path / "link.png").symlink_to(real)
    assert is_same_file(tmp_path / "link.png", real)
