"""The signature receivers check: HMAC-SHA256 over "<timestamp>.<body>"."""

from __future__ import annotations

import hashlib
import hmac

from app.webhooks.signing import new_secret, sign, verify_signature

BODY = b'{"delivery_id":"d1","event":{"kind":"claim"}}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1790000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1790000000", BODY) == f"sha256={expected}"


def test_verify_accepts_the_signed_request_and_refuses_any_change():
    header = sign("s3cret", "1790000000", BODY)
    assert verify_signature("s3cret", "1790000000", BODY, header)
    assert verify_signature("s3cret", "1790000000", BODY.decode(), header)
    assert not verify_signature("other", "1790000000", BODY, header)
    assert not verify_signature("s3cret", "1790000001", BODY, header)
    assert not verify_signature("s3cret", "1790000000", BODY + b" ", header)
    assert not verify_signature("s3cret", "1790000000", BODY, header.removeprefix("sha256="))
    assert not verify_signature("s3cret", "1790000000", BODY, None)
    assert not verify_signature("s3cret", "not-a-number", BODY, header)


def test_verify_refuses_old_timestamps_when_given_the_receivers_clock():
    header = sign("s3cret", "1790000000", BODY)
    assert verify_signature("s3cret", "1790000000", BODY, header, now=1790000000 + 299)
    assert not verify_signature("s3cret", "1790000000", BODY, header, now=1790000000 + 301)


def test_secrets_are_random_and_long():
    a, b = new_secret(), new_secret()
    assert a != b and len(a) > 40 and a.startswith("whsec_")
