"""``wrk`` (a C load generator) for the HTTP benchmarks: installed from Debian's packages
when missing, driven with a generated Lua script, its figures read back as JSON.

A load generator written in Python saturates near 250 requests a second on these machines
and caps both sides of a comparison (``PERFORMANCE.md``); wrk does not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

# Printed by every script's done(): what the report needs, in one JSON line.
_DONE = r"""
function done(summary, latency, requests)
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def ensure_wrk() -> str:
    """The path of ``wrk``, installing the Debian package first if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = ["apt-get", "install", "-y", "-q", "wrk"]
    if shutil.which("sudo") and subprocess.run(["id", "-u"], capture_output=True,
                                               text=True).stdout.strip() != "0":
        apt.insert(0, "sudo")
    subprocess.run(apt, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def lua_string(value: str) -> str:
    """A Lua long-bracket string literal holding ``value`` verbatim."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


def script(*, method: str, headers: dict[str, str], paths: list[str] | None = None,
           bodies: list[str] | None = None, idempotency_keys: bool = False) -> str:
    """A wrk script: requests cycle through ``paths`` (or the URL's own) and ``bodies``;
    with ``idempotency_keys`` each request carries an Idempotency-Key no other has."""
    lines = ["local counter = 0", "local threads = 0",
             "function setup(thread) threads = threads + 1; thread:set('tid', threads) end",
             "local method = " + lua_string(method),
             "local headers = {}"]
    lines += [f"headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()]
    lines.append("local paths = {" + ",".join(lua_string(p) for p in paths or []) + "}")
    lines.append("local bodies = {" + ",".join(lua_string(b) for b in bodies or []) + "}")
    # Unique per script (LuaJIT's math.random starts from the same seed in every process).
    lines.append(f"local run = {lua_string(uuid.uuid4().hex)}")
    lines.append("""
function request()
  counter = counter + 1
  local path = nil
  if #paths > 0 then path = paths[(counter % #paths) + 1] end
  local body = nil
  if #bodies > 0 then body = bodies[(counter % #bodies) + 1] end
  if %s then
    headers["Idempotency-Key"] = run .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  end
  return wrk.format(method, path, headers, body)
end
""".replace("%s", "true" if idempotency_keys else "false"))
    return "\n".join(lines) + _DONE


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run(url: str, lua: str, *, connections: int, seconds: float, threads: int = 2,
        work_dir: Path) -> WrkResult:
    """Load ``url`` for ``seconds`` from ``connections`` keep-alive connections."""
    path = work_dir / "bench.lua"
    path.write_text(lua, encoding="utf-8")
    out = subprocess.run(
        [ensure_wrk(), "-t", str(min(threads, connections)), "-c", str(connections),
         "-d", f"{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(path), url],
        capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return WrkResult(**json.loads(line.removeprefix("WRK_JSON ")))
    raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
