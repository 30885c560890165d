"""A loopback server that fails a PostgreSQL client's connection the ways a real outage does:
refused, reset, a FATAL error at start-up (shutting down, starting up, too many clients),
or silence until the client times out. Enough of the protocol for asyncpg's handshake."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

_SSL_REQUEST = struct.pack("!I", 80877103)

# kind → (SQLSTATE, message) of the FATAL ErrorResponse PostgreSQL sends at start-up.
FATAL_AT_STARTUP = {
    "shutting_down": ("57P03", "the database system is shutting down"),
    "starting_up": ("57P03", "the database system is starting up"),
    "too_many_connections": ("53300", "sorry, too many clients already"),
}
KINDS = ("refused", "reset", "timeout", *FATAL_AT_STARTUP)


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"SFATAL\0VFATAL\0C" + sqlstate.encode() + b"\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!I", len(fields) + 4) + fields


async def _read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readexactly(8)
    if head[4:8] == _SSL_REQUEST:  # asyncpg asks for TLS first: we have none
        writer.write(b"N")
        await writer.drain()
        length = struct.unpack("!I", await reader.readexactly(4))[0]
        await reader.readexactly(length - 4)


@contextlib.asynccontextmanager
async def failing_postgres(kind: str) -> AsyncIterator[str]:
    """Yields a ``postgresql+asyncpg://`` URL whose every connection fails as ``kind`` says."""
    if kind == "refused":  # a port where nothing listens
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"postgresql+asyncpg://whistle@127.0.0.1:{port}/whistle"
        return

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await _read_startup(reader, writer)
            if kind == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if kind == "timeout":
                await reader.read()  # until the client gives up
            else:
                writer.write(_error_response(*FATAL_AT_STARTUP[kind]))
                await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql+asyncpg://whistle@127.0.0.1:{port}/whistle"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
