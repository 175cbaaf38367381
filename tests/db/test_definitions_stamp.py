"""The definitions stamp: the database moves it with every write a worker must see
(a worker keeps what it read of journeys and segments while the stamp stays), and
only then."""

from __future__ import annotations

from sqlalchemy import text

from automation.db import session_scope
from automation.journeys.registry import builtin_files, publish_files, set_status
from automation.models import JourneyStatus, Product
from automation.segments import registry as segments
from automation.segments.membership import refresh
from automation.segments.spec import load_text


def _stamp() -> int | None:
    with session_scope() as s:
        return s.connection().execute(text("SELECT stamp FROM definitions_stamp")).scalar()


def _sql(statement: str) -> None:
    with session_scope() as s:
        s.connection().execute(text(statement))


def test_every_published_change_moves_the_stamp_and_nothing_else_does(database: str) -> None:
    # On PostgreSQL the tests empty every table first: TRUNCATE stamps anew too.
    seen = [_stamp()]
    assert seen[0] is not None

    def moved() -> bool:
        seen.append(_stamp())
        return seen[-1] != seen[-2]

    publish_files(builtin_files())
    assert moved()
    publish_files(builtin_files())  # the same files: no new version
    assert not moved()
    set_status("welcome", JourneyStatus.PAUSED)
    assert moved()
    # Another process, or someone in psql: the database moves it all the same.
    _sql("UPDATE journeys SET status = 'active' WHERE journey_id = 'welcome'")
    assert moved()
    [spec] = load_text("segment: clickers\nwhen:\n  events: {type: email_clicked, within: 7d}\n")
    segments.publish_specs([spec])
    assert moved()
    refresh("clickers")  # writes refreshed_at, which no worker reads
    assert not moved()
    _sql("UPDATE customers SET email = 'x@example.com'")  # not a definition
    assert not moved()
    _sql("DELETE FROM segment_members")
    _sql("DELETE FROM segments WHERE segment_id = 'clickers'")
    assert moved()


def test_a_products_code_or_category_moves_the_stamp_its_name_does_not(database: str) -> None:
    seen = [_stamp()]

    def moved() -> bool:
        seen.append(_stamp())
        return seen[-1] != seen[-2]

    with session_scope() as s:
        s.add(Product(product_code="P1", name="One", category="pension"))
    assert moved()
    _sql("UPDATE products SET name = 'First' WHERE product_code = 'P1'")
    assert not moved()
    _sql("UPDATE products SET category = 'savings' WHERE product_code = 'P1'")
    assert moved()
    _sql("DELETE FROM products")
    assert moved()
