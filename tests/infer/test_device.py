import logging
from pathlib import Path

import pytest
import torch

from daguerre.errors import DaguerreError, UnknownNameError
from daguerre.infer import device as device_module
from daguerre.infer.device import resolve_device, resolve_precision, set_threads

# conftest hides native bf16 from every test; these tests check the real query
REAL_FAST_BF16 = device_module.cpu_has_fast_bf16


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)


def test_cpu_and_auto_without_accelerators(no_accelerators):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_unavailable_accelerator_is_a_clear_error(no_accelerators, name):
    with pytest.raises(DaguerreError, match=f"device '{name}' requested.*use --device cpu"):
        resolve_device(name)


def test_cuda_index_is_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(DaguerreError, match="only 2 CUDA device"):
        resolve_device("cuda:2")


# ids avoid the bare keyword "gpu", which conftest.py treats as the gpu marker
@pytest.mark.parametrize(
    "name", ["gpu", "cuda:x", "", "tpu"], ids=["gpu-name", "bad-index", "empty", "tpu"]
)
def test_unknown_device_lists_choices(name):
    with pytest.raises(UnknownNameError, match="choose from: auto, cpu, cuda, cuda:N, mps"):
        resolve_device(name)


@pytest.mark.parametrize("amx", [False, True])
def test_bf16_where_fast_is_opt_in(monkeypatch: pytest.MonkeyPatch, amx: bool) -> None:
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: amx)
    assert resolve_precision("cpu", bf16_where_fast=True) is (torch.bfloat16 if amx else None)
    assert resolve_precision("cpu") is None  # callers that did not opt in stay fp32
    assert resolve_precision("cpu", "fp32", bf16_where_fast=True) is None  # explicit choice wins
    assert resolve_precision("cuda", bf16_where_fast=True) is torch.float16
    assert resolve_precision("mps", bf16_where_fast=True) is None


@pytest.mark.parametrize("flags", [set(), {"avx512f", "avx512_bf16"}])
def test_cpu_has_fast_bf16_without_the_amx_query(monkeypatch, flags):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: flags)
    assert REAL_FAST_BF16() is ("avx512_bf16" in flags)


def test_amx_counts_as_fast_bf16(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: set())
    assert REAL_FAST_BF16() is True


def test_cpu_flags_are_read_from_cpuinfo():
    flags = device_module._cpu_flags()
    assert isinstance(flags, set)
    if Path("/proc/cpuinfo").is_file():
        assert {"fpu", "sse2"} & flags or not flags  # x86 lists these; other CPUs list others


def test_precision_on_cpu(caplog):
    assert resolve_precision(torch.device("cpu"), "fp32") is None
    assert resolve_precision("cpu", "BF16") is torch.bfloat16
    with caplog.at_level(logging.WARNING, logger="daguerre.infer.device"):
        assert resolve_precision("cpu", "fp16") is None
    assert any("fp16" in r.getMessage() and "fp32" in r.getMessage() for r in caplog.records)


def test_precision_on_gpus(monkeypatch):
    assert resolve_precision("cuda") is torch.float16
    assert resolve_precision("cuda:1", "fp32") is None
    assert resolve_precision("cuda", "fp16") is torch.float16
    assert resolve_precision("mps") is None
    assert resolve_precision("mps", "fp16") is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("cuda", "bf16") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_precision("cuda", "bf16") is None


def test_unknown_precision_lists_choices():
    with pytest.raises(UnknownNameError, match="choose from: auto, bf16, fp16, fp32"):
        resolve_precision("cpu", "half")


def test_set_threads():
    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        set_threads(None)  # keeps the current setting
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match=">= 1"):
        set_threads(0)
