"""``automation messages``: review items and channel pauses (the logic: ``delivery``)."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from automation.cli.output import fail, out

app = typer.Typer(help="Messages left for review, and channel pauses.", no_args_is_help=True)

Reason = Annotated[str, typer.Option("--reason", help="why, for the record")]


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "operator"


def _when(at: datetime | None) -> str:
    """In the business time zone, with its offset (a server's log may be in another)."""
    if at is None:
        return "-"
    from automation import clock
    from automation.config import get_settings

    return clock.to_utc(at).in_tz(get_settings().timezone).isoformat(timespec="seconds")


@app.command("review")
def messages_review(
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """Messages a stopped worker left unresolved: look each up in the server's log."""
    from automation.delivery.review import in_review

    items = in_review()
    if as_json:
        out.print_json(data=[_review_json(i) for i in items])
        return
    if not items:
        out.print("no message in review", highlight=False)
        return
    table = Table("id", "customer", "channel", "template", "journey", "claimed at", "look for")
    for i in items:
        table.add_row(
            str(i.message_id),
            i.customer_id,
            i.channel,
            i.template or "-",
            i.journey_id or "-",
            _when(i.claimed_at),
            i.look_for,
        )
    out.print(table)
    out.print("then: automation messages resolve ID --sent|--resend --reason '…'", highlight=False)


def _review_json(item: Any) -> dict[str, Any]:
    return {
        "id": item.message_id,
        "customer": item.customer_id,
        "channel": item.channel,
        "template": item.template,
        "journey": item.journey_id,
        "claimed_at": _when(item.claimed_at),
        "created_at": _when(item.created_at),
        "look_for": item.look_for,
        "reason": item.reason,
    }


@app.command("resolve")
def messages_resolve(
    message_id: Annotated[int, typer.Argument(help="the message's id (messages review)")],
    reason: Reason,
    sent: Annotated[bool, typer.Option("--sent", help="the server's log shows it sent")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="it does not: send it once")] = False,
) -> None:
    """Resolve a review item: it was sent (--sent) or it was not (--resend)."""
    from automation.delivery.review import resolve_resend, resolve_sent

    if sent == resend:
        fail("say --sent (the server's log shows it delivered) or --resend (it does not)")
    if sent:
        resolve_sent(message_id, reason=reason, by=_operator())
        out.print(f"message {message_id}: sent", highlight=False)
    else:
        resolve_resend(message_id, reason=reason, by=_operator())
        out.print(f"message {message_id}: queued, to be sent once", highlight=False)


@app.command("pause")
def messages_pause(
    channel: Annotated[str, typer.Argument(help="email, sms or call")],
    reason: Annotated[str, typer.Option("--reason", help="why")] = "paused by an operator",
    seconds: Annotated[
        int | None, typer.Option("--for", min=1, help="seconds; default: until resumed")
    ] = None,
) -> None:
    """Stop attempting messages on a channel; those due wait for the resume."""
    from automation.delivery.pause import pause_channel

    held = pause_channel(channel, seconds=seconds, reason=reason, by=_operator())
    until = _when(held.until) if held.until else "resumed"
    out.print(f"{channel}: paused until {until}", highlight=False)


@app.command("resume")
def messages_resume(channel: Annotated[str, typer.Argument(help="email, sms or call")]) -> None:
    """Resume a paused channel; the messages it held are offered again by the relay."""
    from automation.delivery.pause import resume_channel

    was_paused, released = resume_channel(channel, by=_operator())
    state = "resumed" if was_paused else "was not paused"
    out.print(f"{channel}: {state}; {released} waiting messages due now", highlight=False)


@app.command("status")
def messages_status() -> None:
    """Each channel: paused or not (since, until, why), messages waiting, in review."""
    from automation.delivery.pause import states

    table = Table("channel", "state", "since", "until", "by", "reason", "waiting", "in review")
    for s in states():
        p = s.pause
        if p is None:
            table.add_row(s.channel, "active", "-", "-", "-", "-", str(s.held), str(s.in_review))
            continue
        until = _when(p.until) if p.until else "resumed"
        row = (s.channel, "paused", _when(p.paused_at), until, p.paused_by, p.reason)
        table.add_row(*row, str(s.held), str(s.in_review))
    out.print(table)
