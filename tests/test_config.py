from dataclasses import dataclass, field

import pytest

from daguerre.config import apply_overrides, from_dict
from daguerre.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    lr: float = 1e-3
    steps: int = 10


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)


def test_nested_and_overrides() -> None:
    data = apply_overrides({}, ["inner.lr=2e-4", "inner.steps=5", "sizes=[3, 4]", "name=run"])
    cfg = from_dict(Outer, data)
    assert cfg == Outer(name="run", inner=Inner(lr=2e-4, steps=5), sizes=(3, 4))


def test_unknown_key_and_wrong_type_are_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(Outer, {"inner": {"lrr": 1.0}})
    with pytest.raises(ConfigError, match="integer"):
        from_dict(Outer, {"inner": {"steps": 1.5}})
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["no-equals-sign"])


def _config_class(name: str) -> type:
    """The config dataclass that ``daguerre train ...`` loads a ``configs/train`` file into."""
    from daguerre.train.adain import AdaINTrainConfig
    from daguerre.train.config import TrainConfig
    from daguerre.train.cyclegan_task import CycleGANConfig
    from daguerre.train.grade import GradeTrainConfig
    from daguerre.train.router import RouterTrainConfig
    from daguerre.train.scratch import ScratchTrainConfig

    prefixes = {
        "scratch": ScratchTrainConfig,
        "router": RouterTrainConfig,
        "grade": GradeTrainConfig,
        "adain": AdaINTrainConfig,
        "style": CycleGANConfig,
        "restore": TrainConfig,
        "debug": TrainConfig,
    }
    return next(cls for prefix, cls in prefixes.items() if name.startswith(prefix))


def test_every_committed_training_config_loads_strictly() -> None:
    from pathlib import Path

    from daguerre.config import load_config

    folder = Path(__file__).resolve().parents[1] / "configs" / "train"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        load_config(_config_class(path.stem), path)  # raises ConfigError on a bad key or type
