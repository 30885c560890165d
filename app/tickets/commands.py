"""``whistle workflow-doc`` (registered by ``app.cli.registry``): README.md's workflow
section, generated from the state machine."""

from __future__ import annotations

from typing import Annotated

import typer

from app.migrate import ROOT


def workflow_doc(
    check: Annotated[bool, typer.Option(help="fail if README.md's section is stale")] = False,
) -> None:
    """Regenerate README.md's workflow diagram and table from the state machine."""
    from app.tickets.workflow_doc import readme_section, update_readme, workflow_markdown

    readme = ROOT / "README.md"
    if check:
        if readme_section(readme) != workflow_markdown():
            typer.echo("README.md's workflow section is stale: run `whistle workflow-doc`",
                       err=True)
            raise typer.Exit(1)
        return
    typer.echo("updated README.md" if update_readme(readme) else "README.md already current")
