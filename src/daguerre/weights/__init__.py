"""Shipped model weights and the loaders for them.

Each shipped model lives in ``daguerre/weights/<name>/`` (``model.safetensors`` in fp16,
``config.json``, ``MODEL_CARD.md``) and is found through ``importlib.resources``, so it works
from a wheel, an sdist or a git checkout. Nothing is ever downloaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from daguerre.errors import CheckpointNotFoundError

if TYPE_CHECKING:
    from torch import nn

    from daguerre.weights.checkpoint import ModelConfig


def package_dir() -> Path:
    """The folder holding the shipped model folders."""
    return Path(str(resources.files("daguerre.weights")))


def list_models() -> list[str]:
    """Names of shipped models (sub-folders with a config.json), e.g. ``restore``, ``styles/x``."""
    root = package_dir()
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("config.json"))


def model_dir(name_or_dir: str | Path) -> Path:
    """Resolve a shipped model name or a user folder to a model folder."""
    path = Path(name_or_dir)
    if (path / "config.json").is_file():
        return path
    shipped = package_dir() / str(name_or_dir)
    if (shipped / "config.json").is_file():
        return shipped
    raise CheckpointNotFoundError(
        f"model '{name_or_dir}' not found; shipped: {', '.join(list_models()) or 'none'}"
    )


def load_model(name_or_dir: str | Path) -> tuple[nn.Module, ModelConfig]:
    """Load a shipped model by name, or any model folder, as float32 in eval mode."""
    from daguerre.weights.checkpoint import load_model as _load

    return _load(model_dir(name_or_dir))
