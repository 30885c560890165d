"""Every ``whistle`` command, by name, in one place. A command is a plain function in the
module of what it serves; nothing registers itself when imported."""

from __future__ import annotations

import typer

from app.auth import commands as auth
from app.cli import database, server
from app.demo import commands as demo
from app.jurisdiction import commands as jurisdiction
from app.matrix import commands as matrix
from app.notifications import commands as notifications
from app.observability import commands as observability
from app.reports import commands as reports
from app.sla import commands as sla
from app.suggest import commands as suggest
from app.tickets import commands as tickets

HELP = "Whistle: grid-governance event dispatch (街道吹哨、部门报到)."

# (name, function), in the order `whistle --help` lists them.
COMMANDS = (
    ("migrate", database.migrate),
    ("openapi", server.openapi),
    ("seed-demo", demo.seed_demo),
    ("serve", server.serve),
    ("import-matrix", matrix.import_matrix),
    ("export-matrix", matrix.export_matrix),
    ("import-grids", jurisdiction.import_grids),
    ("import-departments", jurisdiction.import_departments),
    ("workflow-doc", tickets.workflow_doc),
    ("sweep", sla.sweep),
    ("worker", sla.worker),
    ("worker-check", observability.worker_check),
    ("reports-rebuild", reports.reports_rebuild),
    ("seed-bulk", reports.seed_bulk),
    ("prune", database.prune),
    ("calendar-check", sla.calendar_check),
    ("backup", database.backup),
    ("restore", database.restore),
    ("suggest-train", suggest.suggest_train),
)

# Groups of subcommands, each a Typer its domain builds: (name, group).
GROUPS = (
    ("users", auth.users_app),
    ("apikeys", auth.apikeys_app),
    ("notifications", notifications.notifications_app),
)


def build_cli() -> typer.Typer:
    """The ``whistle`` command line with every command and group registered."""
    cli = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
    for name, function in COMMANDS:
        cli.command(name)(function)
    for name, group in GROUPS:
        cli.add_typer(group, name=name)
    return cli
