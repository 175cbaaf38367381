"""The one condition language: parsed, evaluated in Python, compiled to SQL."""

from automation.conditions.errors import ConditionError
from automation.conditions.facts import Facts
from automation.conditions.nodes import Condition
from automation.conditions.parser import compile_condition
from automation.conditions.tables import CUSTOMERS, EVENTS, POLICIES
from automation.conditions.times import parse_duration, years_before

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
