"""Every backend's limits respected (issue 12): events split by bytes, values too large for
the database refused by name before anything is sent, and a nesting limit checked before
encoding. Sizes adapt to the test MariaDB's max_allowed_packet."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from evalledger import Client
from evalledger.cli.main import main
from evalledger.datasets.packing import pack_events
from evalledger.datasets.transfer import import_records
from evalledger.ledger import InvalidParameter, verify_chain
from evalledger.ledger import limits as limits_module
from evalledger.ledger.limits import (
    EVENT_PAYLOAD_BYTES,
    MAX_NESTING,
    MAX_TAG_VALUE_BYTES,
    BackendLimits,
    backend_limits,
)
from evalledger.ledger.schema import events
from evalledger.projections.rebuild import check_projections

DEFAULT_PACKET = 16 * 1024 * 1024


def backend_of(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def event_count(client: Client) -> int:
    with client.session.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()


def limits_of(client: Client) -> BackendLimits:
    with client.session.connect() as conn:
        return backend_limits(conn)


def packet_of(client: Client) -> int:
    """The test MariaDB's max_allowed_packet; MariaDB's 16 MiB default for the others."""
    return limits_of(client).max_packet_bytes or DEFAULT_PACKET


def nest(levels: int, leaf: Any = 1) -> Any:
    """`levels` levels of lists around `leaf`."""
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def nest_dicts(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def assert_sound(client: Client) -> None:
    assert verify_chain(client.session.engine).ok
    assert check_projections(client.store).difference is None


@pytest.fixture
def tight(client: Client, db_url: str) -> Iterator[BackendLimits]:
    """A database whose limit on one value is small enough to test cheaply: MariaDB's own
    packet; SQLite with SQLITE_LIMIT_LENGTH lowered to 2 MB on every connection (what
    SQLite itself then enforces); PostgreSQL's 1 GB text limit stood in for by 2 MB."""
    backend = backend_of(db_url)
    engine = client.session.engine
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _lower(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2_000_000)

        engine.dispose()
        limits_module._cache.pop(engine, None)
    elif backend == "postgresql":
        limits_module._cache[engine] = BackendLimits("PostgreSQL", 2_000_000)
    yield limits_of(client)
    limits_module._cache.pop(engine, None)


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize("count", [5_000, 1_000])
def test_a_merge_half_again_the_packet_is_several_events_in_one_commit(
    client: Client, count: int
) -> None:
    packet = packet_of(client)
    size = packet * 3 // 2 // count
    ds = client.create_dataset("big")
    before = event_count(client)
    records = [{"inputs": {"n": i, "text": f"{i}:" + "x" * size}} for i in range(count)]
    ds.merge_records(records)
    assert (ds.num_records, ds.version) == (count, 1)  # one commit, one version
    with client.session.connect() as conn:
        payloads = conn.execute(
            sa.select(events.c.payload).where(events.c.position > before)
        ).scalars()
        sizes = [len(p.encode()) for p in payloads]
    assert len(sizes) >= packet * 3 // 2 // EVENT_PAYLOAD_BYTES
    assert max(sizes) <= EVENT_PAYLOAD_BYTES
    assert_sound(client)


