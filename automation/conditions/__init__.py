"""The one condition language: parsed, evaluated in Python, compiled to SQL."""

from automation.conditions.core import (
    Condition,
    ConditionError,
    Facts,
    compile_condition,
    parse_duration,
)
from automation.conditions.sql import CUSTOMERS, EVENTS, POLICIES, years_before

__all__ = [
    "CUSTOMERS",
    "EVENTS",
    "POLICIES",
    "Condition",
    "ConditionError",
    "Facts",
    "compile_condition",
    "parse_duration",
    "years_before",
]
