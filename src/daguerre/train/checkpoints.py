"""Training checkpoints: ``run/checkpoints/step_XXXXXX/`` with weights, config and trainer state.

Weights are safetensors (``model`` = raw generator, ``ema`` = EMA generator, ``disc`` =
discriminator); optimiser/scheduler/scaler state and the step live in ``trainer_state.pt``,
loadable with ``weights_only=True``. Writes go to a temporary folder renamed into place, so an
interrupted save never leaves a half checkpoint that resume would pick.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from daguerre.weights.checkpoint import ModelConfig, load_state_into, save_state_dict, unwrap

log = logging.getLogger(__name__)


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Completed checkpoints of a run, oldest first."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    done = [p for p in root.glob("step_*") if (p / "trainer_state.pt").is_file()]
    return sorted(done, key=lambda p: int(p.name.split("_")[1]))


def save_checkpoint(
    run_dir: Path,
    step: int,
    nets: dict[str, nn.Module],
    model_config: ModelConfig,
    state: dict[str, Any],
    *,
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step``; keep the newest ``keep`` (older ones are deleted)."""
    root = run_dir / "checkpoints"
    final = root / f"step_{step:07d}"
    tmp = root / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, net in nets.items():
        save_state_dict(tmp / f"{name}.safetensors", unwrap(net).state_dict())
    (tmp / "config.json").write_text(json.dumps(asdict(model_config), indent=2))
    torch.save(state, tmp / "trainer_state.pt")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in checkpoint_dirs(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(folder: Path, nets: dict[str, nn.Module]) -> dict[str, Any]:
    """Load weights into ``nets`` strictly and return the trainer state dict."""
    for name, net in nets.items():
        load_state_into(unwrap(net), folder / f"{name}.safetensors")
    return torch.load(folder / "trainer_state.pt", map_location="cpu", weights_only=True)


def init_weights(net: nn.Module, name_or_dir: str, new_layers: tuple[str, ...] = ()) -> None:
    """Fine-tune: load a saved model's weights into ``net`` strictly (before its EMA is made).

    Args:
        net: the freshly built network.
        name_or_dir: a model folder or a shipped model's name.
        new_layers: name prefixes of layers ``net`` has and the saved weights lack (e.g. new
            zero-initialised blocks); they keep their init, everything else must match.

    Raises:
        CheckpointMismatchError: missing, unexpected or wrong-shape keys (listed).
    """
    from daguerre.weights import model_dir

    path = model_dir(name_or_dir) / "model.safetensors"
    load_state_into(net, path, new_prefixes=tuple(new_layers))
    log.info("%s initialised from %s%s", type(net).__name__, path,
             f" (new layers: {new_layers})" if new_layers else "")  # fmt: skip
