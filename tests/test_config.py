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
