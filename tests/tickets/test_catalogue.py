"""The event catalogue declares every kind the service writes; the concerns read it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.live.publish import QUEUE_EVENTS
from app.tickets.catalogue import (
    BY_KIND,
    CATALOGUE,
    REPORT_FACT_KINDS,
    UndeclaredEventKind,
    declared,
)
from app.tickets.events import record_event
from app.tickets.workflow import TRANSITIONS
from app.webhooks.schemas import EVENT_KINDS
from tests.source import syntax_tree

APP = Path(__file__).resolve().parents[2] / "app"


def _literals(expr: ast.expr, names: dict[str, str]) -> set[str]:
    """The strings an expression may be: a literal, a module's string constant, or either
    branch of a conditional."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.Name) and expr.id in names:
        return {names[expr.id]}
    if isinstance(expr, ast.IfExp):
        return _literals(expr.body, names) | _literals(expr.orelse, names)
    return set()


def _string_constants(tree: ast.Module) -> dict[str, str]:
    return {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)}


def _kinds_written_in_code() -> set[tuple[str, str]]:
    """Every string given as ``kind=`` to ``record_event`` or to a ``NewEvent`` (the sets
    ``record_events`` writes), or as the kind of an ``Event`` a hot statement wrote, with
    the file it is in."""
    found = set()
    trees = {path: syntax_tree(path) for path in APP.rglob("*.py")}
    names: dict[str, str] = {}  # module-level string constants, wherever imported from
    for tree in trees.values():
        names |= _string_constants(tree)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name == "Event" and len(node.args) > 2 and isinstance(node.args[2], ast.Constant):
                found.add((node.args[2].value, str(path.relative_to(APP))))
            if name not in ("record_event", "NewEvent"):
                continue
            for keyword in node.keywords:
                if keyword.arg != "kind":
                    continue
                found |= {(kind, str(path.relative_to(APP))) for kind in _literals(keyword.value, names)}
    return found


def test_every_event_of_the_workflow_table_is_declared():
    assert {tr.event for tr in TRANSITIONS} <= BY_KIND.keys()


def test_every_kind_the_code_writes_is_declared():
    written = _kinds_written_in_code()
    assert {"created", "sla_warning", "supervised", "merged_in", "open311_received"} <= {
        kind for kind, _ in written}
    undeclared = sorted((kind, where) for kind, where in written if kind not in BY_KIND)
    assert not undeclared, f"write these kinds into app/tickets/catalogue.py: {undeclared}"


def test_kinds_are_declared_once():
    assert len(BY_KIND) == len(CATALOGUE)


def test_the_concerns_read_the_catalogue():
    assert {k.kind for k in CATALOGUE if k.subscribable and k.written} == EVENT_KINDS
    assert {k.kind: k.live for k in CATALOGUE if k.live} == QUEUE_EVENTS
    assert "supervised" in EVENT_KINDS and "supervised" in QUEUE_EVENTS
    assert {"claim", "escalate", "whistle_blown"} <= REPORT_FACT_KINDS


def test_an_edit_moves_deadlines_and_facts_only_when_the_urgency_changed():
    edit = declared("edit")
    assert edit.moves_deadlines({"changed": {"urgency": {"from": "normal", "to": "urgent"}}})
    assert not edit.moves_deadlines({"changed": {"description": {"from": "a", "to": "b"}}})
    assert not edit.moves_report_facts({"changed": {"address": {"from": "a", "to": "b"}}})


async def test_writing_an_undeclared_kind_fails(sessions, clock):
    with pytest.raises(UndeclaredEventKind, match="not_a_kind"):
        async with sessions() as session, session.begin():
            await record_event(session, ticket_id=1, kind="not_a_kind", actor=None,
                               at=clock.now())
