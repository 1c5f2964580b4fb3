"""Turn command-line inputs (files and folders) into a list of image paths.

Nothing here opens an image: a file named on the command line is taken as given, and
reading it later reports whatever is wrong with it. Paths that do not exist are returned
with a reason instead of being dropped, and so are the files a folder walk leaves out
because of their extension, so a folder run can report every problem and every file it did
not read at the end.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daguerre.errors import UnknownNameError
from daguerre.io.image import WRITE_EXTENSIONS, unread_reason


@dataclass
class InputScan:
    """What command-line inputs expand to.

    Attributes:
        files: The image paths to process, in a stable order, without duplicates.
        problems: ``(path, reason)`` for each input that could not be used (missing,
            unreadable folder, broken link).
        unread: ``(path, reason)`` for each visible file inside a given folder that is not
            read because of its extension (``"unknown extension '.txt'"``), sorted.
    """

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    unread: list[tuple[Path, str]] = field(default_factory=list)


def collect_inputs(
    inputs: Sequence[str | Path], *, recursive: bool = False
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into image paths, in a stable order, without duplicates.

    Files are kept whatever their extension. Folders contribute their files with a
    supported extension (any case), sorted by path; sub-folders only with ``recursive``.
    Hidden files and folders (name starting with ``.``), which include the temporary files
    :func:`daguerre.io.write_image` writes, are skipped inside folders. Use
    :func:`scan_inputs` to also learn which folder files were left out.

    Args:
        inputs: File and folder paths, in the order the user gave them.
        recursive: Descend into sub-folders.

    Returns:
        ``(files, problems)``: the paths to process, and ``(path, reason)`` for each input
        that could not be used (missing, unreadable folder, broken link).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     for name in ("b.PNG", "a.jpg", "notes.txt", ".hidden.png"):
        ...         _ = (Path(folder) / name).write_bytes(b"")
        ...     files, problems = collect_inputs([folder, Path(folder) / "gone.png"])
        ...     [path.name for path in files], [reason for _, reason in problems]
        (['a.jpg', 'b.PNG'], ['no such file or folder'])
    """
    scan = scan_inputs(inputs, recursive=recursive)
    return scan.files, scan.problems


def scan_inputs(inputs: Sequence[str | Path], *, recursive: bool = False) -> InputScan:
    """Like :func:`collect_inputs`, plus the folder files left out because of their extension.

    Args:
        inputs: File and folder paths, in the order the user gave them.
        recursive: Descend into sub-folders.

    Returns:
        The files to process, the unusable inputs, and the visible files inside the given
        folders that are not read (each once, with the reason).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     for name in ("a.jpg", "notes.txt", "anim.gif", ".hidden.txt"):
        ...         _ = (Path(folder) / name).write_bytes(b"")
        ...     scan = scan_inputs([folder])
        ...     [p.name for p in scan.files], [(p.name, why) for p, why in scan.unread]
        (['a.jpg', 'anim.gif'], [('notes.txt', "unknown extension '.txt'")])
    """
    scan = InputScan()
    seen: set[Path] = set()
    unread_seen: set[Path] = set()
    for raw in inputs:
        given = Path(raw)
        if given.is_dir():
            found, trouble, unread = _scan_folder(given, recursive=recursive)
            scan.problems.extend(trouble)
            for path, reason in unread:
                if _identity(path) not in unread_seen:
                    unread_seen.add(_identity(path))
                    scan.unread.append((path, reason))
        elif given.exists():
            found = [given]
        else:
            reason = "broken symbolic link" if given.is_symlink() else "no such file or folder"
            scan.problems.append((given, reason))
            continue
        for path in found:
            key = _identity(path)
            if key not in seen:
                seen.add(key)
                scan.files.append(path)
    return scan


def _scan_folder(
    folder: Path, *, recursive: bool
) -> tuple[list[Path], list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Image files under ``folder``, unreadable sub-folders, and files left out (sorted)."""
    found: list[Path] = []
    problems: list[tuple[Path, str]] = []
    unread: list[tuple[Path, str]] = []

    def on_error(error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        problems.append((Path(error.filename or folder), f"cannot list folder ({reason})"))

    # followlinks=False: a symlinked folder cannot make the walk loop forever.
    for directory, subdirs, names in os.walk(folder, onerror=on_error, followlinks=False):
        # Hidden folders (.git, .cache) are pruned; sorting keeps the walk deterministic.
        subdirs[:] = (
            sorted(name for name in subdirs if not name.startswith(".")) if recursive else []
        )
        for name in names:
            path = Path(directory) / name
            if not _is_visible_file(path):
                continue
            reason = unread_reason(path)
            if reason is None:
                found.append(path)
            else:
                unread.append((path, reason))
    return sorted(found), problems, sorted(unread)


def _is_visible_file(path: Path) -> bool:
    """A visible regular file that is not our temp file."""
    name = path.name
    if name.startswith("."):
        return False
    if Path(name[: -len(path.suffix)]).suffix.lower() == ".tmp":
        return False  # write_image's temp files are hidden too; this catches renamed ones
    return path.is_file()


def _identity(path: Path) -> Path:
    """Key for de-duplication: the resolved path (same file named twice counts once)."""
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def output_path(
    input_path: Path,
    out_dir: Path,
    *,
    fmt: str | None = None,
    suffix: str = "",
    base: Path | None = None,
) -> Path:
    """Where the result for ``input_path`` goes: ``out_dir/[sub/]<stem><suffix>.<fmt>``.

    Args:
        input_path: The image being processed.
        out_dir: The output folder.
        fmt: Output extension with or without a dot (``"png"``, ``".JPG"``, ``"tiff"``);
            default ``"png"``. One of ``WRITE_EXTENSIONS``.
        suffix: Appended to the stem, e.g. ``"_restored"``.
        base: The folder argument ``input_path`` was found in; its sub-folder structure
            below ``base`` is kept. ``None`` puts every output directly in ``out_dir``.

    Returns:
        The output path (nothing is created).

    Raises:
        UnknownNameError: ``fmt`` is not a supported image extension.
        ValueError: ``input_path`` is not inside ``base``.

    Example:
        >>> output_path(Path("in/a/b.jpg"), Path("out"), suffix="_x", base=Path("in")).as_posix()
        'out/a/b_x.png'
    """
    extension = "." + (fmt or "png").lower().lstrip(".")
    if extension not in WRITE_EXTENSIONS:
        choices = [choice.lstrip(".") for choice in WRITE_EXTENSIONS]
        raise UnknownNameError("output format", fmt or "", choices)
    name = f"{input_path.stem}{suffix}{extension}"
    if base is None:
        return out_dir / name
    return out_dir / _relative_folder(input_path, base) / name


def _relative_folder(input_path: Path, base: Path) -> Path:
    """Sub-folder of ``input_path`` below ``base``, trying the paths as given, then resolved."""
    for child, parent in ((input_path, base), (input_path.resolve(), base.resolve())):
        if child.is_relative_to(parent):
            return child.parent.relative_to(parent)
    raise ValueError(f"{input_path} is not inside {base}")


def is_same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are the same file (symlinks and hard links resolved).

    Used to refuse writing a result over its own input.

    Args:
        a: First path.
        b: Second path; may not exist yet.

    Returns:
        ``False`` when either path does not exist.

    Example:
        >>> is_same_file(Path("."), Path("./missing-file.png"))
        False
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
