import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from quintet_contracts import event_registry
from quintet_contracts.catalog import main as catalog_main
from quintet_contracts.segments import MEMBERSHIP_CHANGED, MembershipChanged


def test_every_event_is_named_service_dot_event_and_routed_by_its_type():
    registry = event_registry()
    assert "segments.membership-changed" in registry
    assert "personal-goals.upload-progress" in registry
    for type_, spec in registry.items():
        assert spec.routing_key == type_
        assert spec.producer == type_.split(".")[0]


def test_envelope_round_trips_through_json_with_a_typed_payload():
    payload = MembershipChanged(
        user_id=7, slug="AVITO_X", operation="add", reason="manual", at=datetime.now(UTC)
    )
    envelope = MEMBERSHIP_CHANGED.envelope(payload, request_id="rid-1")
    decoded = MEMBERSHIP_CHANGED.parse(envelope.model_dump_json())
    assert decoded == envelope
    assert isinstance(decoded.payload, MembershipChanged)
    assert decoded.producer == "segments"


def test_envelopes_in_bulk_carry_what_one_by_one_would_and_decode_with_the_contract():
    at = datetime.now(UTC)
    payloads = [
        MembershipChanged(user_id=n, slug="AVITO_X", operation="add", reason="manual", at=at) for n in (1, 2)
    ]
    bulk = MEMBERSHIP_CHANGED.envelopes(payloads, request_id="rid-2")
    assert len({e.message_id for e in bulk}) == 2
    for envelope, payload in zip(bulk, payloads, strict=True):
        one = MEMBERSHIP_CHANGED.envelope(payload, request_id="rid-2")
        decoded = MEMBERSHIP_CHANGED.parse(envelope.model_dump_json())
        assert decoded == envelope
        assert decoded.model_dump(exclude={"message_id", "occurred_at"}) == one.model_dump(
            exclude={"message_id", "occurred_at"}
        )
        assert json.loads(envelope.model_dump_json()).keys() == json.loads(one.model_dump_json()).keys()


def test_a_bulk_payload_that_is_not_the_contracts_model_is_still_validated():
    with pytest.raises(ValidationError):
        MEMBERSHIP_CHANGED.envelopes([{"user_id": 0, "slug": "A"}])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "mutation",
    [
        {
            "payload": {
                "user_id": 0,
                "slug": "A",
                "operation": "add",
                "reason": "manual",
                "at": "2026-01-01T00:00:00Z",
            }
        },
        {
            "payload": {
                "user_id": 1,
                "slug": "A",
                "operation": "upsert",
                "reason": "manual",
                "at": "2026-01-01T00:00:00Z",
            }
        },
        {"message_id": "not-a-uuid"},
    ],
)
def test_an_invalid_message_does_not_decode(mutation):
    payload = MembershipChanged(user_id=7, slug="A", operation="add", reason="manual", at=datetime.now(UTC))
    document = json.loads(MEMBERSHIP_CHANGED.envelope(payload).model_dump_json())
    document.update(mutation)
    with pytest.raises(ValidationError):
        MEMBERSHIP_CHANGED.parse(json.dumps(document))


def test_catalog_check_detects_a_stale_catalog(tmp_path, capsys):
    assert catalog_main([str(tmp_path)]) == 0
    assert catalog_main([str(tmp_path), "--check"]) == 0
    (tmp_path / "segments.membership-changed.schema.json").write_text("{}")
    assert catalog_main([str(tmp_path), "--check"]) == 1
    assert "stale" in capsys.readouterr().out
