import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from daguerre.errors import CheckpointNotFoundError, DaguerreError
from daguerre.nn.scratch_unet import ScratchUNet
from daguerre.pipelines.scratches import (
    DetectOptions,
    defect_mask,
    detect_defects,
    load_detector,
    load_mask_file,
    resolve_scratch_mask,
)
from daguerre.weights.checkpoint import ModelConfig, save_model
from tests.pipelines.models import save_identity_model

KW = {"base_channels": 4, "depth": 2, "max_channels": 8}


def save_detector_model(
    folder: Path, *, seed: int = 0, threshold: float = 0.5, extra: dict[str, float] | None = None
) -> Path:
    """A random tiny detector whose probabilities spread widely around 0.5."""
    torch.manual_seed(seed)
    net = ScratchUNet(**KW).eval()
    with torch.no_grad():  # random features are tiny: scale and centre the logits
        net.head.weight.mul_(50.0)
        logits = net(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed)))
        net.head.bias.sub_(logits.median())
    config = ModelConfig(
        arch="scratch_unet",
        kwargs=KW,
        kind="scratch",
        pad_multiple=4,
        extra={"threshold": threshold, **(extra or {})},
    )
    return save_model(folder, net, config)


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_detector_model(tmp_path_factory.mktemp("detector")))


