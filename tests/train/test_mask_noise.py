import torch

from daguerre.io.image import write_image
from daguerre.train.data import MASK_THRESHOLD, SyntheticPairs
from daguerre.train.mask_noise import bright_ridges, noisy_mask


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_replays_from_the_generator() -> None:
    mask = (torch.rand(1, 64, 64, generator=_gen(1)) > 0.9).float()
    clean = torch.rand(3, 64, 64, generator=_gen(2))
    assert torch.equal(noisy_mask(mask, clean, _gen(3)), noisy_mask(mask, clean, _gen(3)))
    outs = {noisy_mask(mask, clean, _gen(s)).sum().item() for s in range(5)}
    assert len(outs) > 1


def test_misses_cut_the_true_mask_and_keep_most_of_it() -> None:
    full = torch.ones(1, 96, 96)
    flat = torch.full((3, 96, 96), 0.5)
    kept = [noisy_mask(full, flat, _gen(s)).mean().item() for s in range(20)]
    assert min(kept) < 0.97  # whole stretches go missing on some draws
    assert sum(kept) / len(kept) > 0.8  # but most damage stays marked


def test_false_marks_follow_bright_structure() -> None:
    clean = torch.full((3, 96, 96), 0.3)
    clean[:, :, 48] = 0.9  # a thin bright wire
    empty = torch.zeros(1, 96, 96)
    assert bright_ridges(clean)[0, :, 48].all() and not bright_ridges(clean)[0, :, 20].any()
    outs = torch.stack([noisy_mask(empty, clean, _gen(s)) for s in range(30)])
    on_wire = outs[:, 0, :, 48].mean().item()
    elsewhere = outs[:, 0, :, :40].mean().item()
    assert on_wire > 0.2 and on_wire > 5 * elsewhere  # false marks favour the wire
    assert outs.mean().item() < 0.1  # and stay a small share of a clean photo


def test_dataset_mask_noise(tmp_path) -> None:
    write_image(tmp_path / "a.png", torch.rand(3, 96, 96, generator=_gen(0)))
    exact = SyntheticPairs(tmp_path, preset="scratches-only", crop=64, mask_dropout=0.0, length=4)
    noisy = SyntheticPairs(
        tmp_path, preset="scratches-only", crop=64, mask_dropout=0.0, mask_noise=1.0, length=4
    )
    differs = 0
    for i in range(4):
        a, b = exact[i], noisy[i]
        assert torch.equal(a["mask_in"], (a["mask"] > MASK_THRESHOLD).float())
        assert torch.equal(a["degraded"], b["degraded"])  # only the mask input changes
        differs += int(not torch.equal(a["mask_in"], b["mask_in"]))
    assert differs >= 3


def test_dataset_prefill_fills_the_marked_pixels_only(tmp_path) -> None:
    from daguerre.pipelines.baseline import telea_inpaint

    write_image(tmp_path / "a.png", torch.rand(3, 96, 96, generator=_gen(0)))
    raw = SyntheticPairs(tmp_path, preset="scratches-only", crop=64, mask_dropout=0.0, length=3)
    filled = SyntheticPairs(
        tmp_path, preset="scratches-only", crop=64, mask_dropout=0.0, prefill=True, length=3
    )
    for i in range(3):
        a, b = raw[i], filled[i]
        assert torch.equal(a["mask_in"], b["mask_in"]) and a["mask_in"].any()
        assert torch.equal(b["degraded"], telea_inpaint(a["degraded"], a["mask_in"]))
        outside = a["mask_in"].expand(3, -1, -1) == 0
        assert torch.equal(a["degraded"][outside], b["degraded"][outside])
        assert not torch.equal(a["degraded"], b["degraded"])