def test_import_of_a_file_half_again_the_packet_works(
    client: Client, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 5_000
    size = packet_of(client) * 3 // 2 // count
    path = tmp_path / "big.jsonl"
    path.write_bytes(
        b"".join(orjson.dumps({"inputs": {"n": i, "t": "x" * size}}) + b"\n" for i in range(count))
    )
    assert main(["--uri", db_url, "import", "big", str(path)]) == 0
    assert "5,000 added" in capsys.readouterr().out
    assert client.get_dataset(name="big").num_records == count


def test_restore_and_delete_of_many_large_records_split_too(client: Client) -> None:
    count = 1_000
    size = packet_of(client) * 3 // 2 // count
    ds = client.create_dataset("restore")
    ds.merge_records([{"inputs": {"n": i, "t": "x" * size}} for i in range(count)])
    ids = ds.to_df()["dataset_record_id"].tolist()
    assert ds.delete_records(ids) == count
    ds.restore(1)
    assert ds.num_records == count
    assert_sound(client)


def test_packed_events_are_canonical_json_and_keep_to_the_budget() -> None:
    limits = BackendLimits("MariaDB", 4_294_967_295, 400_000)  # budget (400,000 - 64 Ki) / 2
    items = [
        {
            "k": i,
            "s": "é\"\\'" * (i % 50),
            "ü": [i, {"z": None}],
            "big": "y" * (300_000 if i == 7 else 0),
        }
        for i in range(2_000)
    ]
    packed = pack_events(
        [("added", items[:1_500]), ("updated", items[1_500:])],
        {"dataset_version": 3},
        limits,
        lambda key, index, size: AssertionError((key, index, size)),
    )
    assert len(packed) >= 5
    assert sum(len(p["added"]) + len(p["updated"]) for p, _ in packed) == 2_000
    assert [x for p, _ in packed for x in p["added"] + p["updated"]] == items
    for payload, text in packed:
        assert text == orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        single = len(payload["added"]) + len(payload["updated"]) == 1
        assert single or len(text) <= limits.event_budget


def test_a_packed_item_over_the_record_limit_is_refused_by_its_index() -> None:
    limits = BackendLimits("MariaDB", 4_294_967_295, 400_000)
    items = [{"i": 0}, {"i": 1, "big": "x" * 400_000}]
    with pytest.raises(InvalidParameter, match="updated 1"):
        pack_events(
            [("added", []), ("updated", items)],
            {},
            limits,
            lambda key, index, size: InvalidParameter(f"{key} {index} {size}"),
        )


class TestMariaDBStatements:
    """No statement PyMySQL sends is longer than the server's packet, however it folds."""

    backend = "mariadb"

    def test_statements_stay_under_a_small_packet(
        self, client: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import pymysql.connections

        engine = client.session.engine
        small = BackendLimits("MariaDB", 4_294_967_295, 300_000)
        limits_module._cache[engine] = small
        sent: list[int] = []
        query = pymysql.connections.Connection.query

        def spy(self: Any, sql: Any, unbuffered: bool = False) -> Any:
            sent.append(len(sql.encode() if isinstance(sql, str) else sql))
            return query(self, sql, unbuffered)

        monkeypatch.setattr(pymysql.connections.Connection, "query", spy)
        try:
            ds = client.create_dataset("small-packet")
            ds.merge_records([{"inputs": {"n": i, "t": "x" * 1_000}} for i in range(2_000)])
        finally:
            limits_module._cache.pop(engine, None)
        assert ds.num_records == 2_000
        assert sum(sent) > 4_000_000  # the records went through the spy
        assert max(sent) <= 300_000


# --------------------------------------------------------------------------- too large


def test_a_tag_value_over_the_limit_is_refused_by_name_everywhere(client: Client) -> None:
    ds = client.create_dataset("tags", tags={"fits": "t" * MAX_TAG_VALUE_BYTES})
    trace = client.log_trace({"q": 1}, tags={"fits": "t" * MAX_TAG_VALUE_BYTES})
    assert client.get_dataset(name="tags").tags["fits"] == "t" * MAX_TAG_VALUE_BYTES
    before = event_count(client)
    two_byte = "é" * (MAX_TAG_VALUE_BYTES // 2 + 1)  # fewer characters, more bytes
    for value in ("t" * (MAX_TAG_VALUE_BYTES + 1), two_byte):
        with pytest.raises(InvalidParameter, match=r"tags\['long'\].*65,535 bytes"):
            ds.set_tags({"long": value})
        with pytest.raises(InvalidParameter, match=r"tags\['long'\].*65,535 bytes"):
            client.create_dataset("tags-2", tags={"long": value})
        with pytest.raises(InvalidParameter, match=r"\['long'\].*65,535 bytes"):
            client.set_trace_tag(trace.info.trace_id, "long", value)
        with pytest.raises(InvalidParameter, match=r"metadata\['long'\].*65,535 bytes"):
            client.log_trace({"q": 2}, metadata={"long": value})
    assert event_count(client) == before


def test_a_dataset_s_tags_together_have_a_limit(client: Client) -> None:
    ds = client.create_dataset("many-tags")
    for n in range(15):
        ds.set_tags({f"k{n}": "v" * 60_000})
    before = event_count(client)
    with pytest.raises(InvalidParameter, match="tags together are at most 1,048,576"):
        ds.set_tags({f"k{n}": "v" * 60_000 for n in range(15, 20)})
    assert event_count(client) == before


def test_a_record_over_the_database_limit_is_refused_by_name(
    client: Client, tight: BackendLimits
) -> None:
    ds = client.create_dataset("huge")
    ds.merge_records([{"inputs": {"n": 0}}])
    before = event_count(client)
    limit = tight.max_record_bytes
    too_big = [{"inputs": {"n": 1}}, {"inputs": {"n": 2}, "outputs": {"big": "x" * limit}}]
    with pytest.raises(InvalidParameter, match=r"record 1: field 'outputs.big'.*at most") as exc:
        ds.merge_records(too_big)
    assert (exc.value.index, exc.value.field) == (1, "outputs.big")
    if tight.escapes_text:  # MariaDB: quotes count twice over the wire
        quotes = [{"inputs": {"n": 3, "q": '"' * (limit // 3)}}]
        with pytest.raises(InvalidParameter, match=r"record 0: field 'inputs.q'"):
            ds.merge_records(quotes)
    assert event_count(client) == before
    assert client.get_dataset(name="huge").num_records == 1
    ds.merge_records([{"inputs": {"n": 4, "fits": "x" * (limit - 2_000)}}])  # sent whole
    assert client.get_dataset(name="huge").num_records == 2
    assert_sound(client)


def test_import_refuses_a_record_too_large_before_writing_anything(
    client: Client, tight: BackendLimits, tmp_path: Path
) -> None:
    path = tmp_path / "huge.jsonl"
    big = "x" * tight.max_record_bytes
    lines = [{"inputs": {"n": 0}}, {"inputs": {"n": 1, "big": big}}, {"inputs": {"n": 2}}]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    before = event_count(client)
    with pytest.raises(InvalidParameter, match=r"line 2.*field 'inputs.big'.*at most"):
        import_records(client.session, "imported", path)
    assert event_count(client) == before
    assert client.search_datasets() == []


def test_a_trace_over_the_database_limit_is_refused_by_name(
    client: Client, tight: BackendLimits
) -> None:
    client.log_trace({"q": 0})
    before = event_count(client)
    with pytest.raises(InvalidParameter, match=r"trace 'tr-1'.*spanInputs.*at most"):
        client.log_trace({"big": "x" * tight.max_record_bytes}, trace_id="tr-1")
    assert event_count(client) == before


# --------------------------------------------------------------------------- names


def test_names_longer_than_their_columns_are_refused(client: Client, db_url: str) -> None:
    ds = client.create_dataset("names")
    trace = client.log_trace({"q": 1})
    before = event_count(client)
    refusals = [
        lambda: client.create_dataset("n" * 501),
        lambda: ds.set_tags({"k" * 251: "v"}),
        lambda: ds.label_version("l" * 251),
        lambda: client.log_trace({"q": 2}, trace_id="t" * 192),
        lambda: client.log_expectation(trace.info.trace_id, "e" * 251, 1),
        lambda: Client(db_url, user="u" * 256),
        lambda: client.import_traces({**trace.to_dict(), "info": _moved(trace, "9" * 33)}),
    ]
    for refuse in refusals:
        with pytest.raises(InvalidParameter):
            refuse()
    assert event_count(client) == before


def _moved(trace: Any, experiment_id: str) -> dict[str, Any]:
    info = dict(trace.to_dict()["info"])
    info["trace_id"] = "tr-moved"
    info["trace_location"] = {
        "type": "MLFLOW_EXPERIMENT",
        "mlflow_experiment": {"experiment_id": experiment_id},
    }
    return info


# --------------------------------------------------------------------------- nesting


def test_records_nesting_to_the_limit_are_stored_and_read_back(client: Client) -> None:
    record = {
        "inputs": {"deep": nest(MAX_NESTING - 1)},  # the inputs dict is a level
        "outputs": nest(MAX_NESTING),
        "expectations": {"e": nest_dicts(MAX_NESTING - 1)},
        "tags": {"t": nest(MAX_NESTING - 1)},
        "source": {"source_type": "HUMAN", "source_data": {"s": nest(MAX_NESTING - 2)}},
    }
    ds = client.create_dataset("deep")
    ds.merge_records([record])
    (stored,) = client.get_dataset(name="deep").records
    assert stored.inputs == record["inputs"]
    assert stored.outputs == record["outputs"]
    assert stored.expectations == record["expectations"]
    assert_sound(client)


def test_a_value_one_level_past_the_limit_is_refused_with_its_path(client: Client) -> None:
    ds = client.create_dataset("too-deep")
    trace = client.log_trace({"q": 1})
    before = event_count(client)
    value = {"x": nest(MAX_NESTING)}
    for field in ("inputs", "outputs", "expectations", "tags", "source"):
        record: dict[str, Any] = {"inputs": {"n": 1}}
        if field == "source":
            record["source"] = {"source_type": "HUMAN", "source_data": value}
            path = "source.source_data.x"
        else:
            record[field] = value
            path = f"{field}.x"
        with pytest.raises(InvalidParameter, match=f"nests deeper than {MAX_NESTING}") as exc:
            ds.merge_records([{"inputs": {"n": 0}}, record])
        assert exc.value.index == 1
        assert exc.value.field.startswith(path + "[0]")
        assert f"record 1: field '{path}[0]" in str(exc.value)
    past = nest(MAX_NESTING + 1)
    for refuse, where in [
        (lambda: client.log_trace(past), "inputs[0]"),
        (lambda: client.log_trace({"q": 1}, outputs=past), "outputs[0]"),
        (lambda: client.log_trace({}, spans=[{"name": "s", "attributes": {"a": past}}]), "a[0]"),
        (lambda: client.log_expectation(trace.info.trace_id, "e", past), "value[0]"),
        (
            lambda: client.import_traces(_trace_with_attribute(orjson.dumps(past).decode())),
            "Inputs",
        ),
    ]:
        with pytest.raises(InvalidParameter, match=f"nests deeper than {MAX_NESTING}") as exc:
            refuse()
        assert where in str(exc.value)
    assert event_count(client) == before


def test_thousands_of_levels_are_refused_cleanly_everywhere(client: Client, tmp_path: Path) -> None:
    ds = client.create_dataset("very-deep")
    trace = client.log_trace({"q": 1})
    before = event_count(client)
    for levels in (1_000, 100_000):
        for n, refuse in enumerate(_deep_writes(client, ds, trace, levels, tmp_path)):
            with pytest.raises(InvalidParameter, match="nests deeper than") as exc:
                refuse()
            assert len(str(exc.value)) < 1_000, (levels, n)
    assert event_count(client) == before


def _deep_writes(client: Client, ds: Any, trace: Any, levels: int, tmp: Path) -> list[Any]:
    """Every way a value `levels` deep can be handed in."""
    deep_list, deep_dict = nest(levels), nest_dicts(levels)
    attribute = "[" * levels + "]" * levels
    jsonl = tmp / f"deep-{levels}.jsonl"
    # a 23-digit integer makes import decode the line a second time, exactly
    jsonl.write_text(
        '{"inputs": {"n": 0}}\n{"inputs": {"n": 1' + "0" * 22 + ', "d": ' + attribute + "}}\n"
    )
    return [
        lambda: import_records(client.session, "deep-import", jsonl),
        lambda: client.import_traces('{"info": ' + attribute + "}"),
        lambda: ds.merge_records([{"inputs": {"d": deep_dict}}]),
        lambda: ds.merge_records([{"inputs": {"n": 1}, "outputs": deep_list}]),
        lambda: client.log_trace(deep_list),
        lambda: client.log_trace({"q": 1}, outputs=deep_dict),
        lambda: client.log_trace({}, spans=[{"name": "s", "attributes": {"a": deep_list}}]),
        lambda: client.log_expectation(trace.info.trace_id, "e", deep_dict),
        lambda: client.import_traces(_trace_with_attribute(attribute)),
        lambda: client.import_traces(orjson.dumps(_with_extra(trace, nest(200))).decode()),
    ]


def test_traces_nesting_to_the_limit_are_stored_and_read_back(client: Client) -> None:
    trace = client.log_trace(nest(MAX_NESTING), outputs={"o": nest(MAX_NESTING - 1)})
    client.log_expectation(trace.info.trace_id, "e", nest(MAX_NESTING))
    read = client.get_trace(trace.info.trace_id)
    assert read.data.spans[0].inputs == nest(MAX_NESTING)
    assert read.info.assessments[0].expectation.value == nest(MAX_NESTING)
    exported = orjson.loads(read.to_json())  # exported and imported again, as a copy
    exported["info"]["trace_id"] = "tr-copy"
    assert client.import_traces([orjson.dumps(exported).decode()]) == ["tr-copy"]
    with pytest.raises(InvalidParameter, match="nests deeper than"):
        client.log_trace(nest(MAX_NESTING + 1))
    assert_sound(client)


def _trace_with_attribute(text: str) -> str:
    span = {
        "trace_id": "AAAAAAAAAAAAAAAAAAAAAA==",
        "span_id": "AAAAAAAAAAA=",
        "parent_span_id": None,
        "name": "root",
        "start_time_unix_nano": 1,
        "end_time_unix_nano": 2,
        "attributes": {"mlflow.spanInputs": text},
    }
    info = {"trace_id": "tr-deep-attribute", "request_time": "2024-01-01T00:00:00Z"}
    return orjson.dumps({"info": info, "data": {"spans": [span]}}).decode()


def _with_extra(trace: Any, value: Any) -> dict[str, Any]:
    data = trace.to_dict()
    data["info"] = {**data["info"], "trace_id": "tr-deep-extra"}
    data["data"] = {**data["data"], "extra": value}
    return data
