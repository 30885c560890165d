"""Open311 GeoReport v2 over Whistle: services are matrix items, requests are tickets.

- A service is one item of the current matrix (事项清单): its code is the service_code,
  its category the group. Every service has one attribute, ``urgent`` (normal / urgent),
  which picks the item's urgent time limits.
- POST requests.{format} authenticates an integration API key, finds the grid, and files
  a ticket through ``app.workflow.posting.post_ticket`` with ``source=open311``: it is routed
  by the matrix and worked by the department exactly like any other ticket. Routing is
  synchronous, so every service is ``realtime`` and the token is the case number.
- A retried POST of the same content from the same key within ``dedupe.WINDOW`` returns
  the first ticket instead of filing a second (see ``dedupe``).

Errors follow the spec: 403 for a missing or invalid api_key, 404 for an unknown
service_code or jurisdiction_id, 400 for everything else a client can fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.service import store_attachment
from app.auth.actor import Actor
from app.auth.apikeys import authenticate_api_key
from app.config import Settings
from app.errors import NotAuthenticated
from app.jurisdiction.coordinates import DEFAULT_SYSTEM, CoordinateSystem, to_wgs84
from app.jurisdiction.geo import JurisdictionTree
from app.jurisdiction.models import Level
from app.matrix.cache import CurrentMatrix, ItemSnapshot
from app.matrix.categories import CATEGORY_BY_CODE
from app.open311 import dedupe
from app.open311.formats import Open311Error, w3c
from app.open311.location import Place, resolve_place
from app.open311.repository import RECEIVED_EVENT
from app.open311.schemas import SPECIFICATION, RequestForm
from app.tickets import repository as tickets_repo
from app.tickets import service as tickets
from app.tickets.events import record_event
from app.tickets.lookups import Lookups
from app.tickets.models import Source, Urgency
from app.tickets.repository import TicketView
from app.tickets.schemas import LocationIn, Reporter, TicketCreate
from app.workflow import posting

CONTACT = ("Whistle grid-governance dispatch (网格化服务管理中心): contact the command centre "
           "of the street you file into.")
KEY_SERVICE = ("Filing needs an integration API key; ask the Whistle administrator of the "
               "street to issue one. Reading services and requests needs no key.")
URGENT = "urgent"


# --- discovery and services ------------------------------------------------------------


def discovery(*, matrix: CurrentMatrix | None, endpoint_url: str, now: datetime) -> dict:
    changeset = w3c(matrix.created_at if matrix else now)
    return {
        "changeset": changeset,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION, "url": endpoint_url, "changeset": changeset,
            "type": "production", "formats": ["text/xml", "application/json"],
        }],
    }


def _items(matrix: CurrentMatrix | None) -> list[ItemSnapshot]:
    return list(matrix.items.values()) if matrix else []


def service_out(item: ItemSnapshot) -> dict:
    category = CATEGORY_BY_CODE.get(item.category_code)
    return {
        "service_code": item.code,
        "service_name": item.name,
        "description": item.description or item.name,
        "metadata": True,  # every service has the ``urgent`` attribute
        "type": "realtime",
        "keywords": ", ".join(item.keywords),
        "group": category.name if category else item.category_code,
    }


# The catch-all service (智能分拨): a client that cannot choose describes the problem, and
# Whistle suggests the item (app.suggest) — routed when confident, else triaged (待分拨).
TRIAGE_SERVICE_CODE = "待分拨"
TRIAGE_SERVICE = {
    "service_code": TRIAGE_SERVICE_CODE,
    "service_name": "待分拨（智能分拨）",
    "description": "Not sure which service? Describe the problem: the service is suggested "
                   "from the description, or a dispatcher chooses it",
    "metadata": True, "type": "realtime", "keywords": "智能分拨, 待分拨", "group": "智能分拨",
}


def list_services(*, matrix: CurrentMatrix | None) -> list[dict]:
    return [service_out(item) for item in _items(matrix)] + ([TRIAGE_SERVICE] if matrix else [])


def find_item(matrix: CurrentMatrix | None, service_code: str) -> ItemSnapshot:
    item = matrix.items.get(service_code) if matrix else None
    if item is None:
        raise Open311Error(404, f"service_code {service_code!r} was not found")
    return item


def _hours(minutes: int, basis: str) -> str:
    unit = "working hours" if basis == "working" else "hours"
    return f"{minutes / 60:g} {unit}"


def service_definition(*, matrix: CurrentMatrix | None, service_code: str) -> dict:
    if service_code == TRIAGE_SERVICE_CODE and matrix is not None:
        limits = "the time limits of the item it is routed by"
        return {"service_code": TRIAGE_SERVICE_CODE, "attributes": [_urgent_attribute(limits)]}
    item = find_item(matrix, service_code)
    normal = _hours(item.resolve_minutes, item.time_basis)
    urgent = _hours(item.urgent_resolve_minutes, item.time_basis)
    return {"service_code": item.code,
            "attributes": [_urgent_attribute(f"normal: resolved within {normal}; "
                                             f"urgent: within {urgent}")]}


def _urgent_attribute(limits: str) -> dict:
    return {
            "variable": True,
            "code": URGENT,
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": limits,
            "order": 1,
            "description": "Is it urgent? (是否紧急) Urgent reports get shorter time limits.",
            "values": [{"key": Urgency.normal.value, "name": "normal (一般)"},
                       {"key": Urgency.urgent.value, "name": "urgent (紧急)"}],
    }


def street_of(tree: JurisdictionTree, jurisdiction_id: str | None) -> int | None:
    """The street a jurisdiction_id names (None when none was sent); 404 if unknown."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return None
    node = tree.node_by_code(jurisdiction_id.strip())
    if node is None or node.level is not Level.street:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction_id!r} was not found")
    return node.id


