"""The sky chunker: boxes tile the sphere, ids round-trip, points land in their box."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datagen.generator import IntegerChunker, SkyChunker, detmath
from datagen.generator.chunking import points_in_box

CONFIGS = [(1, 1), (2, 1), (7, 4), (18, 3), (85, 12)]
SPHERE_DEG2 = 4 * math.pi * (180 / math.pi) ** 2


@pytest.mark.parametrize(("stripes", "subs"), CONFIGS)
def test_boxes_tile_the_sphere(stripes: int, subs: int) -> None:
    chunker = SkyChunker(stripes, subs)
    ids = chunker.chunk_ids()
    assert len(ids) == len(set(ids))
    by_stripe: dict[int, list] = {}
    for chunk_id in ids:
        stripe, chunk = chunker.stripe_of_chunk(chunk_id)
        assert chunker.chunk_id(stripe, chunk) == chunk_id
        assert chunk < 2 * stripes
        by_stripe.setdefault(stripe, []).append(chunker.box(chunk_id))
    assert sorted(by_stripe) == list(range(stripes))
    dec_edges = []
    for _, boxes in sorted(by_stripe.items()):
        # Each stripe: boxes side by side from ra 0 to 360, all at the same declinations.
        assert boxes[0].ra_min == 0.0 and boxes[-1].ra_max == 360.0
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert left.ra_max == right.ra_min
        assert len({(b.dec_min, b.dec_max) for b in boxes}) == 1
        dec_edges.append((boxes[0].dec_min, boxes[0].dec_max))
    assert dec_edges[0][0] == -90.0 and dec_edges[-1][1] == 90.0
    for below, above in zip(dec_edges, dec_edges[1:], strict=False):
        assert below[1] == above[0]
    area = sum(chunker.box(c).area_deg2 for c in ids)
    assert area == pytest.approx(SPHERE_DEG2, rel=1e-12)


@pytest.mark.parametrize(("stripes", "subs"), [(7, 4), (18, 3)])
def test_every_point_is_in_exactly_one_box(stripes: int, subs: int) -> None:
    chunker = SkyChunker(stripes, subs)
    rng = np.random.default_rng(5)
    ra = rng.uniform(0, 360, 3000)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 3000)))
    # Edges and poles too.
    ra = np.concatenate([ra, [0.0, 359.999999, 180.0, 0.0, 0.0]])
    dec = np.concatenate([dec, [-90.0, 90.0, 0.0, 89.99999, -89.99999]])
    ids = chunker.chunk_ids()
    inside = np.array([chunker.box(c).contains(ra, dec) for c in ids])
    assert (inside.sum(axis=0) == 1).all()
    owner = np.array(ids)[inside.argmax(axis=0)]
    assert (chunker.chunk_of(ra, dec) == owner).all()


@pytest.mark.parametrize(("stripes", "subs"), CONFIGS)
def test_chunk_ids_round_trip_through_box_centres(stripes: int, subs: int) -> None:
    chunker = SkyChunker(stripes, subs)
    ids = chunker.chunk_ids()
    centres = np.array([chunker.box(c).center for c in ids])
    assert chunker.chunk_of(centres[:, 0], centres[:, 1]).tolist() == ids


def test_chunk_ids_follow_lsst_scheme() -> None:
    chunker = SkyChunker(85, 12)
    assert chunker.chunk_id(3, 5) == 3 * 2 * 85 + 5
    # The polar stripes hold one chunk; the equator's as many as fit.
    assert chunker.num_chunks_in_stripe(0) == 1 == chunker.num_chunks_in_stripe(84)
    assert chunker.num_chunks_in_stripe(42) <= 2 * 85
    assert chunker.is_chunk(0) and not chunker.is_chunk(1) and not chunker.is_chunk(-1)
    assert chunker.max_chunk_id == max(chunker.chunk_ids())
    with pytest.raises(ValueError, match="not a chunk id"):
        chunker.box(1)
    # Near the equator, a chunk is about as wide as a stripe is high.
    box = chunker.box(chunker.chunk_id(42, 0))
    assert box.ra_max - box.ra_min == pytest.approx(180 / 85, rel=0.02)


def test_subchunks_partition_their_chunk() -> None:
    chunker = SkyChunker(18, 3)
    rng = np.random.default_rng(9)
    for chunk_id in (chunker.chunk_ids()[0], chunker.chunk_ids()[100], chunker.max_chunk_id):
        box = chunker.box(chunk_id)
        ra = points_in_box(rng, box, 2000, "ra")
        dec = points_in_box(rng, box, 2000, "dec")
        sub = chunker.subchunk_of(ra, dec, chunk_id)
        assert set(sub.tolist()) <= set(chunker.subchunk_ids(chunk_id))
        assert (chunker.subchunk_of(ra, dec) == sub).all()
        for s in np.unique(sub):
            picked = sub == s
            assert chunker.subchunk_box(chunk_id, int(s)).contains(ra[picked], dec[picked]).all()
        area = sum(
            chunker.subchunk_box(chunk_id, s).area_deg2 for s in chunker.subchunk_ids(chunk_id)
        )
        assert area == pytest.approx(box.area_deg2, rel=1e-9)


@pytest.mark.parametrize("stripe", [0, 1, 42, 84])
def test_points_in_box_stay_in_the_box_and_are_uniform_on_the_sphere(stripe: int) -> None:
    chunker = SkyChunker(85, 12)
    chunk_id = chunker.chunk_id(stripe, 0)
    box = chunker.box(chunk_id)
    rng = np.random.default_rng(stripe)
    ra = points_in_box(rng, box, 20_000, "ra")
    dec = points_in_box(rng, box, 20_000, "dec")
    assert box.contains(ra, dec).all()
    assert (chunker.chunk_of(ra, dec) == chunk_id).all()
    # Uniform on the sphere: sin(dec) is uniform over the box's range.
    low, high = math.sin(math.radians(box.dec_min)), math.sin(math.radians(box.dec_max))
    fraction_low_half = np.mean(np.sin(np.radians(dec)) < (low + high) / 2)
    assert fraction_low_half == pytest.approx(0.5, abs=0.02)


def test_integer_chunker() -> None:
    chunker = IntegerChunker(5)
    assert chunker.chunk_ids() == [0, 1, 2, 3, 4]
    assert chunker.is_chunk(4) and not chunker.is_chunk(5) and not chunker.is_chunk(-1)
    assert chunker.max_chunk_id == 4
    with pytest.raises(ValueError):
        IntegerChunker(0)


def test_deterministic_trigonometry_matches_numpy() -> None:
    angles = np.linspace(-720, 720, 20001)
    assert np.abs(detmath.sin_deg(angles) - np.sin(np.radians(angles))).max() < 1e-14
    assert np.abs(detmath.cos_deg(angles) - np.cos(np.radians(angles))).max() < 1e-14
    x, y, z = detmath.unit_vectors(angles, angles / 8)
    assert np.allclose(x * x + y * y + z * z, 1.0, atol=1e-14)


# --- chunk selections ---------------------------------------------------------------------------


def test_select_chunks_all_first_lists_and_ranges() -> None:
    from datagen.generator.chunking import select_chunks

    ints = IntegerChunker(100)
    assert select_chunks(ints, "all") == list(range(100))
    assert select_chunks(ints, "first:3") == [0, 1, 2]
    assert select_chunks(ints, " 5, 1-3 ,2") == [1, 2, 3, 5]
    sky = SkyChunker(85, 12)
    assert select_chunks(sky, "first:4") == sky.chunk_ids()[:4]
    # a range takes the chunks that exist inside it, as LSST's -r a:b does
    inside = select_chunks(sky, "0-400")
    assert inside and all(sky.is_chunk(c) and c <= 400 for c in inside)
    assert len(inside) < 401


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no chunks selected"),
        ("first:0", "at least 1"),
        ("first:x", "whole number"),
        ("5-2", "ends before"),
        ("-1", "whole number"),
        ("1,,2", "whole number"),
        ("100", "not a chunk id"),
        ("200-300", "no chunk"),
        ("0-99999999999", "at most"),
        ("٣", "whole number"),  # a digit, but not an ASCII one
        ("1" * 20_000, "longer than"),
    ],
)
def test_select_chunks_refuses_bad_selections(text: str, message: str) -> None:
    from datagen.generator.chunking import ChunkSelectionError, select_chunks

    with pytest.raises(ChunkSelectionError, match=message):
        select_chunks(IntegerChunker(100), text)
