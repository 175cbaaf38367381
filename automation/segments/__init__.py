"""Segments: marketing ops' named groups of customers, defined with the condition
language, kept up to date incrementally per event (``step.py``) and in bulk by SQL
(``membership.py``); ``spec.py`` reads their YAML, ``registry.py`` publishes them."""

from automation.segments.membership import member_counts, refresh, refresh_all
from automation.segments.spec import SegmentSpec, SegmentSpecError
from automation.segments.step import SegmentStep

__all__ = [
    "SegmentSpec",
    "SegmentSpecError",
    "SegmentStep",
    "member_counts",
    "refresh",
    "refresh_all",
]
