"""Whole-journey checks: every target exists, every state is reachable and has a way
out, immediate states stay immediate, every template is there and every product code
an action names is in the catalogue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from automation.config import get_settings
from automation.db import session_scope
from automation.journeys.definition import JourneySpec, StateSpec
from automation.models import Product

Problem = tuple[tuple[str | int, ...], str]
TEMPLATE_FILES = {"email": ("email/{}.html", "email/{}.txt"), "sms": ("sms/{}.txt",)}


def check_graph(spec: JourneySpec) -> list[Problem]:
    """Problems with the shape of the state graph."""
    problems: list[Problem] = []
    for state in spec.states.values():
        where = ("states", state.name)
        problems += [
            (path, f"'{state.name}' moves to unknown state '{target}'")
            for path, target in _targets(state, where)
            if target not in spec.states
        ]
        problems += _shape(state, where)
    if spec.start in spec.states:
        reached = _reachable(spec)
        problems += [
            (("states", name), f"state '{name}' can never be reached from '{spec.start}'")
            for name in spec.states
            if name not in reached
        ]
    return problems


def _targets(state: StateSpec, where: tuple[str | int, ...]) -> list[Problem]:
    """(where in the file, target) for every move the state can make."""
    found: list[Problem] = [((*where, "on", i, "to"), r.to) for i, r in enumerate(state.on)]
    found += [((*where, t.kind, "to"), t.to) for t in state.timers]
    found += [((*where, "branch", i), b.to) for i, b in enumerate(state.branch)]
    found += [((*where, "split", i, "to"), a.to) for i, a in enumerate(state.split)]
    return found


def _shape(state: StateSpec, where: tuple[str | int, ...]) -> list[Problem]:
    immediate = bool(state.branch) + bool(state.split)
    waits = bool(state.on) or bool(state.timers)
    hands_off = any(a.kind == "handoff" for a in state.actions)
    if state.end and (immediate or waits):
        return [(where, f"end state '{state.name}' cannot move on")]
    if immediate > 1 or (immediate and waits):
        return [(where, f"'{state.name}': a branch or split moves at once; it cannot also wait")]
    if not state.end and not immediate and not waits and not hands_off:
        return [
            (
                where,
                f"state '{state.name}' has no way out: add on, after, at, branch, split or end",
            )
        ]
    return []


def _reachable(spec: JourneySpec) -> set[str]:
    seen, todo = {spec.start}, [spec.start]
    while todo:
        state = spec.states.get(todo.pop())
        for target in state.targets() if state else []:
            if target not in seen and target in spec.states:
                seen.add(target)
                todo.append(target)
    return seen


def check_templates(spec: JourneySpec) -> list[Problem]:
    """Every e-mail and SMS template the journey uses must exist and render against a
    sample customer (with and without a name, policy or product), within the SMS
    length limits: a broken template fails at publish, not at 3 a.m."""
    from automation.channels.templates import check_template

    root = get_settings().templates_dir
    problems: list[Problem] = []
    checked: dict[tuple[str, str], list[str]] = {}
    for state in spec.states.values():
        for action in state.actions:
            if action.kind not in TEMPLATE_FILES:
                continue
            name = action.args["template"]
            where = ("states", state.name, "do", action.index, action.kind)
            missing = [
                root / pattern.format(name)
                for pattern in TEMPLATE_FILES[action.kind]
                if not (root / pattern.format(name)).is_file()
            ]
            if missing:
                problems.append((where, f"template '{name}' not found: {missing[0]}"))
                continue
            key = (action.kind, name)
            if key not in checked:
                checked[key] = check_template(action.kind, name)
            problems += [(where, f"template '{name}': {problem}") for problem in checked[key]]
    return problems


def check_products(spec: JourneySpec) -> list[Problem]:
    """Every product code an action names must be in the catalogue (``products``).

    Checked where possible: with no database, or an empty catalogue (a fresh install
    publishes its journeys before importing products), nothing can be said, so nothing
    is refused; at send time an unknown code falls back to ``best_for_customer``.
    """
    named = spec.products()
    if not named:
        return []
    codes = sorted({code for _, code in named})
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return []  # no database here: validating a file must not create one
    try:
        with session_scope() as session:
            if session.exec(select(Product.product_code).limit(1)).first() is None:
                return []
            query = select(Product.product_code).where(col(Product.product_code).in_(codes))
            known = set(session.exec(query).all())
    except SQLAlchemyError:  # no database or no schema yet: validate what the file says
        return []
    return [
        (where, f"product '{code}' is not in the catalogue (products); or use best_for_customer")
        for where, code in named
        if code not in known
    ]
