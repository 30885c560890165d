"""Reading a Server-Sent Events stream in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


@dataclass
class SseEvent:
    event: str | None = None
    data: str | None = None
    id: str | None = None
    retry: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict:
        return json.loads(self.data or "null")


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    current = SseEvent()
    dirty = False
    async for line in response.aiter_lines():
        if line == "":
            if dirty:
                yield current
            current, dirty = SseEvent(), False
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
            dirty = True
        else:
            name, _, value = line.partition(":")
            setattr(current, name, value.removeprefix(" "))
            dirty = True


class Stream:
    """The events of one open stream, read in the background."""

    def __init__(self, response: httpx.Response) -> None:
        self.queue: asyncio.Queue[SseEvent] = asyncio.Queue()
        self._task = asyncio.create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        async for event in sse_events(response):
            await self.queue.put(event)

    async def next(self, wait: float = 5.0) -> SseEvent:
        return await asyncio.wait_for(self.queue.get(), wait)

    async def next_named(self, wait: float = 5.0) -> SseEvent:
        """The next real event, skipping comments (the greeting, keep-alives)."""
        while True:
            event = await self.next(wait)
            if event.event is not None:
                return event

    async def nothing_named(self, within: float) -> bool:
        try:
            await self.next_named(within)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
