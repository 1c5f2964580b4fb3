from pathlib import Path

import pytest
import torch

from daguerre.io.image import write_image
from daguerre.train.data import MASK_THRESHOLD
from daguerre.train.defect_data import Mixture, RealBackgrounds, scan_files
from daguerre.train.scratch import ScratchLossConfig, segmentation_losses


def _scans(folder: Path) -> Path:
    folder.mkdir()
    gen = torch.Generator().manual_seed(0)
    for name in ("family.png", "portrait.png", "bopb__old_w_scratch__b.png"):
        write_image(folder / name, torch.rand(3, 40, 48, generator=gen))
    return folder


def test_scans_named_as_scratched_are_left_out(tmp_path: Path) -> None:
    names = sorted(p.name for p in scan_files([_scans(tmp_path / "old")]))
    assert names == ["family.png", "portrait.png"]


def test_what_the_detector_already_sees_is_ignored_but_drawn_damage_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_detect(rgb: torch.Tensor, options: object) -> torch.Tensor:
        prob = torch.zeros(1, *rgb.shape[-2:])
        prob[:, 10:14, :] = 0.9  # a "real crack" across rows 10-13
        return prob

    monkeypatch.setattr("daguerre.pipelines.scratches.detect_defects", fake_detect)
    data = RealBackgrounds([_scans(tmp_path / "old")], preset="scratches-only", crop=32, seed=3)
    item = data[5]
    drawn = item["mask"] > MASK_THRESHOLD
    assert drawn.any() and not torch.equal(item["degraded"], item["clean"])
    assert (item["valid"][drawn] == 1).all()
    ignored = item["valid"] == 0
    assert ignored.any() and not (ignored & drawn).any()
    assert ignored[:, :7].sum() == 0 and ignored[:, 17:].sum() == 0  # the band grown by 3 px
    plain = RealBackgrounds([tmp_path / "old"], preset="scratches-only", crop=32, seed=3,
                            detector="")  # fmt: skip
    assert torch.equal(plain[5]["degraded"], item["degraded"]) and plain[5]["valid"].all()


def test_mixture_draws_from_both_sources_reproducibly(tmp_path: Path) -> None:
    scans = RealBackgrounds([_scans(tmp_path / "old")], preset="scratches-only", crop=32,
                            seed=3, detector="")  # fmt: skip
    photos = RealBackgrounds([tmp_path / "old"], preset="unstructured", crop=32, seed=4,
                             detector="")  # fmt: skip
    mix = Mixture([photos, scans], [0.5, 0.5], seed=1, length=100)
    firsts = [mix[i]["degraded"] for i in range(12)]
    assert all(torch.equal(a, mix[i]["degraded"]) for i, a in enumerate(firsts))
    from_scans = [torch.equal(mix[i]["degraded"], scans[i]["degraded"]) for i in range(12)]
    assert 0 < sum(from_scans) < 12


def test_ignored_pixels_do_not_move_the_loss() -> None:
    gen = torch.Generator().manual_seed(0)
    logits, target = torch.randn(2, 1, 8, 8, generator=gen), torch.zeros(2, 1, 8, 8)
    valid = torch.ones(2, 1, 8, 8)
    valid[:, :, :4] = 0
    cfg = ScratchLossConfig()
    base = segmentation_losses(logits, target, cfg, valid)
    changed = logits.clone()
    changed[:, :, :4] = 20.0  # confident "damage" where the labels are unknown
    after = segmentation_losses(changed, target, cfg, valid)
    assert all(torch.allclose(base[k], after[k]) for k in base)
    plain = segmentation_losses(changed, target, cfg)
    assert plain["bce"] > base["bce"] + 1.0
