import numpy as np
import torch

from daguerre.degrade.fields import (
    Draw,
    Stroke,
    bezier,
    bezier_stroke,
    edge_distance,
    filtered_noise,
    fractal_noise,
    per_image,
    render_blobs,
    render_polygons,
    render_strokes,
    smooth_curve,
    smooth_noise,
)


def _neighbour_corr(field: torch.Tensor, lag: int = 1) -> float:
    f = field - field.mean()
    return float((f[..., :, lag:] * f[..., :, :-lag]).mean() / f.var())


def test_draw_is_deterministic_and_in_range() -> None:
    a, b = Draw(5), Draw(5)
    x, y = a.uniform(2.0, 3.0, 100), b.uniform(2.0, 3.0, 100)
    assert np.array_equal(x, y) and x.min() >= 2.0 and x.max() < 3.0
    ints = Draw(1).integers(3, 5, 200)
    assert set(ints.tolist()) == {3, 4, 5}
    sizes = Draw(2).pareto(1.0, 1.5, 10.0, 2000)
    assert sizes.min() >= 1.0 and sizes.max() <= 10.0 and np.median(sizes) < 2.0  # heavy tail


def test_smooth_noise_shape_std_and_correlation() -> None:
    field = smooth_noise(Draw(0), 40, 56, scale=8.0)
    assert field.shape == (1, 1, 40, 56)
    assert abs(float(field.std()) - 1.0) < 1e-4 and abs(float(field.mean())) < 1e-4
    assert _neighbour_corr(field) > 0.9  # smooth at one pixel
    assert torch.equal(field, smooth_noise(Draw(0), 40, 56, scale=8.0))
    assert not torch.equal(field, smooth_noise(Draw(1), 40, 56, scale=8.0))


def test_smooth_noise_scale_controls_correlation_length() -> None:
    fine = smooth_noise(Draw(0), 64, 64, scale=2.0)
    coarse = smooth_noise(Draw(0), 64, 64, scale=16.0)
    assert _neighbour_corr(coarse, 4) > _neighbour_corr(fine, 4) + 0.3


def test_smooth_noise_handles_scale_larger_than_image() -> None:
    field = smooth_noise(Draw(3), 8, 8, scale=500.0)
    assert field.shape == (1, 1, 8, 8) and torch.isfinite(field).all()


def test_fractal_and_filtered_noise() -> None:
    frac = fractal_noise(Draw(0), 32, 32, scale=16.0, octaves=4)
    assert frac.shape == (1, 1, 32, 32) and abs(float(frac.std()) - 1.0) < 1e-4
    grain = filtered_noise(Draw(0), 3, 48, 48, sigma=1.0)
    assert grain.shape == (1, 3, 48, 48)
    assert _neighbour_corr(grain) > 0.5
    white = filtered_noise(Draw(0), 1, 48, 48, sigma=0.0)
    assert abs(_neighbour_corr(white)) < 0.1


def test_edge_distance_and_per_image() -> None:
    dist = edge_distance(10, 20)
    assert dist.shape == (1, 1, 10, 20)
    assert float(dist[0, 0, 0, 0]) < float(dist[0, 0, 5, 10]) <= 0.5
    img = torch.zeros(3, 3, 4, 4)
    assert per_image(torch.tensor([1, 2, 3]), img).shape == (3, 1, 1, 1)


def test_bezier_endpoints_and_smooth_curve() -> None:
    control = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 2.0], [4.0, 0.0]])
    pts = bezier(control, 11)
    assert np.allclose(pts[0], control[0]) and np.allclose(pts[-1], control[-1])
    curve = smooth_curve(Draw(0), 50, knots=5)
    assert curve.shape == (50,) and np.abs(np.diff(curve)).max() < 1.0


def test_render_strokes_width_and_softness() -> None:
    points = np.array([[4.0, 16.0], [60.0, 16.0]])
    thin = render_strokes(32, 64, [Stroke(points, np.array([1.0, 1.0]), np.ones(2))])
    thick = render_strokes(32, 64, [Stroke(points, np.array([6.0, 6.0]), np.ones(2))])
    assert thin.dtype == np.float32 and thin.shape == (32, 64)
    assert 0.0 <= thin.min() and thick.max() <= 1.0
    assert thick[16, 30] > 0.95 and thick[2, 30] == 0.0  # opaque core, untouched far away
    assert 3.0 < thick[:, 30].sum() < 9.0  # about 6 px of coverage across the stroke
    assert thin[:, 30].sum() < 2.0
    faint = render_strokes(32, 64, [Stroke(points, np.array([6.0, 6.0]), np.full(2, 0.5))])
    assert abs(float(faint[16, 30]) - 0.5) < 0.05


def test_bezier_stroke_breakup_and_taper() -> None:
    stroke = bezier_stroke(
        Draw(0),
        np.array([0.0, 0.0]),
        np.array([100.0, 0.0]),
        bend=0.1,
        width=3.0,
        opacity=1.0,
        breakup=0.4,
    )
    assert len(stroke.points) == len(stroke.widths) == len(stroke.values)
    assert (stroke.values < 0.05).mean() > 0.2  # gaps
    assert stroke.widths[0] < stroke.widths[len(stroke.widths) // 2]  # tapered end


def test_render_blobs_and_polygons() -> None:
    alpha = render_blobs(Draw(0), 32, 32, np.array([[16.0, 16.0]]), np.array([4.0]), np.ones(1))
    assert alpha[16, 16] == 1.0 and alpha[0, 0] == 0.0
    assert 20 < alpha.sum() < 90  # roughly pi * 4^2 (elliptic, jagged)
    empty = render_blobs(Draw(0), 8, 8, np.zeros((0, 2)), np.zeros(0), np.zeros(0))
    assert empty.sum() == 0
    square = np.array([[2.0, 2.0], [10.0, 2.0], [10.0, 10.0], [2.0, 10.0]])
    filled = render_polygons(12, 12, [square], np.ones(1))
    assert 60.0 < float(filled.sum()) < 80.0  # 8x8 square plus the anti-aliased fringe
