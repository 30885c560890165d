"""``whistle notifications …``: channels from the command line, as the admin API does them
(the same validation: a bad configuration is refused and nothing is saved)."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from app.cli import run_in_session
from app.clock import Clock
from app.config import get_settings
from app.errors import WhistleError
from app.notifications import channels
from app.notifications.delivery import TIMEOUT
from app.notifications.schemas import ChannelConfig, ChannelCreate

notifications_app = typer.Typer(help="Notification channels: 企业微信 / 钉钉 robots and SMS.",
                                no_args_is_help=True)

Url = Annotated[str | None, typer.Option(help="robot webhook URL (with key / access_token), "
                                              "or the SMS endpoint")]
Secret = Annotated[str | None, typer.Option(help="dingtalk signing secret (SEC…)")]
KeyId = Annotated[str | None, typer.Option(help="sms AccessKey ID")]
KeySecret = Annotated[str | None, typer.Option(help="sms AccessKey secret")]
SignName = Annotated[str | None, typer.Option(help="sms sign name (短信签名)")]
Template = Annotated[list[str], typer.Option(help="sms KIND=SMS_CODE (KIND may be 'default')")]
Kinds = Annotated[list[str], typer.Option("--kind-filter", help="notification kinds sent "
                                                                "(repeat; none: all)")]
Rate = Annotated[int, typer.Option(help="sends per minute at most")]


def _config(url, secret, access_key_id, access_key_secret, sign_name, template, kinds,
            rate) -> dict:
    return {"url": url, "secret": secret, "access_key_id": access_key_id,
            "access_key_secret": access_key_secret, "sign_name": sign_name,
            "templates": dict(t.split("=", 1) for t in template), "kinds": kinds,
            "rate_per_minute": rate}


def _fail(exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            typer.echo(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
    elif isinstance(exc, WhistleError):
        for problem in exc.errors or [{"loc": [], "msg": exc.detail}]:
            typer.echo(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}", err=True)
    raise typer.Exit(1) from exc


def _line(view: channels.ChannelView) -> str:
    c = view.channel
    owner = view.department_code or view.jurisdiction_code
    state = "configured" if c.sealed else "not configured"
    return (f"{c.id:>4}  {c.kind:<8} {owner:<8} {c.name}  [{state}"
            f"{'' if c.is_active else ', inactive'}] {c.endpoint or ''}")


@notifications_app.command("list")
def list_channels() -> None:
    """Every channel (secrets never shown)."""
    for view in run_in_session(lambda s: channels.list_channels(session=s)):
        typer.echo(_line(view))


@notifications_app.command("add")
def add_channel(
    kind: Annotated[str, typer.Option(help="wecom, dingtalk or sms")],
    name: Annotated[str, typer.Option(help="a name admins recognise")],
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="community or street code")] = None,
    url: Url = None, secret: Secret = None, access_key_id: KeyId = None,
    access_key_secret: KeySecret = None, sign_name: SignName = None,
    template: Template = [],  # noqa: B006  (typer reads the default, never mutates it)
    kinds: Kinds = [],  # noqa: B006
    rate: Rate = 20,
) -> None:
    """Add a channel to a department, community or street."""
    settings = get_settings()
    try:
        body = ChannelCreate(kind=kind, name=name, department=department,
                             jurisdiction=jurisdiction,
                             **_config(url, secret, access_key_id, access_key_secret,
                                       sign_name, template, kinds, rate))
        view = run_in_session(lambda s: channels.create_channel(
            session=s, body=body, now=Clock().now(), settings=settings))
    except (ValidationError, WhistleError) as exc:
        _fail(exc)
    typer.echo(_line(view))


@notifications_app.command("configure")
def configure_channel(
    channel_id: Annotated[int, typer.Argument(help="the channel's id (see `list`)")],
    url: Url = None, secret: Secret = None, access_key_id: KeyId = None,
    access_key_secret: KeySecret = None, sign_name: SignName = None,
    template: Template = [],  # noqa: B006
    kinds: Kinds = [],  # noqa: B006
    rate: Rate = 20,
) -> None:
    """Set a channel's target, secrets and rules (replacing what it had)."""
    settings = get_settings()
    try:
        config = ChannelConfig(**_config(url, secret, access_key_id, access_key_secret,
                                         sign_name, template, kinds, rate))
        view = run_in_session(lambda s: channels.configure_channel(
            session=s, channel_id=channel_id, config=config, now=Clock().now(),
            settings=settings))
    except (ValidationError, WhistleError) as exc:
        _fail(exc)
    typer.echo(_line(view))


@notifications_app.command("test")
def test_channel(
    channel_id: Annotated[int, typer.Argument(help="the channel's id")],
    phone: Annotated[str | None, typer.Option(help="for an SMS channel")] = None,
) -> None:
    """Send a test message through a channel now and say what the provider answered."""
    settings = get_settings()

    async def send(session):
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return await channels.test_send(session=session, channel_id=channel_id, phone=phone,
                                            http=http, now=Clock().now(), settings=settings)
    try:
        outcome = run_in_session(send)
    except WhistleError as exc:
        _fail(exc)
    typer.echo("sent" if outcome.ok else f"failed: {outcome.error}")
    if not outcome.ok:
        raise typer.Exit(1)


@notifications_app.command("deliveries")
def deliveries(
    channel: Annotated[int | None, typer.Option(help="one channel's attempts")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
) -> None:
    """The delivery log."""
    rows = run_in_session(lambda s: channels.attempts(session=s, channel_id=channel,
                                                      limit=limit))
    for r in rows:
        typer.echo(f"{r.created_at:%Y-%m-%d %H:%M:%S}  #{r.notification_id} via {r.channel_id} "
                   f"{r.kind:<22} attempt {r.attempt} {r.status_code or '-'} {r.status} "
                   f"{r.error or ''}")
