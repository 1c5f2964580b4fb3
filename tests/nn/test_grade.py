import pytest
import torch

from daguerre.nn.grade import COEFFS, DETAIL_STATS, GradeNet, apply_grade, detail_stats, thumbnail


def _coeffs(
    matrix: list[float], offset: list[float], grid: int = 1, batch: int = 1
) -> torch.Tensor:
    flat = torch.tensor([*matrix, *offset, 0.0], dtype=torch.float32)
    return flat[None, :, None, None].expand(batch, COEFFS, grid, grid).contiguous()


def test_untrained_net_is_identity_grade() -> None:
    net = GradeNet(width=8, grid=2, thumb=32)
    image = torch.rand(3, 20, 30, generator=torch.Generator().manual_seed(0))
    coeffs = net(torch.rand(1, 6, 32, 32), torch.rand(1, DETAIL_STATS))
    source = torch.rand(3, 20, 30, generator=torch.Generator().manual_seed(1))
    assert torch.equal(apply_grade(image.clone(), coeffs, source), image)


def test_global_affine_matches_formula_and_clamps() -> None:
    image = torch.rand(3, 17, 23, generator=torch.Generator().manual_seed(1)) * 0.5
    swap = [-1.0, 1.0, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0, -0.5]  # I + A swaps R/G, halves B
    out = apply_grade(image.clone(), _coeffs(swap, [0.0, 0.1, 0.6]))
    assert torch.allclose(out[0], image[1], atol=1e-6)
    assert torch.allclose(out[1], (image[0] + 0.1).clamp(0, 1), atol=1e-6)
    assert torch.allclose(out[2], (0.5 * image[2] + 0.6).clamp(0, 1), atol=1e-6)


def test_apply_is_in_place_and_chunking_does_not_change_result() -> None:
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(2, 3, 33, 41, generator=gen)
    coeffs = torch.randn(2, COEFFS, 3, 3, generator=gen) * 0.2
    source = torch.rand(2, 3, 33, 41, generator=gen)
    whole = image.clone()
    result = apply_grade(whole, coeffs, source, chunk_pixels=10**9)
    assert result is whole
    chunked = apply_grade(image.clone(), coeffs, source, chunk_pixels=50)  # one row at a time
    assert torch.allclose(whole, chunked, atol=1e-6)


def test_grid_coefficients_vary_smoothly_across_the_image() -> None:
    coeffs = torch.zeros(1, COEFFS, 1, 2)
    coeffs[0, 9:, 0, 1] = 0.4  # right cell brightens, left cell does not
    out = apply_grade(torch.full((3, 8, 64), 0.2), coeffs.expand(1, COEFFS, 2, 2).contiguous())
    row = out[0, 4]
    assert row[0] == pytest.approx(0.2, abs=1e-6) and row[-1] == pytest.approx(0.6, abs=1e-6)
    assert bool((row[1:] >= row[:-1] - 1e-7).all())  # monotone ramp, no step


def test_mismatched_batch_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        apply_grade(torch.rand(2, 3, 8, 8), _coeffs([0.0] * 9, [0.0] * 3))


def test_thumbnail_shape_and_mean() -> None:
    image = torch.rand(3, 400, 300, generator=torch.Generator().manual_seed(3))
    thumb = thumbnail(image, 16)
    assert thumb.shape == (1, 3, 16, 16)
    assert torch.allclose(thumb.mean((-2, -1))[0], image.mean((-2, -1)), atol=0.01)


def test_bad_grid_rejected() -> None:
    with pytest.raises(ValueError, match="grid"):
        GradeNet(grid=4, thumb=32)


def test_blend_moves_toward_the_source() -> None:
    restored, source = torch.full((3, 8, 8), 0.8), torch.full((3, 8, 8), 0.2)
    coeffs = _coeffs([0.0] * 9, [0.0] * 3)
    coeffs[:, 12] = 0.75  # alpha = 1 - 0.75: keep a quarter of the restoration
    out = apply_grade(restored.clone(), coeffs, source)
    assert torch.allclose(out, torch.full_like(out, 0.2 + 0.25 * 0.6), atol=1e-6)
    # without a source the blend is ignored, the colour transform still applies
    assert torch.equal(apply_grade(restored.clone(), coeffs), restored)


def test_detail_stats_see_noise_and_change() -> None:
    gen = torch.Generator().manual_seed(4)
    smooth = torch.linspace(0, 1, 64).expand(3, 48, 64).contiguous()
    noisy = (smooth + 0.1 * torch.randn(3, 48, 64, generator=gen)).clamp(0, 1)
    same = detail_stats(smooth, smooth)
    changed = detail_stats(noisy, smooth)
    assert same.shape == (1, DETAIL_STATS)
    assert bool((changed[0, :3] > same[0, :3] + 2).all())  # input high-pass: noise shows
    assert torch.allclose(changed[0, 3:6], same[0, 3:6])  # restored is the same smooth image
    assert bool((changed[0, 6:] > same[0, 6:] + 3).all())  # |input - restored|
    chunked = detail_stats(noisy, smooth, chunk_pixels=64 * 8)
    assert torch.allclose(chunked, changed, atol=0.05)  # chunk borders barely matter
