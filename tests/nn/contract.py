"""ModuleContract: the checks every network in daguerre.nn must pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from daguerre.weights.checkpoint import ModelConfig, load_model, save_model


def _first_tensor(out: object) -> torch.Tensor:
    while isinstance(out, list | tuple):
        out = out[-1]
    assert isinstance(out, torch.Tensor)
    return out


class ModuleContract:
    """Mixin: set ``build``, ``input_shape``, ``output_shape``, ``arch`` and ``kwargs``."""

    build: Callable[[], nn.Module]
    arch: str = ""
    kwargs: dict = {}
    kind: str = "generator"
    input_shape: tuple[int, ...] = (2, 3, 32, 32)
    output_shape: tuple[int, ...] = (2, 3, 32, 32)

    def _net(self) -> nn.Module:
        torch.manual_seed(0)
        return self.build()

    def test_output_shape_and_dtype(self) -> None:
        out = _first_tensor(self._net().eval()(torch.rand(self.input_shape)))
        assert tuple(out.shape) == self.output_shape
        assert out.dtype == torch.float32

    def test_bfloat16_forward(self) -> None:
        net = self._net().eval().to(torch.bfloat16)
        out = _first_tensor(net(torch.rand(self.input_shape, dtype=torch.bfloat16)))
        assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()

    def test_deterministic(self) -> None:
        x = torch.rand(self.input_shape)
        a = _first_tensor(self._net().eval()(x))
        b = _first_tensor(self._net().eval()(x))
        assert torch.equal(a, b)

    def test_backward_reaches_every_parameter(self) -> None:
        net = self._net().train()
        out = net(torch.rand(self.input_shape))
        flat = (
            [out]
            if isinstance(out, torch.Tensor)
            else [t for s in out for t in (s if isinstance(s, list) else [s])]
        )
        sum(t.float().mean() for t in flat).backward()
        missing = [
            n
            for n, p in net.named_parameters()
            if p.grad is None or not torch.isfinite(p.grad).all()
        ]
        assert not missing, missing

    def test_forward_creates_no_parameters(self) -> None:
        net = self._net()
        before = len(list(net.parameters()))
        net(torch.rand(self.input_shape))
        assert len(list(net.parameters())) == before

    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        if not self.arch:
            return
        net = self._net().eval()
        save_model(
            tmp_path / "m", net, ModelConfig(arch=self.arch, kwargs=self.kwargs, kind=self.kind)
        )
        loaded, cfg = load_model(tmp_path / "m")
        x = torch.rand(self.input_shape)
        assert cfg.arch == self.arch
        assert torch.equal(_first_tensor(net(x)), _first_tensor(loaded(x)))
