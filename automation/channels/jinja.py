"""The Jinja environment the templates render in, its Korean filters, and rendering one
template file into its output, blocks and advertising declaration.

Undefined variables are errors (``StrictUndefined``); only ``.html`` is autoescaped;
templates are re-read within a second of a change, so marketing ops edit them without a
restart.
Every problem is a :class:`TemplateProblem` naming the file and, where Jinja knows it,
the line.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pendulum
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.runtime import new_context

from automation.config import get_settings
from automation.errors import AutomationError

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}", re.IGNORECASE)
_LAYOUTS = {"base"}


class TemplateProblem(AutomationError, ValueError):
    """A template is missing, does not render, or renders something unsendable."""


@dataclass(frozen=True)
class Part:
    """One rendered file: its whole output, its ``subject`` and ``body`` blocks (None if
    it defines none or they were not asked for), and what it declared about advertising."""

    output: str
    subject: str | None
    body: str | None
    advertising: bool


def check_name(name: str) -> None:
    """Refuse a name that is not a template's (a path, a layout).

    Raises:
        TemplateProblem: the name is not letters, digits, ``_`` and ``-``, or a layout.
    """
    if not _NAME.fullmatch(name) or name in _LAYOUTS:
        raise TemplateProblem(f"{name!r} is not a template name (letters, digits, _ and -)")


def render_file(
    path: str, variables: dict[str, Any], blocks: tuple[str, ...] = ("subject", "body")
) -> Part:
    """Render ``path`` (relative to ``TEMPLATES_DIR``) with ``variables``, and of its
    ``subject`` and ``body`` blocks those in ``blocks`` on their own (an e-mail's body
    is in the output already: rendering it again took a tenth of its render).

    Raises:
        TemplateProblem: not found, a syntax or render error (with its file and line),
            or no ``{% set advertising = true|false %}``.
    """
    env = _environment(get_settings().templates_dir)
    try:
        template = env.get_template(path)
        # Template.new_context, with the globals as a plain dict: it copies them from a
        # ChainMap twice a render, key by key in Python.
        context = new_context(
            env, template.name, template.blocks, variables, globals=_flat(template)
        )
        output = env.concat(template.root_render_func(context))  # what Template.render does
        subject = _block(context, "subject") if "subject" in blocks else None
        body = _block(context, "body") if "body" in blocks else None
    except TemplateNotFound as exc:
        raise TemplateProblem(f"{path}: template {exc.name} not found") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.name or path}:{exc.lineno}: {exc.message}") from None
    except TemplateProblem:
        raise
    except Exception as exc:  # anything a template expression raised, with its line
        raise TemplateProblem(f"{_where(exc.__traceback__, path)}: {exc}") from None
    advertising = context.vars.get("advertising")
    if not isinstance(advertising, bool):
        raise TemplateProblem(
            f"{path}: declare {{% set advertising = true %}} (광고성 정보) or false at the top"
        )
    return Part(output, subject, body, advertising)


@functools.lru_cache(maxsize=64)
def _flat(template: Template) -> dict[str, Any]:
    return dict(template.globals)


def tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def korean_date(value: date | datetime | str | None) -> str:
    """``2026-12-12`` → ``2026년 12월 12일`` (a time is read in the business zone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no place in a message")
        value = pendulum.instance(value).in_tz(get_settings().timezone).date()
    elif isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}년 {value.month}월 {value.day}일"


# Final consonant (받침) of digits as read in Korean: 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔.
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
_RIEUL = 8


def josa(word: object, pair: str) -> str:
    """``word`` with the particle that fits it: ``교보생명|josa("이/가")`` → ``교보생명이``.

    ``pair`` is "with final consonant/without" (이/가, 은/는, 을/를, 과/와, 으로/로).
    A word ending in a letter we cannot read gets both: ``ABC이(가)``.
    """
    text = str(word or "")
    with_final, _, without = pair.partition("/")
    last = text.rstrip()[-1:] or " "
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
    elif last in _DIGIT_FINAL:
        final = _DIGIT_FINAL[last]
    else:
        return f"{text}{with_final}({without})"
    if with_final == "으로" and final == _RIEUL:
        return f"{text}{without}"  # ㄹ takes 로: 서울로, 1로
    return f"{text}{with_final if final else without}"


def _block(context: Any, name: str) -> str | None:
    stack = context.blocks.get(name)
    # The first entry is the most derived template's block (what the layout renders).
    return "".join(stack[0](context)) if stack else None


def _where(tb: TracebackType | None, default: str) -> str:
    # Jinja rewrites tracebacks so template frames carry the template's file and line.
    root = str(get_settings().templates_dir)
    where = default
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            where = f"{Path(filename).relative_to(root).as_posix()}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


@dataclass
class _Loaded:
    env: Environment
    stamp: tuple[int, int]
    checked: float


_LOADED: dict[Path, _Loaded] = {}
_CHECK_SECONDS = 1.0  # how soon an edited template file is seen


def _environment(root: Path) -> Environment:
    """The environment of ``root``, new when a file under it changed. Checking the
    files' times once a second, not on every render (Jinja's ``auto_reload`` stats the
    template and its layout each time), took 8% off the delivery of an e-mail."""
    now = time.monotonic()
    loaded = _LOADED.get(root)
    if loaded is not None and now - loaded.checked < _CHECK_SECONDS:
        return loaded.env
    stamp = _stamp(root)
    if loaded is None or loaded.stamp != stamp:
        if len(_LOADED) >= 8:
            _LOADED.clear()
        loaded = _LOADED[root] = _Loaded(_new_environment(root), stamp, now)
    loaded.checked = now
    return loaded.env


def _stamp(root: Path) -> tuple[int, int]:
    """The newest modification time under ``root`` and how many files it holds."""
    newest = count = 0
    for folder, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we looked
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                count += 1
    return newest, count


class _Environment(Environment):
    """Jinja's environment, reading a plain dict's keys first."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``customer.name`` on a dict: Jinja asks for the attribute first and takes the
        # key after its AttributeError, 50 times an e-mail. A plain dict has no
        # attribute but its methods, so for any other name the key is what Jinja would
        # find; a missing key goes the usual way (to StrictUndefined).
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_DICT_NAMES = frozenset(dir(dict))


def _new_environment(root: Path) -> Environment:
    env = _Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # _environment makes a new one when a file changes
    )
    env.filters["kdate"] = korean_date
    env.filters["josa"] = josa
    return env
