"""The ``whistle`` command line: every command and group, with its options, as
``app.cli.registry`` registers them (the list it had when the commands moved to their
domains; a command added or changed updates it here on purpose)."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from app.cli.registry import build_cli

# command path → its parameters: options as spelled (flags with their off switch),
# arguments by name; "!" required, "=x" a default shown here.
EXPECTED = {
    "": [],
    "migrate": [],
    "openapi": ["--check/--no-check=False", "--path"],
    "seed-demo": ["--force/--no-force=False"],
    "serve": ["--host=127.0.0.1", "--port=8000", "--demo/--no-demo=False", "--workers=1",
              "--proxy-headers/--no-proxy-headers", "--forwarded-allow-ips"],
    "import-matrix": ["file!", "--label"],
    "export-matrix": ["file!", "--version", "--headers=en"],
    "import-grids": ["file!"],
    "import-departments": ["file!"],
    "workflow-doc": ["--check/--no-check=False"],
    "sweep": ["--once=True"],
    "worker": ["--once=False"],
    "worker-check": [],
    "reports-rebuild": [],
    "seed-bulk": ["--tickets=100000", "--streets=1", "--days=365", "--seed=20261123",
                  "--copies=10"],
    "prune": [],
    "calendar-check": [],
    "backup": ["folder!"],
    "restore": ["folder!"],
    "suggest-train": [],
    "users": [],
    "users create": ["--username!", "--role!", "--password!", "--scope", "--grid",
                     "--department", "--display-name"],
    "users import": ["file!"],
    "users list": [],
    "apikeys": [],
    "apikeys create": ["--name!", "--scope"],
    "apikeys revoke": ["key_id!"],
    "apikeys list": [],
    "notifications": [],
    "notifications list": [],
    "notifications add": ["--kind!", "--name!", "--department", "--jurisdiction", "--url",
                          "--secret", "--access-key-id", "--access-key-secret", "--sign-name",
                          "--template=[]", "--kind-filter=[]", "--rate=20"],
    "notifications configure": ["channel_id!", "--url", "--secret", "--access-key-id",
                                "--access-key-secret", "--sign-name", "--template=[]",
                                "--kind-filter=[]", "--rate=20"],
    "notifications test": ["channel_id!", "--phone"],
    "notifications deliveries": ["--channel", "--limit=50"],
}


def _spelled(param) -> str:
    is_argument = param.opts == [param.name]
    text = param.name if is_argument else "/".join([*param.opts, *param.secondary_opts])
    if param.required:
        return text + "!"
    default = param.default
    if default is not None and isinstance(default, int | str | bool | list | tuple):
        return f"{text}={list(default) if isinstance(default, tuple) else default}"
    return text


def _tree(command, path=()) -> dict[str, list[str]]:
    found = {" ".join(path): [_spelled(p) for p in command.params
                              if p.name != "help"]}
    for name, sub in getattr(command, "commands", {}).items():
        found |= _tree(sub, (*path, name))
    return found


def test_every_command_keeps_its_name_and_options():
    assert _tree(typer.main.get_command(build_cli())) == EXPECTED


def test_help_lists_every_command_in_order():
    result = CliRunner().invoke(build_cli(), ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    top = [path for path in EXPECTED if path and " " not in path]
    positions = [result.output.find(f" {name} ") for name in top]
    assert -1 not in positions and positions == sorted(positions), result.output


def test_every_command_has_help():
    tree = typer.main.get_command(build_cli())
    for name, command in tree.commands.items():
        assert command.help, name
