"""The run's own folder (``--out``): its database and its outboxes, fresh each run.

On the embedded default the replay writes its SQLite file to ``OUT/demo.db``; in every
mode the e-mail sink writes ``OUT/outbox/email`` and the SMS file gateway
``OUT/outbox/sms``, whatever ``SMTP_URL`` and ``SMS_URL`` say (the checks count those
files, so a real relay or gateway could only fail them).

The sink's folder is not a setting: it is ``outbox/email`` under the working directory
(``Settings.email_outbox``). So the run works in ``OUT``, and the settings as read in
the user's folder (``.env`` included, relative SQLite paths made absolute) are pinned in
the environment for the run: a settings re-read and the worker processes, which start
in ``OUT`` and read their settings from the environment (``workers.py``), see the same.
Everything is put back afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, make_url, select

from automation.config import Settings, get_settings, reset_settings
from automation.db import engine_for, get_engine
from automation.demo.errors import DemoError
from automation.models import Customer

PREFIX = "AUTOMATION_"


@dataclass(frozen=True)
class Folder:
    """Where one run writes: absolute paths under ``--out``."""

    root: Path

    @property
    def email(self) -> Path:
        return self.root / "outbox" / "email"

    @property
    def sms(self) -> Path:
        return self.root / "outbox" / "sms"


@contextmanager
def run_folder(out: Path) -> Iterator[Folder]:
    """Work in ``out`` (created if need be) with a fresh database and empty outboxes."""
    folder = Folder(out.resolve())
    folder.root.mkdir(parents=True, exist_ok=True)
    with _demo_database(folder.root), _outboxes(folder):
        yield folder


@contextmanager
def _outboxes(folder: Folder) -> Iterator[None]:
    """Empty outboxes, the settings pinned and ``OUT`` the working directory, until exit."""
    for box in (folder.email, folder.sms):
        shutil.rmtree(box, ignore_errors=True)  # an earlier run's files would be counted
    pinned = _pinned(get_settings(), folder)
    saved = {name: os.environ.get(name) for name in pinned}
    back = Path.cwd()
    try:
        os.environ.update(pinned)
        reset_settings()
        os.chdir(folder.root)
        yield
    finally:
        os.chdir(back)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()


def _pinned(settings: Settings, folder: Folder) -> dict[str, str]:
    """Every setting as an environment variable, with the run's outboxes."""
    values = settings.model_dump(mode="json", exclude_none=True)
    for name, value in values.items():
        if isinstance(getattr(settings, name), Path):
            values[name] = str(Path(value).resolve())  # relative to the user's folder
    values["database_url"] = _absolute_sqlite(settings.database_url)
    values["smtp_url"] = ""  # the sink
    values["sms_url"] = f"file://{folder.sms}"
    if "email_outbox" in type(settings).model_fields:  # once config.py makes it a setting
        values["email_outbox"] = str(folder.email)
    # Strings as they are; numbers, booleans and anything complex as JSON, which the
    # settings read back from the environment.
    return {
        f"{PREFIX}{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }


def _absolute_sqlite(url: str) -> str:
    """A relative SQLite path keeps naming the file in the user's folder."""
    parsed = make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return url
    if Path(path).is_absolute():
        return url
    return parsed.set(database=str(Path(path).resolve())).render_as_string(hide_password=False)


@contextmanager
def _demo_database(out: Path) -> Iterator[None]:
    """On the embedded default the demo replays into its own SQLite file under ``out``,
    fresh each run, and never touches ``./automation.db``; a database named in
    ``AUTOMATION_DATABASE_URL`` is used as it is."""
    if "AUTOMATION_DATABASE_URL" in os.environ or not get_settings().is_embedded:
        yield
        return
    path = out / "demo.db"
    url = f"sqlite:///{path}"
    engine_for(url).dispose()  # a file from an earlier run in this process
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["AUTOMATION_DATABASE_URL"] = url
    reset_settings()
    try:
        yield
    finally:
        del os.environ["AUTOMATION_DATABASE_URL"]
        engine_for(url).dispose()
        reset_settings()


def refuse_used_database() -> None:
    """The replay's numbers mean something only from an empty database."""
    with get_engine().connect() as conn:
        used = conn.execute(select(func.count()).select_from(Customer)).scalar_one()  # type: ignore[arg-type]
    if used:
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
        raise DemoError(f"the demo needs an empty database; {url} has {used:,} customers")
