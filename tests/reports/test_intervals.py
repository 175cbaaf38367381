"""Wilson and Newcombe intervals against hand-computed and published values."""

from __future__ import annotations

from math import sqrt

import pytest

from automation.reports.intervals import newcombe, wilson, z_for


def test_the_95_percent_quantile() -> None:
    assert z_for() == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.90) == pytest.approx(1.644854, abs=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_for(1.0)


def test_wilson_by_hand() -> None:
    """1 of 17 (the demo's holdout): worked through the formula step by step."""
    z = 1.959964
    n, p = 17, 1 / 17
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)  # 0.140133…
    half = z / (1 + z * z / n) * sqrt(p * (1 - p) / n + z * z / (4 * n * n))  # 0.129673…
    low, high = wilson(1, 17)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert (round(low, 4), round(high, 4)) == (0.0105, 0.2698)


def test_wilson_at_the_edges_stays_inside_0_1_and_has_width() -> None:
    """Where Wald gives 0 ± 0, Wilson still says "up to 16.1% of 20"."""
    low, high = wilson(0, 20)
    assert low == 0.0 and round(high, 4) == 0.1611
    low, high = wilson(10, 10)
    assert round(low, 4) == 0.7225 and high == 1.0
    with pytest.raises(ValueError, match="no proportion of 0 out of 0"):
        wilson(0, 0)
    with pytest.raises(ValueError):
        wilson(5, 4)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
        ((10, 10, 0, 10), (0.6075, 1.0000)),
    ],
)
def test_newcombe_matches_the_published_table(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    low, high = newcombe(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_newcombe_by_hand_for_the_demo_holdout() -> None:
    """24/134 treated against 1/17 held out: +12.0 pt seen, but -9.8 to +20.8 pt."""
    l1, u1 = wilson(24, 134)
    l2, u2 = wilson(1, 17)
    p1, p2 = 24 / 134, 1 / 17
    low = p1 - p2 - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert newcombe(24, 134, 1, 17) == pytest.approx((low, high))
    assert (round(low, 4), round(high, 4)) == (-0.0979, 0.2083)


def test_newcombe_needs_both_groups() -> None:
    with pytest.raises(ValueError):
        newcombe(1, 10, 0, 0)
