"""Promote a training checkpoint to a shipped model: EMA weights, fp16, config, card, checksum."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from daguerre.errors import CheckpointNotFoundError, DaguerreError
from daguerre.weights import package_dir
from daguerre.weights.checkpoint import (
    BACKBONE_ENCODER,
    load_state_into,
    read_config,
    save_model,
)

BUDGET_BYTES = 25 * 1024 * 1024  # per model file; a bigger model needs a smaller architecture
CARD_STUB = """# Model card: {name}

- task: {kind}
- architecture: `{arch}` {kwargs}
- weights: `model.safetensors` ({dtype}, {size_mb:.1f} MB), EMA of the generator
- training data: (fill in: folders, licences)
- degradation preset: {preset}
- command: (fill in)
- steps / wall time: (fill in)
- metrics: (fill in: command and numbers)
- known failure cases: (fill in)
"""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def promote(checkpoint: Path, name: str, *, root: Path | None = None, fp16: bool = True) -> Path:
    """Copy ``checkpoint``'s EMA (else raw) generator into ``root/name`` as a shipped model.

    Args:
        checkpoint: a training checkpoint folder (``ema.safetensors`` or ``model.safetensors``
            plus ``config.json``), or a model folder such as a run's ``best/``.
        name: shipped model name, e.g. ``restore`` or ``scratch``.
        root: where shipped models live (default: the package's weights folder).
        fp16: store weights as float16 (loading casts back to float32).

    Returns:
        The model folder.

    Raises:
        CheckpointNotFoundError: no weights in ``checkpoint``.
        DaguerreError: the weights file would exceed the 25 MB budget.
    """
    from daguerre.nn.factory import build_generator

    config = read_config(checkpoint)
    source = next(
        (
            checkpoint / f
            for f in ("ema.safetensors", "model.safetensors")
            if (checkpoint / f).is_file()
        ),
        None,
    )
    if source is None:
        raise CheckpointNotFoundError(f"{checkpoint}: no ema.safetensors or model.safetensors")
    net = load_state_into(build_generator(config.arch, config.kwargs), source)
    folder = (root or package_dir()) / name
    if config.kind == "adain":  # its frozen ImageNet encoder is loaded from the backbone
        config = replace(config, extra={**config.extra, BACKBONE_ENCODER: True})
    save_model(folder, net, config, dtype=torch.float16 if fp16 else None)
    size = (folder / "model.safetensors").stat().st_size
    if size > BUDGET_BYTES:
        shutil.rmtree(folder)
        raise DaguerreError(
            f"{name}: {size / 1e6:.1f} MB exceeds the 25 MB budget; shrink the model"
        )
    card = folder / "MODEL_CARD.md"
    if not card.exists():
        fields = {"name": name, "kind": config.kind, "arch": config.arch, "size_mb": size / 1e6}
        fields |= {"kwargs": json.dumps(config.kwargs), "preset": config.degradation_preset}
        card.write_text(CARD_STUB.format(dtype="float16" if fp16 else "float32", **fields))
    update_sums(root or package_dir())
    return folder


def update_sums(root: Path) -> Path:
    """Rewrite ``root/SHA256SUMS`` for every ``*/model.safetensors`` below ``root``."""
    lines = [
        f"{sha256(path)}  {path.relative_to(root).as_posix()}"
        for path in sorted(root.rglob("model.safetensors"))
    ]
    sums = root / "SHA256SUMS"
    sums.write_text("".join(line + "\n" for line in lines))
    return sums


def verify(root: Path | None = None) -> list[str]:
    """Problems found checking ``SHA256SUMS`` against the files (empty list = all good)."""
    root = root or package_dir()
    sums = root / "SHA256SUMS"
    if not sums.is_file():
        return []
    problems = []
    listed = set()
    for line in sums.read_text().splitlines():
        digest, rel = line.split("  ", 1)
        listed.add(rel)
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif sha256(path) != digest:
            problems.append(f"{rel}: checksum mismatch (truncated or edited?)")
    for path in root.rglob("model.safetensors"):
        if path.relative_to(root).as_posix() not in listed:
            problems.append(f"{path.relative_to(root).as_posix()}: not in SHA256SUMS")
    return problems
