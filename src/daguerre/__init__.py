"""daguerre: restore, age and restyle old photographs with GANs it trains itself.

Heavy modules (torch, the networks) are imported lazily, so ``import daguerre`` and
``daguerre --version`` are instant.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "age", "read_image", "restore", "stylize", "write_image"]


def __getattr__(name: str) -> Any:
    """Import the public API lazily."""
    if name in ("read_image", "write_image"):
        from daguerre.io import image

        return getattr(image, name)
    if name == "age":
        from daguerre.pipelines.age import age

        return age
    if name == "stylize":
        from daguerre.pipelines.stylize import stylize

        return stylize
    if name == "restore":
        from daguerre.pipelines.restore import restore

        return restore
    raise AttributeError(f"module 'daguerre' has no attribute '{name}'")
