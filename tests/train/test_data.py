from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from daguerre.degrade.chain import Sequential
from daguerre.degrade.color import Grayscale
from daguerre.errors import ImageReadError
from daguerre.io.image import write_image
from daguerre.train.data import SyntheticPairs, UnpairedImages, random_crop, sample_seed


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    gen = torch.Generator().manual_seed(0)
    sizes = [(90, 120), (140, 100), (40, 50)]  # the last one is smaller than the crop
    for k, (h, w) in enumerate(sizes):
        base = torch.rand(3, h // 8, w // 8, generator=gen)
        img = torch.nn.functional.interpolate(base[None], size=(h, w), mode="bilinear")[0]
        write_image(tmp_path / f"photo_{k}.png", img.clamp(0, 1))
    return tmp_path


def test_items_have_the_documented_shapes(photos: Path) -> None:
    data = SyntheticPairs(photos, preset="unstructured", crop=64, length=7)
    assert len(data) == 7
    for i in range(len(data)):
        item = data[i]
        assert item["degraded"].shape == (3, 64, 64) and item["clean"].shape == (3, 64, 64)
        assert item["mask"].shape == (1, 64, 64)
        assert item["index"] == i
        for key in ("degraded", "clean", "mask"):
            assert item[key].dtype == torch.float32
            assert 0 <= float(item[key].min()) and float(item[key].max()) <= 1


def test_reproducible_per_index_whatever_the_order(photos: Path) -> None:
    a = SyntheticPairs(photos, preset="unstructured", crop=48, seed=3, length=6)
    b = SyntheticPairs(photos, preset="unstructured", crop=48, seed=3, length=6, cache_images=False)
    forward = [a[i] for i in range(6)]
    backward = {i: b[i] for i in reversed(range(6))}
    for i in range(6):
        assert torch.equal(forward[i]["degraded"], backward[i]["degraded"])
        assert torch.equal(forward[i]["clean"], backward[i]["clean"])
    assert not torch.equal(forward[0]["clean"], forward[3]["clean"])  # same photo, new crop


def test_epoch_and_seed_change_samples(photos: Path) -> None:
    data = SyntheticPairs(photos, preset="unstructured", crop=48, length=3)
    first = data[0]["clean"]
    data.set_epoch(1)
    assert not torch.equal(first, data[0]["clean"])
    other = SyntheticPairs(photos, preset="unstructured", crop=48, length=3, seed=1)
    assert not torch.equal(first, other[0]["clean"])


def test_masks_from_defect_preset(photos: Path) -> None:
    data = SyntheticPairs(photos, preset="scratches-only", crop=64, length=3)
    masks = torch.stack([data[i]["mask"] for i in range(3)])
    assert float(masks.max()) > 0 and float(masks.min()) >= 0
    clean = torch.stack([data[i]["clean"] for i in range(3)])
    degraded = torch.stack([data[i]["degraded"] for i in range(3)])
    assert (degraded - clean).abs().amax() > 0.05


def test_gray_input_gets_gray_target(photos: Path) -> None:
    data = SyntheticPairs(photos, preset=Sequential([Grayscale()]), crop=32, length=2)
    item = data[1]
    assert torch.equal(item["clean"], item["degraded"])
    assert torch.equal(item["clean"][0], item["clean"][1])


def test_dataloader_with_worker_matches_direct(photos: Path) -> None:
    data = SyntheticPairs(photos, preset="unstructured", crop=32, length=4, return_params=True)
    batch = next(iter(DataLoader(data, batch_size=4, num_workers=1)))
    assert batch["degraded"].shape == (4, 3, 32, 32)
    assert torch.equal(batch["degraded"][2], data[2]["degraded"])
    assert batch["params"][0].startswith('{"type": "SequentialParams"')


def test_errors(tmp_path: Path, photos: Path) -> None:
    with pytest.raises(ImageReadError):
        SyntheticPairs(tmp_path / "missing", preset="aged")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageReadError):
        UnpairedImages(empty)
    with pytest.raises(IndexError):
        SyntheticPairs(photos, preset="aged", length=2)[2]


def test_unpaired_single_image(photos: Path) -> None:
    data = UnpairedImages(photos / "photo_1.png", crop=32, length=20)
    crops = torch.stack([data[i]["image"] for i in range(20)])
    assert crops.shape == (20, 3, 32, 32)
    assert len({c.sum().item() for c in crops}) > 15  # different windows / scales
    assert torch.equal(data[5]["image"], data[5]["image"])


def test_random_crop_scales_and_pads() -> None:
    gen = torch.Generator().manual_seed(0)
    img = torch.rand(3, 10, 300)
    assert random_crop(img, 32, (1.0, 1.0), gen).shape == (3, 32, 32)
    assert random_crop(torch.rand(3, 1, 1), 8, (0.5, 1.0), gen).shape == (3, 8, 8)
    ramp = torch.linspace(0, 1, 200).expand(3, 200, 200).contiguous()
    half = random_crop(ramp, 50, (0.5, 0.5), gen)
    step = float((half[0, 0, 1:] - half[0, 0, :-1]).mean())
    assert abs(step - 2 / 199) < 1e-3  # half the resolution: twice the ramp step per pixel


def test_sample_seed_spreads() -> None:
    seeds = {sample_seed(0, e, i) for e in range(5) for i in range(100)}
    assert len(seeds) == 500 and all(0 <= s < 2**63 for s in seeds)
