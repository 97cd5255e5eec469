"""Sine and cosine from + and * alone, so they give the same bits on every machine.

numpy sends np.sin, np.cos and np.arcsin to different SIMD code depending on the CPU (SVML on
AVX-512, its own loops elsewhere), and the results can differ in the last bit. A chunk must be
identical wherever it is generated, so every value that passes through a trigonometric function
uses these polynomials: IEEE-754 makes each + and * correctly rounded everywhere, and numpy
evaluates them one ufunc at a time (no fused multiply-add).
"""

from __future__ import annotations

import math

import numpy as np

PI = math.pi
HALF_PI = math.pi / 2
DEG = math.pi / 180.0
# Taylor coefficients of sin(x)/x in x**2, up to x**24: on |x| <= pi/2 the first term left out
# is below 2e-23, far under a double's rounding.
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(13))


def _sin_small(x: np.ndarray) -> np.ndarray:
    """sin(x) for |x| <= pi/2."""
    x2 = x * x
    acc = np.full_like(x, _SIN[-1])
    for coefficient in reversed(_SIN[:-1]):
        acc = acc * x2 + coefficient
    return acc * x


def sin_rad(x: np.ndarray | float) -> np.ndarray:
    """sin(x) for |x| <= pi (callers reduce larger angles)."""
    x = np.asarray(x, dtype=np.float64)
    folded = np.where(x > HALF_PI, PI - x, np.where(x < -HALF_PI, -PI - x, x))
    return _sin_small(folded)


def cos_rad(x: np.ndarray | float) -> np.ndarray:
    """cos(x) for |x| <= pi, as sin(pi/2 - |x|)."""
    x = np.asarray(x, dtype=np.float64)
    return _sin_small(HALF_PI - np.abs(x))


def _reduce_deg(degrees: np.ndarray | float) -> np.ndarray:
    """Degrees to radians in [-pi, pi]; np.mod on floats is exact, so this is deterministic."""
    d = np.asarray(degrees, dtype=np.float64)
    if d.size:
        low, high = d.min(), d.max()
        if low >= -540.0 and high <= 540.0:
            if low < -180.0 or high > 180.0:
                # One turn off at most: d -/+ 360 is exact there (Sterbenz), cheaper than mod.
                d = np.where(d > 180.0, d - 360.0, np.where(d < -180.0, d + 360.0, d))
        else:
            d = np.where((d >= -180.0) & (d <= 180.0), d, np.mod(d + 180.0, 360.0) - 180.0)
    return d * DEG


def sin_deg(degrees: np.ndarray | float) -> np.ndarray:
    return sin_rad(_reduce_deg(degrees))


def cos_deg(degrees: np.ndarray | float) -> np.ndarray:
    return cos_rad(_reduce_deg(degrees))


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """x, y, z of points on the unit sphere."""
    cos_dec = cos_deg(dec_deg)
    return cos_dec * cos_deg(ra_deg), cos_dec * sin_deg(ra_deg), sin_deg(dec_deg)
