"""The replay's progress: a live bar on a terminal, a line a simulated week elsewhere.

Rich draws nothing live when the output is a pipe or a file, so a log would stay empty
until the summary; there a line a week (and one for the last day) says how far the
replay got, from two counts the database answers cheaply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from automation.db import get_engine
from automation.demo.world import World
from automation.models import Event, Message, MessageStatus

WEEK = 7  # days between two lines off a terminal

DayDone = Callable[[int, World], None]  # called with the day just replayed (0-based)


@contextmanager
def day_progress(console: Console, days: int) -> Iterator[DayDone]:
    """Yields what the replay calls after each day."""
    if console.is_terminal:
        with _bar(console, days) as done:
            yield done
        return
    began = time.monotonic()

    def line(day: int, world: World) -> None:
        if (day + 1) % WEEK and day + 1 != days:
            return
        events, sent = _counts()
        console.print(
            f"day {day + 1} of {days}: {events:,} events, {sent:,} messages sent "
            f"({time.monotonic() - began:.0f} s)",
            highlight=False,
            soft_wrap=True,
        )

    yield line


@contextmanager
def _bar(console: Console, days: int) -> Iterator[DayDone]:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("replaying days", total=days, status="")
        yield lambda day, world: progress.update(task, advance=1, status=_status(world))


def _status(world: World) -> str:
    d = world.did
    return (
        f"opened {d['email_opened']:,} · clicked {d['email_clicked']:,} · "
        f"bought {d['policy_purchased']:,} · renewed {d['policy_renewed']:,}"
    )


def _counts() -> tuple[int, int]:
    """Events stored and messages sent so far."""
    sent = select(func.count()).where(Message.status == MessageStatus.SENT)  # type: ignore[arg-type]
    with get_engine().connect() as conn:
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()  # type: ignore[arg-type]
        return int(events), int(conn.execute(sent).scalar_one())
