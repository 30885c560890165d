"""The bodies of the Open311 GeoReport v2 API, as the spec names them.

The JSON models document the responses in OpenAPI; the XML is the same data under the
spec's element names (see ``formats``). ``RequestForm`` is the form-encoded POST body.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


class EndpointOut(BaseModel):
    specification: str = SPECIFICATION
    url: str
    changeset: str
    type: str = Field(description="production or test")
    formats: list[str]


class DiscoveryOut(BaseModel):
    changeset: str = Field(description="when the services last changed (a matrix import)")
    contact: str
    key_service: str
    endpoints: list[EndpointOut]


class ServiceOut(BaseModel):
    service_code: str = Field(description="the matrix item code (事项编码)")
    service_name: str
    description: str
    metadata: bool = Field(description="true: GET services/{code} lists attributes to send")
    type: str = Field(description="realtime: the service_request_id is returned at once")
    keywords: str = Field(description="comma-separated")
    group: str = Field(description="the item's category (大类), e.g. 市容环境")


class ValueOut(BaseModel):
    key: str
    name: str


class AttributeOut(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[ValueOut]


class ServiceDefinitionOut(BaseModel):
    service_code: str
    attributes: list[AttributeOut]


class PostedOut(BaseModel):
    service_request_id: str = Field(description="the case number (案件编号)")
    service_notice: str | None
    account_id: str | None = Field(description="the account_id the client sent, echoed")


class TokenOut(BaseModel):
    service_request_id: str
    token: str


class ExtendedAttributesOut(BaseModel):
    detailed_status: str = Field(description="CitySDK's: RECEIVED, IN_PROCESS, PROCESSED, "
                                             "or REJECTED (cancelled 作废, or merged)")
    whistle_status: str = Field(description="the ticket's own state; `merged` for a "
                                            "duplicate merged into another case")


class RequestOut(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed (closed: the case is closed or cancelled)")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str = Field(description="the grid code (网格编码)")
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None = Field(
        description="the media_url the client sent, else a signed link (valid for "
                    "WHISTLE_MEDIA_LINK_DAYS) to the reporter's first photo: no credentials "
                    "needed, no EXIF in it")
    extended_attributes: ExtendedAttributesOut


class UpdateOut(BaseModel):
    """One ``request_update`` of mySociety's servicerequestupdates extension."""

    update_id: str = Field(description="the timeline event's id")
    service_request_id: str
    status: str = Field(description="mySociety's extended status: open, investigating, "
                                    "in_progress, fixed, no_further_action (作废), duplicate "
                                    "(合并)")
    updated_datetime: str
    description: str
    media_url: str | None = Field(description="a signed link to the event's photo")
    external_status_code: str = Field(description="the ticket's state after the event")


class PostedUpdateOut(BaseModel):
    update_id: str = Field(description="the id of the timeline event the comment became")


class UpdateForm(BaseModel):
    """POST servicerequestupdates.{format}, form-encoded, as FixMyStreet sends it."""

    model_config = ConfigDict(extra="ignore")

    api_key: str | None = Field(None, description="an integration API key (required)")
    jurisdiction_id: str | None = Field(None, description="a street code, e.g. BH")
    service_request_id: str | None = Field(None, max_length=64)
    update_id: str | None = Field(None, max_length=200,
                                  description="the client's id of the comment: a retry of "
                                              "it answers the same update")
    status: str | None = Field(None, max_length=64, description="OPEN, CLOSED, FIXED, … "
                                                                "(recorded; the case does not "
                                                                "move)")
    description: str | None = Field(None, max_length=4000)
    updated_datetime: str | None = Field(None, max_length=64)
    media_url: str | None = Field(None, max_length=2000)
    first_name: str | None = Field(None, max_length=50, description="accepted, not kept")
    last_name: str | None = Field(None, max_length=50, description="accepted, not kept")
    email: str | None = Field(None, max_length=254, description="accepted, not kept")
    phone: str | None = Field(None, max_length=32, description="accepted, not kept")


class ErrorOut(BaseModel):
    code: int
    description: str


class RequestForm(BaseModel):
    """POST requests.{format}, form-encoded as the spec says. Every field is optional at
    this layer so that a missing one is reported in the spec's words, not as a 422."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    api_key: str | None = Field(None, description="an integration API key (required)")
    jurisdiction_id: str | None = Field(None, description="a street code, e.g. BH")
    service_code: str | None = Field(None, description="a service_code from GET services")
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    coordinate_system: str | None = Field(
        None, description="Whistle's extension: the system lat/long are in — wgs84 (the "
                          "spec's, the default), gcj02 (Gaode/AMap, Tencent) or bd09 (Baidu); "
                          "converted to and stored as WGS-84")
    address_string: str | None = Field(None, max_length=500)
    address_id: str | None = Field(None, max_length=64, description="a grid code, e.g. BH01-01")
    email: str | None = Field(None, max_length=254)
    device_id: str | None = Field(None, max_length=200)
    account_id: str | None = Field(None, max_length=200)
    first_name: str | None = Field(None, max_length=50)
    last_name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=32)
    description: str | None = Field(None, max_length=4000)
    media_url: str | None = Field(None, max_length=2000)
    attribute_urgent: str | None = Field(None, alias="attribute[urgent]",
                                         description="normal or urgent")
