"""``whistle serve`` behind a reverse proxy: the options (and settings) reach uvicorn, and
uvicorn then gives the login limits the client's address from X-Forwarded-For."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from app.cli.registry import build_cli
from app.config import get_settings
from tests.auth.conftest import PASSWORD


@pytest.fixture
def served(monkeypatch, tmp_path):
    """Run ``whistle serve`` with uvicorn.run replaced: → the keyword arguments it got."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: calls.append(kw))
    monkeypatch.setenv("WHISTLE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}")

    def serve(*args: str, **env: str) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(build_cli(), ["serve", *args])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        return calls[-1]

    return serve


def test_serve_trusts_only_the_local_proxy_by_default(served):
    kwargs = served()
    assert kwargs["proxy_headers"] is True
    assert kwargs["forwarded_allow_ips"] == "127.0.0.1"


def test_serve_takes_the_proxies_from_the_command_line(served):
    kwargs = served("--proxy-headers", "--forwarded-allow-ips", "10.0.0.5,10.0.1.0/24")
    assert kwargs["proxy_headers"] is True
    assert kwargs["forwarded_allow_ips"] == "10.0.0.5,10.0.1.0/24"
    assert served("--no-proxy-headers")["proxy_headers"] is False


def test_serve_takes_the_proxies_from_the_settings(served):
    kwargs = served(WHISTLE_FORWARDED_ALLOW_IPS="192.0.2.10", WHISTLE_PROXY_HEADERS="false")
    assert kwargs["forwarded_allow_ips"] == "192.0.2.10"
    assert kwargs["proxy_headers"] is False


async def test_behind_a_trusted_proxy_each_client_has_its_own_address(app, make_user, settings):
    """With the proxy trusted, one client's failures do not count against another client
    behind the same proxy; the limits see the forwarded address."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    proxied = ProxyHeadersMiddleware(app, trusted_hosts="10.9.9.9")
    transport = httpx.ASGITransport(app=proxied, client=("10.9.9.9", 40000))
    user = await make_user("admin")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        async def login(password: str, client_addr: str) -> int:
            r = await client.post("/api/v1/auth/token",
                                  data={"username": user.username, "password": password},
                                  headers={"X-Forwarded-For": client_addr})
            return r.status_code

        for _ in range(settings.login_max_failures):
            assert await login("wrong password", "203.0.113.7") == 401
        assert await login(PASSWORD, "203.0.113.7") == 429  # the guesser is held
        assert await login(PASSWORD, "198.51.100.20") == 200  # the owner elsewhere is not
