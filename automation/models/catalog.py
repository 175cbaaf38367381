"""What the insurer sells and what its customers hold."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from automation import clock
from automation.db.types import JSONType, UTCDateTime


class Product(SQLModel, table=True):
    """An insurance or loan product."""

    __tablename__ = "products"

    product_code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64, index=True)
    content_tags: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False, default=list)
    )
    is_new: bool = False
    md_pick: bool = False
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False, default=dict)
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now),
    )


class Policy(SQLModel, table=True):
    """A policy a customer holds; its maturity date drives the retention program."""

    __tablename__ = "policies"

    policy_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(foreign_key="customers.customer_id", max_length=64, index=True)
    product_code: str | None = Field(
        default=None, foreign_key="products.product_code", max_length=64
    )
    status: str = Field(default="active", max_length=32)
    start_date: date | None = None
    maturity_date: date | None = Field(default=None, index=True)
    premium: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False, default=dict)
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now),
    )
