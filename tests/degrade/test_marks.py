import dataclasses
from collections import Counter

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from daguerre.degrade.fields import Draw
from daguerre.degrade.marks import (
    GEOMETRIES,
    PROFILES,
    TONES,
    Marks,
    MarksParams,
    MarkStyle,
    composite_mark,
    mark_styles,
    paper_colour,
    speck_count,
)
from tests.degrade.contract import DegradationContract, make_image


class TestMarks(DegradationContract):
    build = staticmethod(lambda: Marks())
    zero_params = staticmethod(
        lambda p: dataclasses.replace(p, lines=p.lines * 0, specks=p.specks * 0)
    )
    image_shape = (2, 3, 48, 48)


def _params(seed: int, lines: int = 10, specks: float = 60.0) -> MarksParams:
    return MarksParams(
        lines=torch.tensor([lines]), specks=torch.tensor([specks]), seed=torch.tensor([seed])
    )


def _batch_styles(batch: int = 64) -> list[MarkStyle]:
    params = Marks().sample(torch.Generator().manual_seed(0), batch)
    return [
        style
        for seed, lines in zip(params.seed, params.lines, strict=True)
        for style in mark_styles(Draw(seed), int(lines))
    ]


def _whitens(style: MarkStyle) -> bool:
    """Paper-coloured or lightening: no change at all on a pure white print."""
    return style.tone == "paper" or (style.tone == "relative" and style.lighten)


def test_marks_change_pixels_and_the_mask_covers_every_visible_change() -> None:
    op = Marks()
    images = [make_image((1, 3, 80, 96), 0), torch.full((1, 3, 80, 96), 0.5)]
    images.append(torch.ones(1, 3, 80, 96))
    missed, changed_total = 0, 0
    for seed in range(12):
        for img in images:
            out, mask = op.apply_masked(img, _params(seed))
            change = (out - img).abs().amax(dim=1, keepdim=True)
            labelled = F.max_pool2d((mask > 0.25).float(), 3, stride=1, padding=1) > 0
            # the outer ring is skipped: a mark just beyond the frame leaves only its
            # anti-aliased fringe there, whose coverage stays under the threshold
            uncovered = ((change > 0.05) & ~labelled)[..., 1:-1, 1:-1]
            assert (change > 0.05).sum() > 50  # marks do change pixels
            assert not (uncovered & (change[..., 1:-1, 1:-1] > 0.1)).any()
            missed += int(uncovered.sum())
            changed_total += int((change > 0.05).sum())
    # a soft edge's far tail may reach 0.05 just beyond the dilated label, very rarely
    assert missed <= changed_total // 1000


def test_unchanged_pixels_are_not_labelled() -> None:
    img = make_image((1, 3, 64, 64), 3)
    out, mask = Marks().apply_masked(img, _params(5))
    unchanged = (out - img).abs().amax(dim=1, keepdim=True) == 0
    assert float(mask[unchanged].max()) < 1e-4  # at most a rounding-level sliver of coverage


def test_an_invisible_mark_is_not_labelled() -> None:
    white = torch.ones(1, 3, 64, 64)
    gray = torch.full((1, 3, 64, 64), 0.4)
    gray[:, :, -4:] = 0.95  # a bright strip sets the paper colour, under the marks' centres
    invisible = [seed for seed in range(200) if _whitens(mark_styles(Draw(seed), 1)[0])][:6]
    assert len(invisible) == 6
    for seed in invisible:
        out, mask = Marks().apply_masked(white, _params(seed, lines=1, specks=0.0))
        assert torch.equal(out, white)  # white paper (or lightening) on white changes nothing
        assert float(mask.max()) == 0.0
        out, mask = Marks().apply_masked(gray, _params(seed, lines=1, specks=0.0))
        assert float(mask.max()) > 0.25  # the same mark on a darker print is labelled


def test_composite_mark_labels_by_visible_change() -> None:
    coverage = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    white = torch.ones(1, 3, 1, 1)
    region, label = composite_mark(torch.ones(1, 3, 1, 3), coverage, 1.0, white)
    assert torch.equal(region, torch.ones(1, 3, 1, 3)) and float(label.max()) == 0.0
    region, label = composite_mark(torch.full((1, 3, 1, 3), 0.5), coverage, 0.6, white)
    torch.testing.assert_close(label, coverage)  # a change of 0.3 at full coverage: visible
    torch.testing.assert_close(region[0, :, 0, 2], torch.full((3,), 0.8))
    _, label = composite_mark(torch.full((1, 3, 1, 3), 0.95), coverage, 1.0, white)
    torch.testing.assert_close(label, coverage * 0.5)  # a change of 0.05: half visible


def test_profiles_tones_and_geometries_all_occur_over_a_batch() -> None:
    styles = _batch_styles(64)
    assert set(Counter(s.profile for s in styles)) == set(PROFILES)
    assert set(Counter(s.tone for s in styles)) == set(TONES)
    assert set(Counter(s.geometry for s in styles)) == set(GEOMETRIES)
    opacities = [s.opacity for s in styles]
    assert min(opacities) < 0.5 and max(opacities) > 0.9  # translucent to solid
    widths = np.array([s.width for s in styles])
    assert widths.min() >= 0.6 and widths.max() <= 16.0
    assert np.median(widths) < 3.0  # thin is most likely


def test_rendered_widths_span_thin_and_thick() -> None:
    op = Marks()
    batch = 48
    params = MarksParams(  # one mark per image, so that crossings do not merge components
        lines=torch.ones(batch, dtype=torch.int64),
        specks=torch.zeros(batch),
        seed=op.sample(torch.Generator().manual_seed(1), batch).seed,
    )
    _, mask = op.apply_masked(make_image((batch, 3, 96, 96), 1), params)
    half_widths = []
    for label in (mask[:, 0] > 0.25).numpy().astype(np.uint8):
        count, components = cv2.connectedComponents(label)
        distance = cv2.distanceTransform(label, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        half_widths += [float(distance[components == k].max()) for k in range(1, count)]
    thickest = np.array(half_widths)  # per component: distance from its spine to its edge
    assert (thickest > 4.0).sum() >= 2  # some components wider than 8 px
    # some only 1-2 px across: a 2 px band is sqrt(2) deep on the diagonal, a 3 px band 2
    assert (thickest <= 1.5).sum() >= 5


def test_specks_come_light_and_dark_and_scale_with_area() -> None:
    img = torch.full((1, 3, 96, 96), 0.5)
    out, mask = Marks().apply_masked(img, _params(2, lines=0, specks=60.0))
    labelled = (mask > 0.25).expand_as(out)
    assert (out[labelled] > 0.7).any() and (out[labelled] < 0.3).any()
    small = [speck_count(Draw(s), 40.0, 64, 64) for s in range(20)]
    large = [speck_count(Draw(s), 40.0, 256, 256) for s in range(20)]
    assert set(small) <= {2, 3} and set(large) == {40}


def test_paper_colour_is_the_prints_own_white() -> None:
    img = torch.full((1, 3, 100, 100), 0.3)
    img[:, :, :3] = torch.tensor([0.95, 0.9, 0.7]).view(1, 3, 1, 1)  # 3 % yellowed whites
    torch.testing.assert_close(paper_colour(img).flatten(), torch.tensor([0.95, 0.9, 0.7]))
