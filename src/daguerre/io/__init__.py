"""Image files in and out: float32 RGB tensors in [0, 1] plus :class:`ImageMeta`.

``uint8``/``uint16`` data exists only inside this package (STYLE.md rule 4).
"""

from __future__ import annotations

from daguerre.io.discover import collect_inputs, is_same_file, output_path, scan_inputs
from daguerre.io.image import (
    SUPPORTED_EXTENSIONS,
    WRITE_EXTENSIONS,
    LoadedImage,
    from_array,
    from_pil,
    read_image,
    to_pil,
    write_image,
)
from daguerre.io.meta import ImageMeta, ImageMetadataWarning

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "WRITE_EXTENSIONS",
    "ImageMeta",
    "ImageMetadataWarning",
    "LoadedImage",
    "collect_inputs",
    "from_array",
    "from_pil",
    "is_same_file",
    "output_path",
    "read_image",
    "scan_inputs",
    "to_pil",
    "write_image",
]
