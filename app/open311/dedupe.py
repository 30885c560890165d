"""Retried POSTs: the same content from the same key within a short window is one request.

Open311 has no Idempotency-Key, and clients on poor networks retry a POST whose answer
they never saw. So each POST gets a derived key: a hash of the API key's id, the
normalised content and the 10-minute bucket the POST falls in, handed to
``post_ticket(idempotency_key=...)``, whose unique (owner, key) index makes even two
concurrent twins create one ticket.

A retry may straddle two buckets (first at 10:09:59, retry at 10:10:01), so before posting
the service also looks up the key of the *previous* bucket and replays that ticket if it
was created less than ``WINDOW`` ago. Together: a retry within ``WINDOW`` of the first
POST always finds it; identical content more than ``WINDOW`` later is a new report. (Two
twins racing across a bucket edge at the same instant could still both post; acceptable.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=10)
KEY_PREFIX = "open311:"


def normalise(content: Mapping[str, object]) -> dict[str, object]:
    """Drop empty fields, collapse whitespace in text, round coordinates to ~0.1 m, so
    that a client re-encoding the same report does not make it look new."""
    out: dict[str, object] = {}
    for name, value in sorted(content.items()):
        if value is None or value == "":
            continue
        if isinstance(value, float):
            out[name] = round(value, 6)
        elif isinstance(value, str):
            out[name] = " ".join(value.split())
        else:
            out[name] = value
    return out


def bucket_of(at: datetime) -> int:
    return int(at.timestamp() // WINDOW.total_seconds())


def dedupe_key(*, api_key_id: int, content: Mapping[str, object], bucket: int) -> str:
    canonical = json.dumps([api_key_id, normalise(content), bucket], sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return KEY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def keys_for(*, api_key_id: int, content: Mapping[str, object],
             at: datetime) -> tuple[str, str]:
    """(the key of ``at``'s bucket, the key of the bucket before it)."""
    bucket = bucket_of(at)
    return (dedupe_key(api_key_id=api_key_id, content=content, bucket=bucket),
            dedupe_key(api_key_id=api_key_id, content=content, bucket=bucket - 1))
