"""Cache of precomputed training samples in a run folder, redone when their recipe changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def cached(path: Path, recipe: dict[str, Any], build: Callable[[], T]) -> T:
    """``build()``'s result, saved at ``path`` with ``recipe``; reused while the recipe matches.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> cached(folder / "s.pt", {"n": 2}, lambda: [1, 2])
        [1, 2]
        >>> cached(folder / "s.pt", {"n": 2}, lambda: "not called")
        [1, 2]
        >>> cached(folder / "s.pt", {"n": 3}, lambda: [1, 2, 3])
        [1, 2, 3]
    """
    if path.is_file():
        saved = torch.load(path, weights_only=False)
        if saved.get("recipe") == recipe:
            return saved["samples"]
    samples = build()
    torch.save({"recipe": recipe, "samples": samples}, path)
    return samples
