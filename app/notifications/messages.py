"""What a notification says, in Chinese: the kind's headline, the ticket number, the item,
the place, the deadline in Beijing time and a link into the web app (``/app/…``).

A message is stored as its fields (``Message.to_payload``) when the event happens and
rendered when it is sent, so an aggregated reminder can say how many tickets it stands for.
Residents' phone numbers are never in a message; their names are masked unless the
recipient may see them unmasked in the API (group robots: always masked).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.clock import SHANGHAI
from app.tickets.masking import mask_name


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    number: str | None
    item: str | None
    place: str | None
    deadline: str | None  # already in Beijing time, e.g. "2026-11-23 10:30"
    deadline_label: str
    link: str
    note: str = ""  # what happened, in a short phrase
    reporter: str | None = None

    def to_payload(self) -> dict[str, Any]:
        # Field by field: ``asdict`` deep-copies, and the sweep makes thousands at a time.
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        return cls(**{k: payload[k] for k in cls.__slots__ if k in payload})

    def masked(self) -> Message:
        """The message as a group sees it (itself when there is nothing to mask)."""
        masked = mask_name(self.reporter)
        return self if masked == self.reporter else replace(self, reporter=masked)


def beijing(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else None


def parse_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def render(message: Message, *, count: int = 1) -> str:
    """The text of a robot message, an SMS preview and an inbox body."""
    head = f"【{message.title}】{message.note}"
    if count > 1:
        head += f"（共 {count} 件）"
    lines = [head]
    if message.number:
        lines.append(f"案件编号：{message.number}" + ("（最新）" if count > 1 else ""))
    if message.item:
        lines.append(f"事项：{message.item}")
    if message.place:
        lines.append(f"地点：{message.place}")
    if message.reporter:
        lines.append(f"反映人：{message.reporter}")
    if message.deadline:
        lines.append(f"{message.deadline_label}：{message.deadline}（北京时间）")
    lines.append(f"查看：{message.link}")
    return "\n".join(lines)


def template_params(message: Message, *, count: int = 1) -> dict[str, str]:
    """The variables an SMS template gets (providers cap each variable's length)."""
    return {"title": message.title, "number": message.number or "",
            "item": (message.item or "")[:35], "place": (message.place or "")[:35],
            "deadline": message.deadline or "", "count": str(count), "link": message.link}
