"""Self-describing model folders: ``model.safetensors`` + ``config.json``; trainer state apart.

A model folder holds everything needed to rebuild the network: the registry name (``arch``),
its constructor ``kwargs``, the input/output range and the size multiple it needs. Loading is
strict and a mismatch raises :class:`CheckpointMismatchError` with a readable key diff.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from daguerre.errors import CheckpointMismatchError, CheckpointNotFoundError

FORMAT_VERSION = "1.0.0"


@dataclass(frozen=True)
class ModelConfig:
    """What ``config.json`` holds; enough to rebuild and use the network."""

    arch: str
    kwargs: dict[str, Any]
    kind: str = "generator"  # generator | discriminator | scratch | style
    in_range: str = "[0,1]"
    out_range: str = "[0,1]"
    pad_multiple: int = 1
    scale: int = 1
    dtype: str = "float32"
    version: str = FORMAT_VERSION
    package_version: str = ""
    degradation_preset: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def unwrap(model: nn.Module) -> nn.Module:
    """Strip DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers before saving."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod  # type: ignore[assignment]
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_state_dict(
    path: Path, state: dict[str, torch.Tensor], *, dtype: torch.dtype | None = None
) -> None:
    """Write a state dict as safetensors, atomically, optionally cast (floating tensors only)."""
    tensors = {
        k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v)
        .detach()
        .contiguous()
        .cpu()
        for k, v in state.items()
    }
    _atomic_write(path, lambda tmp: save_file(tensors, tmp))


BACKBONE_ENCODER = "encoder_from_backbone"
"""``config.extra`` flag: the model's ``encoder.*`` weights are the ImageNet MobileNetV2's and
are not in its file; :func:`load_model` copies them in from the backbone checkpoint (found by
:func:`daguerre.weights.backbone.load_backbone`), so no pretrained weights are redistributed."""


def save_model(
    folder: str | Path, model: nn.Module, config: ModelConfig, *, dtype: torch.dtype | None = None
) -> Path:
    """Save ``model`` (unwrapped) and ``config`` to ``folder``; returns the folder.

    With ``config.extra[BACKBONE_ENCODER]`` set, the ``encoder.*`` weights are left out.
    """
    from daguerre import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dtype_name = str(dtype or torch.float32).removeprefix("torch.")
    cfg = {**asdict(config), "package_version": __version__, "dtype": dtype_name}
    state = unwrap(model).state_dict()
    if config.extra.get(BACKBONE_ENCODER):
        state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
    save_state_dict(folder / "model.safetensors", state, dtype=dtype)
    _atomic_write(
        folder / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2))
    )
    return folder


def read_config(folder: str | Path) -> ModelConfig:
    """Read ``config.json`` from a model folder."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise CheckpointNotFoundError(f"{folder}: no config.json (not a model folder)")
    data = json.loads(path.read_text())
    known = set(ModelConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise CheckpointMismatchError(f"{path}: unknown config keys {unknown}")
    return ModelConfig(**data)


def key_diff(
    model: nn.Module, state: dict[str, torch.Tensor], new_prefixes: tuple[str, ...] = ()
) -> str:
    """Human-readable diff of missing, unexpected and wrong-shape keys (empty if they match).

    Model keys starting with one of ``new_prefixes`` may be missing from ``state``.
    """
    own = model.state_dict()
    new = [k for k in own if any(k.startswith(prefix) for prefix in new_prefixes)]
    missing = sorted(set(own) - set(state) - set(new))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if own[k].shape != state[k].shape
    ]
    lines = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            shown = ", ".join(items[:8]) + (f" ... (+{len(items) - 8})" if len(items) > 8 else "")
            lines.append(f"{title} ({len(items)}): {shown}")
    return "; ".join(lines)


def load_state_into(
    model: nn.Module, path: str | Path, *, new_prefixes: tuple[str, ...] = ()
) -> nn.Module:
    """Load a safetensors file into ``model`` strictly (cast to the model's dtype).

    ``new_prefixes`` names layers the file may lack (added to a trained network; they keep
    their initialisation). Every key in the file must still fit the model exactly.
    """
    state = load_file(str(path))
    diff = key_diff(model, state, new_prefixes)
    if diff:
        raise CheckpointMismatchError(f"{path}: weights do not fit the network: {diff}")
    own = model.state_dict()
    merged = own | {k: v.to(own[k].dtype) for k, v in state.items()}
    model.load_state_dict(merged, strict=True)
    return model


def load_model(
    folder: str | Path, *, weights: str = "model.safetensors"
) -> tuple[nn.Module, ModelConfig]:
    """Rebuild a network from ``folder/config.json`` and load its weights as float32, eval mode."""
    from daguerre.nn.factory import build_discriminator, build_generator

    folder = Path(folder)
    config = read_config(folder)
    build = build_discriminator if config.kind == "discriminator" else build_generator
    model = build(config.arch, config.kwargs)
    path = folder / weights
    if not path.is_file():
        raise CheckpointNotFoundError(f"{folder}: no {weights}")
    if config.extra.get(BACKBONE_ENCODER):
        from daguerre.weights.backbone import load_backbone

        model.load_encoder(load_backbone())  # type: ignore[operator]
        load_state_into(model, path, new_prefixes=("encoder.",))
    else:
        load_state_into(model, path)
    return model.eval(), config
