"""Confidence intervals for a proportion and for the difference of two (standard library only).

- ``wilson``: Wilson's score interval for one proportion k/n (Wilson 1927), without
  continuity correction. Unlike the Wald interval p ± z·√(p(1−p)/n) it stays inside
  [0, 1] and does not shrink to nothing at 0/n or n/n.
- ``newcombe``: the hybrid score interval for p₁ − p₂ of two independent groups
  (Newcombe 1998, *Statistics in Medicine* 17:873–890, method 10), built from the two
  Wilson intervals (l₁, u₁) and (l₂, u₂)::

      low  = (p₁ − p₂) − √((p₁ − l₁)² + (u₂ − p₂)²)
      high = (p₁ − p₂) + √((u₁ − p₁)² + (p₂ − l₂)²)

  It behaves with small groups and rates near 0 or 1, where the Wald difference
  interval is too narrow or leaves [−1, 1]; Newcombe's table II gives, for instance,
  56/70 − 48/80: 0.0524 to 0.3339, and 10/10 − 0/20: 0.6791 to 1.0000.
"""

from __future__ import annotations

from math import sqrt
from statistics import NormalDist

LEVEL = 0.95


def z_for(level: float = LEVEL) -> float:
    """The two-sided normal quantile of ``level`` (1.96 for 95%)."""
    if not 0 < level < 1:
        raise ValueError(f"a confidence level is between 0 and 1, not {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval for ``k`` successes of ``n`` (``n`` > 0).

    Raises:
        ValueError: ``n`` is not positive or ``k`` is outside 0..n.
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"no proportion of {k} out of {n}")
    z = z_for(level)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Clamped only against rounding: at k = 0 the low end is 0 up to a few ulps.
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, level: float = LEVEL) -> tuple[float, float]:
    """Newcombe's hybrid score interval for k1/n1 − k2/n2 (both ``n`` > 0).

    Raises:
        ValueError: a group is empty or a count is outside 0..n.
    """
    l1, u1 = wilson(k1, n1, level)
    l2, u2 = wilson(k2, n2, level)
    p1, p2 = k1 / n1, k2 / n2
    diff = p1 - p2
    low = diff - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)
