"""Chunkers: which chunk ids a dataset has, and for the sky chunker the box each one covers.

The sky chunker follows LSST's (lsst/sphgeom Chunker.cc, which Qserv and the partitioner use):
the sky is cut into `num_stripes` stripes of equal height in declination, each stripe into
chunks of equal width in right ascension (as many as fit so that a chunk is no narrower than a
stripe is high, fewer towards the poles), and each stripe into `num_substripes_per_stripe`
sub-stripes whose sub-chunks subdivide the chunks the same way.

    chunk id    = stripe * 2 * num_stripes + chunk_in_stripe
    subchunk id = (sub_stripe - stripe * num_substripes_per_stripe) * max_subchunks_per_row
                  + (sub_chunk - chunk_in_stripe * subchunks_per_chunk_in_that_sub_stripe)

so a chunk id names the same patch of sky as Qserv's for the same two numbers. Ids are not dense:
a stripe has at most 2 * num_stripes chunks, fewer away from the equator.

Angles are degrees. Boxes are half open, [ra_min, ra_max) x [dec_min, dec_max), except that the
northernmost stripe includes dec = +90. The edges of boxes are computed once, and `chunk_of`
compares against those same numbers, so a point generated in a box is found in that box again
(no rounding disagreement at the edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import detmath
from .errors import ChunkSelectionError


@dataclass(frozen=True)
class Box:
    """A box on the sky, in degrees; `dec_max` is included only when it is +90."""

    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.ra_min + self.ra_max) / 2, (self.dec_min + self.dec_max) / 2

    @property
    def area_deg2(self) -> float:
        """Area in square degrees (exact on the sphere: delta ra times delta sin(dec))."""
        sines = detmath.sin_deg(np.array([self.dec_min, self.dec_max]))
        return float((self.ra_max - self.ra_min) * (sines[1] - sines[0]) / detmath.DEG)

    def contains(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        ra, dec = np.asarray(ra), np.asarray(dec)
        inside_dec = (dec >= self.dec_min) & (
            (dec < self.dec_max) | ((self.dec_max == 90.0) & (dec == 90.0))
        )
        return (ra >= self.ra_min) & (ra < self.ra_max) & inside_dec


class IntegerChunker:
    """Plain partitions: chunks 0 .. num_chunks - 1, no geometry."""

    kind = "integer"

    def __init__(self, num_chunks: int) -> None:
        if num_chunks < 1:
            raise ValueError("num_chunks must be at least 1")
        self.num_chunks = num_chunks

    def chunk_ids(self) -> list[int]:
        return list(range(self.num_chunks))

    @property
    def max_chunk_id(self) -> int:
        return self.num_chunks - 1

    def is_chunk(self, chunk_id: int) -> bool:
        return 0 <= chunk_id < self.num_chunks

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntegerChunker) and other.num_chunks == self.num_chunks

    def __hash__(self) -> int:
        return hash(("integer", self.num_chunks))

    def __repr__(self) -> str:
        return f"IntegerChunker(num_chunks={self.num_chunks})"


def _num_segments(lat_min: float, lat_max: float, width: float) -> int:
    """How many segments of angular width `width` fit around a latitude band (radians); the
    same computation as sphgeom's computeNumSegments, so chunk counts match LSST's."""
    if width > math.pi:
        return 1
    max_abs_lat = max(abs(lat_min), abs(lat_max))
    if max_abs_lat > 0.5 * math.pi - 4.85e-6:
        return 1
    cos_width = math.cos(width)
    sin_lat = math.sin(max_abs_lat)
    cos_lat = math.cos(max_abs_lat)
    x = cos_width - sin_lat * sin_lat
    u = cos_lat * cos_lat
    y = math.sqrt(abs(u * u - x * x))
    return int(math.floor(2.0 * math.pi / abs(math.atan2(y, x))))


@dataclass(frozen=True)
class _Stripe:
    num_chunks: int
    chunk_width: float  # degrees
    ra_edges: np.ndarray = field(repr=False)  # num_chunks + 1 edges, first 0, last 360


class SkyChunker:
    """LSST's stripes and sub-stripes; see the module's docstring for the chunk-id scheme."""

    kind = "sky"

    def __init__(self, num_stripes: int, num_substripes_per_stripe: int = 1) -> None:
        if num_stripes < 1 or num_substripes_per_stripe < 1:
            raise ValueError("num_stripes and num_substripes_per_stripe must be positive")
        if num_stripes * num_substripes_per_stripe > 180 * 3600:
            raise ValueError("sub-stripes would be under one arcsecond high")
        self.num_stripes = num_stripes
        self.num_substripes_per_stripe = num_substripes_per_stripe
        self.num_substripes = num_stripes * num_substripes_per_stripe
        self.stripe_height = 180.0 / num_stripes
        self.substripe_height = 180.0 / self.num_substripes
        # Declination edges of every sub-stripe; a stripe's edges are every n-th of these.
        edges = np.arange(self.num_substripes + 1, dtype=np.float64) * self.substripe_height - 90.0
        edges[0], edges[-1] = -90.0, 90.0
        self._dec_edges = edges
        stripe_height_rad = math.pi / num_stripes
        sub_height_rad = math.pi / self.num_substripes
        self._stripes: list[_Stripe] = []
        subchunks: list[int] = []
        for s in range(num_stripes):
            lat_min = s * stripe_height_rad - 0.5 * math.pi
            nc = _num_segments(lat_min, lat_min + stripe_height_rad, stripe_height_rad)
            width = 360.0 / nc
            ra_edges = np.arange(nc + 1, dtype=np.float64) * width
            ra_edges[-1] = 360.0
            self._stripes.append(_Stripe(nc, width, ra_edges))
            for ss in range(s * num_substripes_per_stripe, (s + 1) * num_substripes_per_stripe):
                ss_lat_min = ss * sub_height_rad - 0.5 * math.pi
                nsc = _num_segments(ss_lat_min, ss_lat_min + sub_height_rad, sub_height_rad)
                subchunks.append(max(1, nsc // nc))
        self._subchunks_per_chunk = np.array(subchunks, dtype=np.int64)
        self.max_subchunks_per_substripe_chunk = int(self._subchunks_per_chunk.max())
        self._nc = np.array([st.num_chunks for st in self._stripes], dtype=np.int64)
        self._width = np.array([st.chunk_width for st in self._stripes], dtype=np.float64)

    # -- ids ---------------------------------------------------------------------------------

    def chunk_id(self, stripe: int, chunk_in_stripe: int) -> int:
        return stripe * 2 * self.num_stripes + chunk_in_stripe

    def stripe_of_chunk(self, chunk_id: int) -> tuple[int, int]:
        """(stripe, chunk in stripe) of a chunk id."""
        return divmod(chunk_id, 2 * self.num_stripes)

    def num_chunks_in_stripe(self, stripe: int) -> int:
        return self._stripes[stripe].num_chunks

    def chunk_ids(self) -> list[int]:
        return [self.chunk_id(s, c) for s in range(self.num_stripes) for c in range(self._nc[s])]

    @property
    def max_chunk_id(self) -> int:
        last = self.num_stripes - 1
        return self.chunk_id(last, self._stripes[last].num_chunks - 1)

    def is_chunk(self, chunk_id: int) -> bool:
        if chunk_id < 0:
            return False
        stripe, chunk = self.stripe_of_chunk(chunk_id)
        return stripe < self.num_stripes and chunk < self._stripes[stripe].num_chunks

    def _check(self, chunk_id: int) -> tuple[int, int]:
        if not self.is_chunk(chunk_id):
            raise ValueError(f"{chunk_id} is not a chunk id of {self!r}")
        return self.stripe_of_chunk(chunk_id)

    # -- geometry ----------------------------------------------------------------------------

    def box(self, chunk_id: int) -> Box:
        stripe, chunk = self._check(chunk_id)
        ra_edges = self._stripes[stripe].ra_edges
        n = self.num_substripes_per_stripe
        return Box(
            float(ra_edges[chunk]),
            float(ra_edges[chunk + 1]),
            float(self._dec_edges[stripe * n]),
            float(self._dec_edges[(stripe + 1) * n]),
        )

    def _substripe_of(self, dec: np.ndarray) -> np.ndarray:
        edges = self._dec_edges
        guess = np.floor((dec + 90.0) / self.substripe_height)
        ss = np.clip(np.nan_to_num(guess), 0, self.num_substripes - 1).astype(np.int64)
        # The division can land one off at an edge: settle it against the edges themselves.
        ss = np.where(dec < edges[ss], np.maximum(ss - 1, 0), ss)
        return np.where((dec >= edges[ss + 1]) & (ss < self.num_substripes - 1), ss + 1, ss)

    def _chunk_in_stripe(self, ra: np.ndarray, stripe: np.ndarray) -> np.ndarray:
        nc, width = self._nc[stripe], self._width[stripe]
        chunk = np.clip(np.floor(ra / width), 0, nc - 1).astype(np.int64)
        low = np.where(chunk == 0, 0.0, chunk * width)
        high = np.where(chunk + 1 >= nc, 360.0, (chunk + 1) * width)
        chunk = np.where(ra < low, np.maximum(chunk - 1, 0), chunk)
        return np.where((ra >= high) & (chunk < nc - 1), chunk + 1, chunk)

    def chunk_of(self, ra: np.ndarray | float, dec: np.ndarray | float) -> np.ndarray:
        """Chunk ids of points (degrees; ra taken modulo 360, dec clipped to [-90, 90])."""
        ra = np.mod(np.asarray(ra, dtype=np.float64), 360.0)
        dec = np.clip(np.asarray(dec, dtype=np.float64), -90.0, 90.0)
        stripe = self._substripe_of(dec) // self.num_substripes_per_stripe
        chunk = self._chunk_in_stripe(ra, stripe)
        return stripe * 2 * self.num_stripes + chunk

    def subchunk_of(
        self, ra: np.ndarray | float, dec: np.ndarray | float, chunk_id: int | None = None
    ) -> np.ndarray:
        """Sub-chunk ids (within their chunk) of points; with `chunk_id`, points are taken to
        lie in that chunk and a sub-chunk index that rounding puts over its edge is clamped."""
        ra = np.mod(np.asarray(ra, dtype=np.float64), 360.0)
        dec = np.clip(np.asarray(dec, dtype=np.float64), -90.0, 90.0)
        ss = self._substripe_of(dec)
        stripe = ss // self.num_substripes_per_stripe
        if chunk_id is None:
            chunk = self._chunk_in_stripe(ra, stripe)
        else:
            s, c = self._check(chunk_id)
            n = self.num_substripes_per_stripe
            ss = np.clip(ss, s * n, (s + 1) * n - 1)
            stripe = np.full_like(ss, s)
            chunk = np.full_like(ss, c)
        nsc = self._subchunks_per_chunk[ss]
        sub_width = 360.0 / (self._nc[stripe] * nsc)
        x = np.floor(ra / sub_width).astype(np.int64) - chunk * nsc
        x = np.clip(x, 0, nsc - 1)
        y = ss - stripe * self.num_substripes_per_stripe
        return y * self.max_subchunks_per_substripe_chunk + x

    def subchunk_ids(self, chunk_id: int) -> list[int]:
        stripe, _ = self._check(chunk_id)
        n = self.num_substripes_per_stripe
        return [
            y * self.max_subchunks_per_substripe_chunk + x
            for y in range(n)
            for x in range(int(self._subchunks_per_chunk[stripe * n + y]))
        ]

    def subchunk_box(self, chunk_id: int, subchunk_id: int) -> Box:
        stripe, chunk = self._check(chunk_id)
        n = self.num_substripes_per_stripe
        y, x = divmod(subchunk_id, self.max_subchunks_per_substripe_chunk)
        ss = stripe * n + y
        if not (0 <= y < n and 0 <= x < self._subchunks_per_chunk[ss]):
            raise ValueError(f"{subchunk_id} is not a sub-chunk of chunk {chunk_id}")
        nsc = int(self._subchunks_per_chunk[ss])
        sub_width = 360.0 / (self._stripes[stripe].num_chunks * nsc)
        sc = chunk * nsc + x
        ra_max = 360.0 if sc + 1 == self._stripes[stripe].num_chunks * nsc else (sc + 1) * sub_width
        return Box(
            sc * sub_width, ra_max, float(self._dec_edges[ss]), float(self._dec_edges[ss + 1])
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SkyChunker)
            and other.num_stripes == self.num_stripes
            and other.num_substripes_per_stripe == self.num_substripes_per_stripe
        )

    def __hash__(self) -> int:
        return hash(("sky", self.num_stripes, self.num_substripes_per_stripe))

    def __repr__(self) -> str:
        return (
            f"SkyChunker(num_stripes={self.num_stripes}, "
            f"num_substripes_per_stripe={self.num_substripes_per_stripe})"
        )


Chunker = IntegerChunker | SkyChunker


def points_in_box(rng: np.random.Generator, box: Box, n: int, coordinate: str) -> np.ndarray:
    """n right ascensions or declinations (degrees) of points uniform on the sphere inside
    `box`. Uniform on the sphere factorises in a box: ra is uniform, sin(dec) is uniform; dec is
    drawn by rejection against cos(dec) (with detmath's cosine) instead of through arcsin, whose
    SIMD versions differ in the last bit between CPUs."""
    if coordinate == "ra":
        values = box.ra_min + (box.ra_max - box.ra_min) * rng.random(n)
        return np.minimum(values, np.nextafter(box.ra_max, -np.inf))
    low, high = box.dec_min, box.dec_max
    peak = 1.0 if low <= 0.0 <= high else float(detmath.cos_deg(min(abs(low), abs(high))))
    # Expected acceptance: mean of cos over the band / its peak; only sizes the batches.
    mean_cos = float((detmath.sin_deg(high) - detmath.sin_deg(low)) / ((high - low) * detmath.DEG))
    acceptance = max(mean_cos / peak, 1e-3)
    kept: list[np.ndarray] = []
    have = 0
    while have < n:
        batch = int((n - have) / acceptance * 1.05) + 32
        dec = low + (high - low) * rng.random(batch)
        accept = rng.random(batch) * peak < detmath.cos_deg(dec)
        kept.append(dec[accept])
        have += int(accept.sum())
    values = np.concatenate(kept)[:n] if kept else np.empty(0)
    return np.minimum(values, np.nextafter(high, -np.inf))


MAX_SELECTION_TEXT = 10_000


def select_chunks(chunker: IntegerChunker | SkyChunker, text: str) -> list[int]:
    """The chunk ids a selection names, sorted and without repeats.

    ``all``; ``first:N`` (the N lowest ids: sky chunk ids are sparse); a comma-separated list
    of ids and ranges ``a-b`` (both ends included). A range takes the chunks that exist inside
    it, as LSST's ``-r a:b`` does, and must hold at least one; a single id must exist.
    """
    text = (text or "").strip()
    if not text:
        raise ChunkSelectionError("no chunks selected: give 'all', 'first:N' or ids like 0-63,70")
    if len(text) > MAX_SELECTION_TEXT:
        raise ChunkSelectionError(f"the chunk selection is longer than {MAX_SELECTION_TEXT} chars")
    if text == "all":
        return chunker.chunk_ids()
    if text.startswith("first:"):
        count = _int(text[len("first:") :], text)
        if count < 1:
            raise ChunkSelectionError(f"{text!r}: the count must be at least 1")
        return chunker.chunk_ids()[:count]
    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        if dash and low.strip():  # "a-b"; a leading "-" is a negative number, refused below
            first, last = _int(low, part), _int(high, part)
            if last < first:
                raise ChunkSelectionError(f"{part!r}: the range ends before it starts")
            if last - first > 10_000_000:
                raise ChunkSelectionError(f"{part!r}: a range of at most 10,000,000 ids")
            found = [c for c in chunker.chunk_ids() if first <= c <= last]
            if not found:
                raise ChunkSelectionError(f"{part!r}: no chunk of {chunker!r} in this range")
            chosen.update(found)
        else:
            chunk_id = _int(part, part)
            if not chunker.is_chunk(chunk_id):
                raise ChunkSelectionError(f"{chunk_id} is not a chunk id of {chunker!r}")
            chosen.add(chunk_id)
    return sorted(chosen)


def _int(value: str, part: str) -> int:
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        raise ChunkSelectionError(f"{part!r}: expected a chunk id (a whole number ≥ 0)")
    return int(value)
