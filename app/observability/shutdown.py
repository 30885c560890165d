"""SIGTERM in an API process: live streams end first, so that the server can drain.

uvicorn, told to stop, closes its listening sockets and waits for the responses in flight
(up to ``WHISTLE_SHUTDOWN_GRACE_SECONDS``, then cancels them) *before* it runs the app's
lifespan shutdown — so a live stream, which never ends by itself, held the process until
its client gave up, and its ``event: closed`` never came. The app therefore hears the
signal too: next to uvicorn's own handler (which it chains to), it closes every stream of
this process with ``event: closed`` at once; requests in flight finish normally.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

from app.live import close_streams

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(app: Any) -> Callable[[], None]:
    """Chain the streams' closing to the server's handlers of SIGTERM and SIGINT; returns
    what undoes it. Does nothing where no server has taken the signals (tests, or not the
    main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: list[tuple[int, Any, Any]] = []
    for signum in SIGNALS:
        previous = signal.getsignal(signum)
        if not callable(previous) or previous is signal.default_int_handler:
            continue

        def on_signal(sig: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(close_streams, app, "the server is shutting down")
            previous(sig, frame)

        signal.signal(signum, on_signal)
        installed.append((signum, on_signal, previous))

    def uninstall() -> None:
        for signum, handler, previous in installed:
            if signal.getsignal(signum) is handler:
                signal.signal(signum, previous)

    return uninstall