def _image(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _save_gray(path: Path, array: np.ndarray, mode: str = "L") -> Path:
    Image.fromarray(array).convert(mode).save(path)
    return path


# --- detection ----------------------------------------------------------------------------


def test_tiled_detection_equals_whole_image(detector: str) -> None:
    # sides are multiples of pad_multiple, so the whole-image pass needs no border padding
    rgb = _image(3, 72, 96, seed=1)
    whole = detect_defects(rgb, DetectOptions(model=detector, tile=0))
    tiled = detect_defects(rgb, DetectOptions(model=detector, tile=32, overlap=16))
    assert whole.shape == (1, 72, 96)
    assert 0.0 <= float(whole.min()) and float(whole.max()) <= 1.0
    assert float(whole.std()) > 0.05  # a real, varying output
    assert (whole - tiled).abs().max() < 0.005  # no seams


@pytest.mark.parametrize("size", [(5, 7), (1, 40), (33, 17)])
def test_odd_and_tiny_sizes_keep_their_shape(detector: str, size: tuple[int, int]) -> None:
    prob = detect_defects(_image(3, *size), DetectOptions(model=detector, tile=16, overlap=4))
    assert prob.shape == (1, *size) and torch.isfinite(prob).all()


def test_batched_detection_matches_single(detector: str) -> None:
    batch = _image(2, 3, 24, 40, seed=2)
    options = DetectOptions(model=detector, tile=0)
    both = detect_defects(batch, options)
    assert both.shape == (2, 1, 24, 40)
    assert torch.allclose(both[1], detect_defects(batch[1], options), atol=1e-5)


def test_load_detector_refuses_other_models(tmp_path: Path) -> None:
    restorer = save_identity_model(tmp_path / "restore")
    with pytest.raises(DaguerreError, match="not a scratch detector"):
        load_detector(str(restorer), "cpu")
    with pytest.raises(CheckpointNotFoundError):
        load_detector(str(tmp_path / "missing"), "cpu")


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        DetectOptions(threshold=1.5)
    with pytest.raises(ValueError, match="dilate"):
        DetectOptions(dilate=-1)


# --- thresholding and dilation --------------------------------------------------------------


def test_threshold_then_dilate() -> None:
    prob = torch.zeros(1, 9, 9)
    prob[0, 4, 4], prob[0, 0, 8] = 0.8, 0.4
    assert defect_mask(prob, 0.5, dilate=0).sum() == 1
    assert defect_mask(prob, 0.3, dilate=0).sum() == 2
    grown = defect_mask(prob, 0.5, dilate=2)
    assert grown.sum() == 25 and grown[0, 2:7, 2:7].all()
    assert grown.dtype == torch.float32 and set(grown.unique().tolist()) == {0.0, 1.0}
    batched = defect_mask(prob[None].expand(2, -1, -1, -1), 0.5, dilate=1)
    assert batched.shape == (2, 1, 9, 9) and batched.sum() == 18


# --- user masks -----------------------------------------------------------------------------


def test_gray_rgb_and_16bit_masks_read_alike(tmp_path: Path) -> None:
    array = np.zeros((12, 20), np.uint8)
    array[3:6, 4:15] = 255
    gray = load_mask_file(_save_gray(tmp_path / "g.png", array), (12, 20))
    rgb = load_mask_file(_save_gray(tmp_path / "c.png", array, "RGB"), (12, 20))
    deep = tmp_path / "d.png"
    Image.fromarray(array.astype(np.uint16) * 257).save(deep)
    assert gray.shape == (1, 12, 20) and gray.sum() == 33
    assert torch.equal(gray, rgb) and torch.equal(gray, load_mask_file(deep, (12, 20)))


def test_transparent_pixels_are_not_damaged(tmp_path: Path) -> None:
    rgba = np.full((8, 8, 4), 255, np.uint8)
    rgba[:, :4, 3] = 0  # left half white but fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    mask = load_mask_file(tmp_path / "a.png", (8, 8))
    assert mask[0, :, :4].sum() == 0 and mask[0, :, 4:].all()


def test_size_mismatch_names_the_file(tmp_path: Path) -> None:
    path = _save_gray(tmp_path / "small.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(DaguerreError, match="small.png.*10x10.*20x12"):
        load_mask_file(path, (12, 20))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = np.zeros((32, 48), np.uint8)  # 48 wide, 32 high as stored
    stored[:, :16] = 255  # left third white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(stored).save(tmp_path / "r.jpg", exif=exif, quality=95)
    mask = load_mask_file(tmp_path / "r.jpg", (48, 32))  # upright: 32 wide, 48 high
    assert mask.shape == (1, 48, 32)
    assert mask[0, :14].all() and mask[0, 18:].sum() == 0  # the white band is now on top


# --- specs ----------------------------------------------------------------------------------


def test_resolve_specs(tmp_path: Path, detector: str) -> None:
    rgb = _image(3, 12, 20)
    array = np.zeros((12, 20), np.uint8)
    array[5] = 255
    mask_file = _save_gray(tmp_path / "m.png", array)
    folder = tmp_path / "masks"
    folder.mkdir()
    _save_gray(folder / "photo.png", array)
    assert resolve_scratch_mask("off", rgb) is None
    from_file = resolve_scratch_mask(str(mask_file), rgb)
    assert from_file is not None and from_file.sum() == 20
    from_dir = resolve_scratch_mask(str(folder), rgb, image_path=tmp_path / "x" / "photo.jpg")
    assert from_dir is not None and torch.equal(from_dir, from_file)
    batched = resolve_scratch_mask(str(mask_file), rgb[None].expand(2, -1, -1, -1))
    assert batched is not None and batched.shape == (2, 1, 12, 20)
    auto = resolve_scratch_mask("auto", rgb, options=DetectOptions(model=detector, dilate=0))
    expected = (detect_defects(rgb, DetectOptions(model=detector)) > 0.5).float()
    assert auto is not None and torch.equal(auto, expected)


def test_resolve_errors(tmp_path: Path) -> None:
    rgb = _image(3, 12, 20)
    with pytest.raises(DaguerreError, match="off, auto"):
        resolve_scratch_mask(str(tmp_path / "nope.png"), rgb)
    with pytest.raises(DaguerreError, match="file name"):
        resolve_scratch_mask(str(tmp_path), rgb)
    with pytest.raises(DaguerreError, match="other.png"):
        resolve_scratch_mask(str(tmp_path), rgb, image_path=Path("other.tif"))


def test_auto_mask_uses_the_detectors_calibrated_threshold(tmp_path: Path) -> None:
    from daguerre.pipelines.scratches import detect_threshold

    strict = str(save_detector_model(tmp_path / "strict", threshold=0.6))
    rgb = _image(3, 40, 40, seed=5)
    prob = detect_defects(rgb, DetectOptions(model=strict))
    assert detect_threshold(DetectOptions(model=strict)) == 0.6
    assert detect_threshold(DetectOptions(model=strict, threshold=0.3)) == 0.3
    auto = resolve_scratch_mask("auto", rgb, options=DetectOptions(model=strict, dilate=0))
    assert auto is not None and torch.equal(auto, (prob > 0.6).float())
    assert 0 < float(auto.sum()) < float((prob > 0.5).sum())


def test_restoring_takes_the_detectors_inpainting_threshold(tmp_path: Path) -> None:
    from daguerre.pipelines.restore import RestoreOptions
    from daguerre.pipelines.scratches import detect_threshold

    both = str(save_detector_model(tmp_path / "both", extra={"restore_threshold": 0.8}))
    plain = str(save_detector_model(tmp_path / "plain", threshold=0.6))
    assert detect_threshold(DetectOptions(model=both)) == 0.5
    assert detect_threshold(DetectOptions(model=both, for_restore=True)) == 0.8
    assert detect_threshold(DetectOptions(model=plain, for_restore=True)) == 0.6  # falls back
    assert detect_threshold(DetectOptions(model=both, for_restore=True, threshold=0.3)) == 0.3
    restoring = RestoreOptions(scratches="auto", scratch_model=both).detect_options()
    assert detect_threshold(restoring) == 0.8
    rgb = _image(3, 40, 40, seed=5)
    prob = detect_defects(rgb, DetectOptions(model=both))
    auto = resolve_scratch_mask(
        "auto", rgb, options=DetectOptions(model=both, for_restore=True, dilate=0)
    )
    assert auto is not None and torch.equal(auto, (prob > 0.8).float())


# --- several input scales -----------------------------------------------------------------


def test_detector_scales_come_from_its_config(tmp_path: Path) -> None:
    multi = str(save_detector_model(tmp_path / "multi", extra={"scales": [1.0, 1.5]}))
    single = str(save_detector_model(tmp_path / "single"))
    assert load_detector(multi, "cpu").scales == (1.0, 1.5)
    assert load_detector(single, "cpu").scales == (1.0,)
    rgb = _image(3, 40, 56, seed=7)
    own = detect_defects(rgb, DetectOptions(model=multi, tile=0))
    forced = detect_defects(rgb, DetectOptions(model=single, tile=0, scales=(1.0, 1.5)))
    plain = detect_defects(rgb, DetectOptions(model=multi, tile=0, scales=(1.0,)))
    assert torch.allclose(own, forced, atol=1e-6)  # same weights, same scales
    assert (own - plain).abs().max() > 0.05  # the enlarged pass changes the answer


def test_multiscale_detection_is_tiled_without_seams(tmp_path: Path) -> None:
    multi = str(save_detector_model(tmp_path / "multi", extra={"scales": [1.0, 1.5]}))
    rgb = _image(3, 72, 96, seed=8)
    whole = detect_defects(rgb, DetectOptions(model=multi, tile=0))
    tiled = detect_defects(rgb, DetectOptions(model=multi, tile=48, overlap=24))
    assert whole.shape == tiled.shape == (1, 72, 96)
    assert (whole - tiled).abs().mean() < 0.01 and (whole - tiled).abs().max() < 0.1


@pytest.mark.parametrize("bad", [1.5, [], [1.0, 9.0], ["x"]])
def test_bad_config_scales_are_refused(tmp_path: Path, bad: object) -> None:
    from daguerre.errors import CheckpointMismatchError

    folder = tmp_path / "bad"
    save_detector_model(folder)
    config = json.loads((folder / "config.json").read_text())
    config["extra"]["scales"] = bad
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointMismatchError, match="extra.scales"):
        load_detector(str(folder), "cpu")


def test_option_scales_are_validated() -> None:
    assert DetectOptions(scales=(1, 1.5)).scales == (1.0, 1.5)
    with pytest.raises(ValueError, match="distinct"):
        DetectOptions(scales=(1.0, 1.0))
