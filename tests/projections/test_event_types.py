"""The event declarations: writers and the fold share them, and the ledger's events match."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalledger import Client, users
from evalledger.ledger import NO_STREAM, EventStore, IntegrityError, create_checkpoint, upcasters
from evalledger.projections import event_types as et
from evalledger.projections import fold
from evalledger.projections.datasets_fold import _HANDLERS as DATASET_HANDLERS
from evalledger.projections.rebuild import check_projections, rebuild
from evalledger.projections.traces_fold import _HANDLERS as TRACE_HANDLERS
from evalledger.projections.users_fold import _HANDLERS as USER_HANDLERS
from evalledger.server import trace_intake


def test_each_declared_schema_version_is_the_one_new_events_get() -> None:
    for event_type in et.EVENT_TYPES:
        assert upcasters.current_version(event_type) == event_type.schema_version
        assert event_type.new({f: None for f in event_type.fields}).schema_version == (
            event_type.schema_version
        )


def test_a_payload_with_a_missing_or_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match=r"missing \['dataset_version'\]"):
        et.DATASET_DELETED.new({})
    with pytest.raises(TypeError, match=r"unknown \['extra'\]"):
        et.TRACE_TAG_DELETED.new({"key": "k", "extra": 1})


def test_the_fold_handles_every_declared_dataset_and_trace_event() -> None:
    dataset_types = {t for t in et.EVENT_TYPES if t.stream_type == et.DATASET_STREAM}
    assert dataset_types - {et.DATASET_CREATED} == set(DATASET_HANDLERS)
    assert set(et.OPERATIONS) == dataset_types
    trace_types = {t for t in et.EVENT_TYPES if t.stream_type == et.TRACE_STREAM}
    assert trace_types == set(TRACE_HANDLERS)
    user_types = {t for t in et.EVENT_TYPES if t.stream_type == et.USER_STREAM}
    assert user_types == set(USER_HANDLERS)


def test_every_event_the_api_writes_has_its_declared_fields(client: Client) -> None:
    experiment = client.create_experiment("e")
    ds = client.create_dataset("d", experiment_id=[experiment], tags={"a": "1"})
    ds.merge_records([{"inputs": {"q": 1}}, {"inputs": {"q": 2}, "expectations": {"x": 1}}])
    ds.merge_records([{"inputs": {"q": 1}, "outputs": "o"}])
    ds.delete_records([ds.records[0].dataset_record_id])
    ds.label_version("golden")
    ds.restore(1)
    client.set_dataset_tags(ds.dataset_id, {"b": "2"})
    client.delete_dataset_tag(ds.dataset_id, "b")
    client.remove_dataset_from_experiments(ds.dataset_id, [experiment])
    client.add_dataset_to_experiments(ds.dataset_id, [experiment])
    trace = client.log_trace({"q": 1}, "a", tags={"t": "1"})
    client.set_trace_tag(trace.info.trace_id, "u", "2")
    client.delete_trace_tag(trace.info.trace_id, "u")
    client.log_expectation(trace.info.trace_id, "answer", "a")
    root = trace.data.root_span
    late = {**root.to_dict(), "span_id": "bGF0ZXNwYW4=", "parent_span_id": root.span_id}
    spans = trace_intake.checked_spans(trace.info.trace_id, [late])
    trace_intake.receive_spans(client.store, "tester", "0", {trace.info.trace_id: spans})
    client.delete_dataset(ds.dataset_id)
    client.undelete_dataset(ds.dataset_id)
    client.delete_dataset(ds.dataset_id)
    users.add_user(client.session, "rita", "reader", "a long password")
    users.set_role(client.session, "rita", "editor")
    users.new_user_token(client.session, "rita")
    users.grant(client.session, "rita", experiment, "edit")
    users.revoke_user(client.session, "rita")
    create_checkpoint(client.store, Ed25519PrivateKey.generate())
    declared = {str(t): t for t in et.EVENT_TYPES}
    seen = set()
    for event in client.store.iter_all():
        event_type = declared[event.event_type]
        assert event.stream_type == event_type.stream_type
        keys = set(event.payload)
        assert event_type.fields <= keys <= event_type.fields | event_type.optional, event
        seen.add(event_type)
    assert seen == set(et.EVENT_TYPES)
    # the live fold and a replay of these events agree, before and after a rebuild
    assert check_projections(client.store).ok
    rebuild(client.store)
    assert check_projections(client.store).ok
    assert client.search_datasets(include_deleted=True)[0].is_deleted


def test_an_event_for_a_dataset_no_event_created_is_an_integrity_error(
    store: EventStore, engine: sa.Engine
) -> None:
    with store.transaction(user="u") as tx:
        tx.append(
            "d-" + "0" * 32,
            [et.DATASET_DELETED.new({"dataset_version": 1})],
            NO_STREAM,
            stream_type=et.DATASET_STREAM,
        )
        events = tx.appended
    with engine.begin() as conn, pytest.raises(IntegrityError, match="evalledger verify"):
        fold.apply(conn, events)
