"""The type the reports' query builders return."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

Query = Select[*tuple[Any, ...]]  # a SELECT of any columns
