"""Dependencies point one way: no module imports a module of a higher layer.

The layers, lowest first (the README's architecture section draws them):

0. foundation — settings, the database, errors, the clock, request dependencies;
1. data — the domains that own data: auth, jurisdiction, matrix, tickets (with the
   workflow table and the event catalogue), attachments, the whistle, the suggestion model
   (智能分拨), observability (request logs, metrics, the heartbeat), the SLA calendar and
   deadline maths, the duplicate checks (reads of tickets), and every domain's tables
   (``models.py``);
2. reactions — what reacts to changes: SLA clocks and the sweep's steps, reports, webhooks,
   live queues, notifications;
3. workflow — orchestration: taking an action, posting, claim-next, the after-event
   pipeline, the sweep's orchestration;
4. edge — HTTP routers, the CLI and its commands, Open311, the demo seeders, ``create_app``.

A module may import its own layer and those below. Checked with the ``ast`` module on
every ``import`` in ``app/`` (also those inside functions: a local import is still a
dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.source import syntax_tree

APP = Path(__file__).resolve().parents[2] / "app"

FOUNDATION = {"app", "app.config", "app.db", "app.errors", "app.clock", "app.deps",
              "app.migrate", "app.ids", "app.csvrows", "app.csvtext", "app.settings_check", "app.storable",
              "app.route_methods", "app.sse", "app.messages"}
DATA_PACKAGES = ("auth", "jurisdiction", "matrix", "tickets", "attachments", "whistle", "suggest",
                 "observability", "duplicates")
DATA_MODULES = {"app.sla.working_time", "app.sla.street_calendars", "app.sla.deadlines",
                "app.sla.dialect", "app.sla", "app.sla.national_calendar"}
REACTION_PACKAGES = ("sla", "reports", "webhooks", "live", "notifications")
EDGE_MODULES = {"app.main", "app.routers", "app.cli", "app.health",
                "app.models", "app.request_guard", "app.compression", "app.docs", "app.backup",
                "app.openapi_links",
                "app.observability.shutdown"}  # closes live streams on SIGTERM
WORKFLOW_MODULES = {"app.retention"}  # prunes what several domains keep
EDGE_PACKAGES = ("demo", "open311", "cli", "web")
LAYER_NAMES = ("foundation", "data", "reactions", "workflow", "edge")


def layer_of(module: str) -> int:
    parts = module.split(".")
    if module in EDGE_MODULES or (len(parts) > 1 and parts[1] in EDGE_PACKAGES):
        return 4
    leaf = parts[-1]
    if leaf in ("router", "commands") or leaf.endswith("_router"):
        return 4  # HTTP and the command line are the edge, whichever domain they serve
    if module in FOUNDATION:
        return 0
    if leaf == "models" or module in DATA_MODULES or parts[1] in DATA_PACKAGES:
        return 1
    if parts[1] in REACTION_PACKAGES:
        return 2
    if parts[1] == "workflow" or module in WORKFLOW_MODULES:
        return 3
    raise AssertionError(f"{module} is in no layer: add it to tests/architecture/test_layers.py")


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(syntax_tree(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from app.workflow import claiming`` imports the module app.workflow.claiming
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (APP.parent / node.module.replace(".", "/") / f"{alias.name}.py").exists()}
    return {name for name in found if name == "app" or name.startswith("app.")}


def test_every_module_has_a_layer():
    for path in APP.rglob("*.py"):
        layer_of(_module_name(path))


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        for imported in sorted(_imports(path)):
            if layer_of(imported) > layer_of(module):
                upward.append(f"{module} ({LAYER_NAMES[layer_of(module)]}) imports {imported} "
                              f"({LAYER_NAMES[layer_of(imported)]})")
    assert not upward, "upward imports:\n" + "\n".join(upward)
