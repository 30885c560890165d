"""The README's diagram and table are generated from the workflow table, not hand-kept."""

from app.migrate import ROOT
from app.tickets.workflow import TRANSITIONS
from app.tickets.workflow_doc import readme_section, workflow_markdown


def test_readme_workflow_section_is_current():
    assert readme_section(ROOT / "README.md") == workflow_markdown(), \
        "README.md's workflow section drifted: run `whistle workflow-doc`"


def test_every_action_is_in_the_generated_table():
    text = workflow_markdown()
    for t in TRANSITIONS:
        assert f"| `{t.action}` |" in text
