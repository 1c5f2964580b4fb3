import pytest
import torch


@pytest.mark.parametrize(
    ("kind", "amx", "wanted", "expected"),
    [
        ("cuda", False, True, (True, True)),  # fp16 with loss scaling
        ("cpu", True, True, (True, False)),  # bf16: float32's range, no scaling
        ("cpu", False, True, (False, False)),  # emulated bf16 would be slow
        ("cpu", True, False, (False, False)),  # the config turned it off
        ("mps", True, True, (False, False)),
    ],
)
def test_mixed_precision_by_device(
    monkeypatch: pytest.MonkeyPatch, kind: str, amx: bool, wanted: bool, expected: tuple
) -> None:
    from daguerre.infer import device
    from daguerre.train.loop import mixed_precision

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: amx)
    assert mixed_precision(torch.device(kind), wanted) == expected
