"""The web app names and explains every action in Chinese: its tables in web/src/zh.js
cover the state machine's actions (a new action without them would show English)."""

from __future__ import annotations

import re
from pathlib import Path

from app.tickets.workflow import TRANSITIONS

ZH = (Path(__file__).parents[2] / "web" / "src" / "zh.js").read_text(encoding="utf-8")


def _table(name: str) -> dict[str, str]:
    body = re.search(rf"export const {name} = \{{(.*?)\n\}}", ZH, re.S)
    assert body, f"{name} not found in zh.js"
    return dict(re.findall(r"(\w+):\s*'([^']*)'", body.group(1)))


def test_every_action_has_a_chinese_name_and_help():
    actions = {t.action for t in TRANSITIONS}
    for name in ("ACTION", "ACTION_HELP"):
        table = _table(name)
        assert actions <= set(table), (name, actions - set(table))
        assert all(re.search(r"[\u4e00-\u9fff]", text) for text in table.values()), name
