"""Typed errors raised by daguerre.

Every error a user can cause derives from :class:`DaguerreError`, so the CLI can
report it in one line without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class DaguerreError(Exception):
    """Base class of every error daguerre raises on purpose."""


class ImageReadError(DaguerreError):
    """An image file could not be read (missing, empty, truncated, not an image, too large)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageWriteError(DaguerreError):
    """An image could not be written (unsupported format, refused overwrite, I/O failure)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DecompressionBombError(ImageReadError):
    """An image has more pixels than the configured limit."""


class ConfigError(DaguerreError):
    """A configuration file or override is invalid (unknown key, wrong type)."""


class UnknownNameError(DaguerreError):
    """A registry lookup failed; the message lists the valid names.

    Example:
        >>> str(UnknownNameError("generator", "unett", ["unet", "resnet"]))
        "generator 'unett'; choose from: resnet, unet"
    """

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        super().__init__(f"{kind} '{name}'; choose from: {', '.join(self.choices)}")


class CheckpointMismatchError(DaguerreError):
    """Weights do not fit the network described by a checkpoint's config."""


class CheckpointNotFoundError(DaguerreError):
    """A model name or checkpoint folder does not exist."""


class TileOOMError(DaguerreError):
    """Tiled inference ran out of memory even at the minimum tile size."""