# --- posting -----------------------------------------------------------------------------


async def authenticate(*, session: AsyncSession, api_key: str | None, now: datetime) -> Actor:
    if not api_key:
        raise Open311Error(403, "api_key was not provided")
    try:
        return await authenticate_api_key(session=session, raw=api_key.strip(), now=now)
    except NotAuthenticated as exc:
        raise Open311Error(403, f"Invalid api_key received ({exc.detail}) -- "
                                "can't proceed with create_request.") from exc


def _urgency(value: str | None) -> Urgency:
    if value is None or not value.strip():
        return Urgency.normal
    try:
        return Urgency(value.strip().lower())
    except ValueError as exc:
        raise Open311Error(400, "attribute[urgent] must be one of: normal, urgent") from exc


def check_media_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311Error(400, "media_url must be an http or https URL")
    return value.strip()


def _wgs84(form: RequestForm) -> tuple[float | None, float | None]:
    """lat/long as WGS-84, converted from the ``coordinate_system`` the client named."""
    name = (form.coordinate_system or "").strip().lower() or DEFAULT_SYSTEM.value
    try:
        system = CoordinateSystem(name)
    except ValueError as exc:
        raise Open311Error(400, "coordinate_system must be one of: "
                           + ", ".join(s.value for s in CoordinateSystem)) from exc
    if form.lat is None or form.long is None:
        return form.lat, form.long
    return to_wgs84(form.lat, form.long, system)


# TicketCreate's field paths → the Open311 field a client sent.
FIELD_NAMES = {"description": "description", "address": "address_string", "name": "first_name",
               "phone": "phone", "grid": "address_id", "location": "lat/long"}


def _field_name(loc: tuple) -> str:
    last = str(loc[-1]) if loc else "request"
    return FIELD_NAMES.get(last, last)


def _ticket(form: RequestForm, item: ItemSnapshot | None, place: Place,
            urgency: Urgency, attachments: list[int]) -> TicketCreate:
    name = " ".join(p.strip() for p in (form.first_name, form.last_name) if p and p.strip())
    phone = form.phone.strip() if form.phone and form.phone.strip() else None
    description = (form.description or "").strip() or (item.name if item else "")
    if not description:
        raise Open311Error(400, f"description: service_code {TRIAGE_SERVICE_CODE} needs one, "
                           "to suggest the service from")
    try:
        return TicketCreate(
            grid=place.grid_code, item=item.code if item else None, description=description,
            location=LocationIn(lat=place.lat, lon=place.lon) if place.lat is not None else None,
            address=(form.address_string or "").strip() or None, urgency=urgency,
            reporter=Reporter(name=name or None, phone=phone) if name or phone else None,
            attachments=attachments,
        )
    except ValidationError as exc:
        errors = [(400, f"{_field_name(e['loc'])}: {e['msg']}") for e in exc.errors()]
        raise Open311Error(400, errors[0][1], *errors[1:]) from exc


@dataclass(frozen=True, slots=True)
class Filed:
    view: TicketView
    created: bool


async def _recent_twin(session: AsyncSession, actor: Actor, key: str,
                       now: datetime) -> TicketView | None:
    """The ticket a POST of the same content made in the previous bucket, if recent."""
    record = await tickets_repo.find_idempotency_record(session, owner=actor.owner_key, key=key)
    if record is None or record.ticket_id is None or record.created_at < now - dedupe.WINDOW:
        return None
    return await tickets.get_ticket(session=session, actor=actor, ticket_id=record.ticket_id)


async def file_request(*, session: AsyncSession, lookups: Lookups, tree: JurisdictionTree,
                       matrix: CurrentMatrix | None, actor: Actor, form: RequestForm,
                       now: datetime, settings: Settings, media: bytes | None = None,
                       media_name: str = "media") -> Filed:
    """Turn a POSTed service request into a ticket routed by the matrix (once per retry).
    ``media``: a photo sent in the body (multipart ``media``, as uReport's Open311 server
    takes it), stored like any upload and linked to the ticket as the reporter's."""
    street_id = street_of(tree, form.jurisdiction_id)
    code = (form.service_code or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    item = None if code == TRIAGE_SERVICE_CODE and matrix else find_item(matrix, code)
    urgency = _urgency(form.attribute_urgent)
    media_url = check_media_url(form.media_url)
    lat, lon = _wgs84(form)
    place = resolve_place(tree, lat=lat, lon=lon, address_id=form.address_id,
                          address_string=form.address_string, street_id=street_id,
                          handling_level=item.handling_level if item else "street")
    key, previous = dedupe.keys_for(api_key_id=actor.id,
                                    content=form.model_dump(exclude={"api_key"}), at=now)
    twin = await _recent_twin(session, actor, previous, now)
    if twin is not None:
        return Filed(twin, created=False)
    photos = []
    if media:
        photo = await store_attachment(
            session=session, actor=actor, data=media, filename=media_name,
            directory=settings.attachment_dir, max_bytes=settings.attachment_max_bytes,
            max_pixels=settings.attachment_max_pixels, now=now)
        photos.append(photo.id)
    data = _ticket(form, item, place, urgency, photos)
    posted = await posting.post_ticket(session=session, lookups=lookups, actor=actor, data=data,
                                       idempotency_key=key, now=now, settings=settings,
                                       source=Source.open311)
    if posted.created and media_url:
        await record_event(session, ticket_id=posted.view.ticket.id, kind=RECEIVED_EVENT,
                           actor=actor, at=now, data={"media_url": media_url})
    return Filed(posted.view, posted.created)
