"""Traces that reach the server in pieces (OTLP spans, StartTraceV3, the traces.json upload),
in every order the MLflow client sends them, are stored once; raw HTTP, as on the wire."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import sqlalchemy as sa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from evalledger import Client
from evalledger.ledger import verify_chain
from evalledger.ledger.identity import now_ms
from evalledger.projections.rebuild import check_projections
from evalledger.projections.schema import trace_parts
from evalledger.server import trace_intake

V3 = "/api/3.0/mlflow/traces"
PROTOBUF = {"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": "0"}
TRACE_HEX = "86427983d5da839444b7c48f3357fc76"
TRACE_ID = "tr-" + TRACE_HEX
ROOT, CHILD, LATE = "11" * 8, "22" * 8, "33" * 8
START_NS = 1_796_115_592_694_019_729


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


# --------------------------------------------------------------------------- the client's pieces


def _kv(key: str, value: Any) -> KeyValue:
    item = KeyValue(key=key)
    if isinstance(value, dict):
        for k, v in value.items():
            item.value.kvlist_value.values.append(_kv(k, v))
    elif isinstance(value, list):
        for v in value:
            item.value.array_value.values.append(AnyValue(string_value=v))
    elif isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value
    return item


def otlp(*spans: tuple[str, str | None, str], trace_hex: str = TRACE_HEX) -> bytes:
    """An ExportTraceServiceRequest as MLflow's client sends it: (span id, parent, name)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for span_id, parent, name in spans:
        span = Span(
            trace_id=bytes.fromhex(trace_hex),
            span_id=bytes.fromhex(span_id),
            parent_span_id=bytes.fromhex(parent) if parent else b"",
            name=name,
            start_time_unix_nano=START_NS,
            end_time_unix_nano=START_NS + 87_000_000,
            status=Status(code=Status.STATUS_CODE_OK),
        )
        span.attributes.extend(
            [
                _kv("mlflow.traceRequestId", "tr-not-trusted"),
                _kv("mlflow.spanType", "CHAIN" if parent is None else "RETRIEVER"),
                _kv("mlflow.spanInputs", {"q": f"question for {name}"}),
                _kv("mlflow.spanOutputs", ["doc-1", "doc-2"]),
                _kv("mlflow.spanLogLevel", 20),
            ]
        )
        scope.spans.append(span)
    return request.SerializeToString()


def span_dict(span_id: str, parent: str | None, name: str) -> dict[str, Any]:
    """A span as MLflow's traces.json holds it (JSON-encoded attribute values)."""
    return {
        "trace_id": b64(TRACE_HEX),
        "span_id": b64(span_id),
        "parent_span_id": b64(parent) if parent else None,
        "name": name,
        "start_time_unix_nano": START_NS,
        "end_time_unix_nano": START_NS + 87_000_000,
        "events": [],
        "status": {"code": "STATUS_CODE_OK", "message": ""},
        "attributes": {
            "mlflow.traceRequestId": json.dumps(TRACE_ID),
            "mlflow.spanType": '"CHAIN"',
            "mlflow.spanInputs": json.dumps({"q": f"question for {name}"}),
        },
        "links": [],
    }


def trace_info(num_spans: int | None = 2, trace_id: str = TRACE_ID) -> dict[str, Any]:
    metadata = {"mlflow.user": "alice", "mlflow.trace_schema.version": "3"}
    if num_spans is not None:
        metadata["mlflow.trace.sizeStats"] = json.dumps({"num_spans": num_spans})
    return {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": "0"},
        },
        "request_time": "2026-12-01T08:59:52.662Z",
        "execution_duration": "0.087s",
        "state": "OK",
        "trace_metadata": metadata,
        "tags": {"env": "probe", "mlflow.traceName": "app"},
        "request_preview": '{"q": "question for app"}',
        "response_preview": '["doc-1", "doc-2"]',
    }


def post_spans(url: str, body: bytes, headers: dict[str, str] = PROTOBUF) -> requests.Response:
    return requests.post(f"{url}/v1/traces", data=body, headers=headers, timeout=10)


def start_trace(url: str, info: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}{V3}", json={"trace": {"trace_info": info}}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["trace"]["trace_info"]


def traces_json(url: str, trace_id: str = TRACE_ID) -> str:
    """Where the client uploads a trace's spans when StartTraceV3 says they are not here."""
    return f"{url}/api/2.0/mlflow-artifacts/artifacts/0/traces/{trace_id}/artifacts/traces.json"


def upload(url: str, spans: list[dict[str, Any]], trace_id: str = TRACE_ID) -> requests.Response:
    return requests.put(
        traces_json(url, trace_id),
        data=json.dumps({"spans": spans}),
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )


def spans_stored(info: dict[str, Any]) -> bool:
    return info["tags"].get("mlflow.trace.spansLocation") == "TRACKING_STORE"


# --------------------------------------------------------------------------- the ledger


def events_of(db_url: str, trace_id: str = TRACE_ID) -> Counter[str]:
    return Counter(e.event_type for e in Client(db_url).store.iter_all() if e.stream_id == trace_id)


def staged(db_url: str) -> int:
    with Client(db_url).store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(trace_parts)).scalar_one()


def sound(db_url: str) -> bool:
    client = Client(db_url)
    return verify_chain(client.store.engine).ok and check_projections(client.store).ok


def get_whole(url: str, trace_id: str = TRACE_ID) -> dict[str, Any]:
    response = requests.get(
        f"{url}{V3}/get", params={"trace_id": trace_id, "allow_partial": "False"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["trace"]


# --------------------------------------------------------------------------- orders of arrival


def test_info_first_then_upload_then_otlp_is_one_trace(server_url: str, db_url: str) -> None:
    answered = start_trace(server_url, trace_info())
    assert not spans_stored(answered)  # so the client uploads traces.json
    location = answered["tags"]["mlflow.artifactLocation"]
    assert location == f"mlflow-artifacts:/0/traces/{TRACE_ID}/artifacts"
    assert answered["tags"]["env"] == "probe"
    missing = requests.get(f"{server_url}{V3}/{TRACE_ID}", timeout=10)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    assert upload(server_url, [span_dict(ROOT, None, "app"), span_dict(CHILD, ROOT, "r")]).ok
    late = post_spans(server_url, otlp((CHILD, ROOT, "r"), (ROOT, None, "app")))
    assert late.status_code == 200
    assert late.content == b""
    assert late.headers["content-type"] == "application/x-protobuf"

    assert events_of(db_url) == Counter({"TraceLogged": 1})
    assert staged(db_url) == 0
    (logged,) = [e for e in Client(db_url).store.iter_all() if e.stream_id == TRACE_ID]
    assert logged.metadata["user"] == "alice"  # the user who sent the info
    info = requests.get(f"{server_url}{V3}/{TRACE_ID}", timeout=10).json()["trace"]["trace_info"]
    assert spans_stored(info)
    assert (info["execution_duration"], info["state"]) == ("0.087s", "OK")
    artifact = requests.get(
        traces_json(server_url),
        timeout=10,
    )
    assert artifact.status_code == 200
    assert [s["name"] for s in artifact.json()["spans"]] == ["app", "r"]
    assert sound(db_url)


def test_otlp_first_then_info_is_answered_tracking_store(server_url: str, db_url: str) -> None:
    assert post_spans(server_url, otlp((CHILD, ROOT, "retrieve"), (ROOT, None, "app"))).ok
    assert staged(db_url) == 1
    assert spans_stored(start_trace(server_url, trace_info()))
    assert events_of(db_url) == Counter({"TraceLogged": 1})
    assert staged(db_url) == 0

    trace = Client(db_url).get_trace(TRACE_ID)
    assert trace.info.execution_duration == 87
    assert trace.info.tags["env"] == "probe"
    root = trace.data.root_span
    assert (root.name, root.inputs, root.outputs) == (
        "app",
        {"q": "question for app"},
        ["doc-1", "doc-2"],
    )
    # stored as MLflow's traces.json has spans: base64 ids, JSON-encoded attributes
    raw = root.to_dict()
    assert raw["span_id"] == b64(ROOT) and raw["trace_id"] == b64(TRACE_HEX)
    assert raw["attributes"]["mlflow.traceRequestId"] == json.dumps(TRACE_ID)
    assert raw["attributes"]["mlflow.spanLogLevel"] == "20"

    whole = get_whole(server_url)
    by_name = {s["name"]: s for s in whole["spans"]}
    assert by_name["retrieve"]["parent_span_id"] == b64(ROOT)
    inputs = next(a for a in by_name["app"]["attributes"] if a["key"] == "mlflow.spanInputs")
    assert inputs["value"] == {
        "kvlist_value": {"values": [{"key": "q", "value": {"string_value": "question for app"}}]}
    }
    assert sound(db_url)


def test_sync_mode_one_request_per_span_child_first(server_url: str, db_url: str) -> None:
    assert post_spans(server_url, otlp((CHILD, ROOT, "retrieve"))).ok
    assert post_spans(server_url, otlp((ROOT, None, "app"))).ok
    assert spans_stored(start_trace(server_url, trace_info()))
    assert events_of(db_url) == Counter({"TraceLogged": 1})
    assert len(get_whole(server_url)["spans"]) == 2


def test_an_info_waits_for_every_span_it_counts(server_url: str, db_url: str) -> None:
    assert post_spans(server_url, otlp((ROOT, None, "app"))).ok
    assert not spans_stored(start_trace(server_url, trace_info(num_spans=2)))
    assert events_of(db_url) == Counter()
    assert post_spans(server_url, otlp((CHILD, ROOT, "retrieve"))).ok  # completes it
    assert events_of(db_url) == Counter({"TraceLogged": 1})
    assert len(get_whole(server_url)["spans"]) == 2
    assert staged(db_url) == 0


def test_spans_after_the_trace_was_logged_are_added_once(server_url: str, db_url: str) -> None:
    assert post_spans(server_url, otlp((ROOT, None, "app"))).ok
    assert spans_stored(start_trace(server_url, trace_info(num_spans=None)))
    tag = {"key": "reviewed", "value": "yes"}
    assert requests.patch(f"{server_url}/api/2.0/mlflow/traces/{TRACE_ID}/tags", json=tag).ok

    assert post_spans(server_url, otlp((LATE, ROOT, "late"), (ROOT, None, "app"))).ok
    assert post_spans(server_url, otlp((LATE, ROOT, "late"))).ok  # again: nothing new
    assert upload(server_url, [span_dict(ROOT, None, "app")]).ok  # the double write
    kinds = events_of(db_url)
    assert kinds == Counter({"TraceLogged": 1, "TraceSpansAdded": 1, "TraceTagSet": 1})
    added = next(e for e in Client(db_url).store.iter_all() if e.event_type == "TraceSpansAdded")
    assert added.payload["span_ids"] == [b64(LATE)]

    assert sorted(s["name"] for s in get_whole(server_url)["spans"]) == ["app", "late"]
    trace = Client(db_url).get_trace(TRACE_ID)
    assert trace.info.tags["reviewed"] == "yes"
    assert trace.info.trace_metadata["mlflow.user"] == "alice"
    found = Client(db_url).search_traces(
        filter_string="attributes.name = 'app'", return_type="list"
    )
    assert [len(t.data.spans) for t in found] == [2]
    assert sound(db_url)  # a rebuild gives the same index row (the newest body)


def test_a_retried_start_trace_writes_nothing(server_url: str, db_url: str) -> None:
    assert post_spans(server_url, otlp((ROOT, None, "app"))).ok
    assert spans_stored(start_trace(server_url, trace_info(num_spans=1)))
    assert spans_stored(start_trace(server_url, trace_info(num_spans=1)))
    assert events_of(db_url) == Counter({"TraceLogged": 1})


def test_otlp_json_with_hex_ids_and_gzip_are_read(server_url: str, db_url: str) -> None:
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE_HEX,
                                "spanId": ROOT,
                                "name": "app",
                                "startTimeUnixNano": str(START_NS),
                                "endTimeUnixNano": str(START_NS + 5_000_000),
                                "attributes": [
                                    {"key": "mlflow.spanInputs", "value": {"stringValue": "hi"}}
                                ],
                                "status": {"code": 1},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    headers = {**PROTOBUF, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert post_spans(server_url, gzip.compress(json.dumps(body).encode()), headers).ok
    assert spans_stored(start_trace(server_url, trace_info(num_spans=1)))
    (span,) = Client(db_url).get_trace(TRACE_ID).data.spans
    assert (span.span_id, span.inputs, span.status) == (b64(ROOT), "hi", "STATUS_CODE_OK")


# --------------------------------------------------------------------------- bad input


def _refused(response: requests.Response, status: int = 400, says: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error_code", "message"}
    assert says in body["message"], body["message"]


def test_bad_pieces_are_refused_and_write_nothing(server_url: str, db_url: str) -> None:
    before = sum(1 for _ in Client(db_url).store.iter_all())
    _refused(post_spans(server_url, b"not a protobuf"), says="protobuf")
    _refused(
        post_spans(
            server_url, otlp((ROOT, None, "app")), {**PROTOBUF, "Content-Type": "text/plain"}
        ),
        says="Content-Type",
    )
    no_header = {"Content-Type": "application/x-protobuf"}
    _refused(
        post_spans(server_url, otlp((ROOT, None, "app")), no_header), says="x-mlflow-experiment-id"
    )
    _refused(post_spans(server_url, otlp((ROOT, None, "app"), trace_hex="abcdef")), says="trace_id")
    _refused(
        post_spans(server_url, b"\x1f\x8b garbage", {**PROTOBUF, "Content-Encoding": "gzip"}),
        says="gzip",
    )
    _refused(
        post_spans(
            server_url, otlp((ROOT, None, "app")), {**PROTOBUF, "x-mlflow-experiment-id": "404"}
        ),
        status=404,
    )
    _refused(
        requests.post(
            f"{server_url}{V3}", data=b"{not json", headers={"Content-Type": "application/json"}
        )
    )
    _refused(requests.post(f"{server_url}{V3}", json={"trace": {}}), says="trace_info")
    _refused(
        start_trace_raw(server_url, {**trace_info(), "request_time": "yesterday"}),
        says="request_time",
    )
    _refused(start_trace_raw(server_url, {**trace_info(), "tags": {"k": {"x": 1}}}), says="tags.k")
    _refused(
        start_trace_raw(server_url, {**trace_info(), "execution_duration": "soon"}),
        says="execution_duration",
    )
    bad_span = {**span_dict(ROOT, None, "app"), "span_id": ""}
    _refused(upload(server_url, [bad_span]), says="span_id")
    _refused(requests.put(traces_json(server_url), data=b"[not json"), says="JSON")
    _refused(
        requests.put(
            f"{server_url}/api/2.0/mlflow-artifacts/artifacts/0/model/weights.bin", data=b"x"
        ),
        status=404,
    )
    assert sum(1 for _ in Client(db_url).store.iter_all()) == before
    assert staged(db_url) == 0


def start_trace_raw(url: str, info: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}{V3}", json={"trace": {"trace_info": info}}, timeout=10)


# --------------------------------------------------------------------------- nothing lost


def test_pieces_that_wait_too_long_are_finalized(server_url: str, db_url: str) -> None:
    store = Client(db_url).store
    other_hex = "ab" * 16
    # an info whose upload never came, and spans whose StartTraceV3 never came
    assert not spans_stored(start_trace(server_url, trace_info(num_spans=2)))
    assert post_spans(
        server_url, otlp((CHILD, ROOT, "r"), (ROOT, None, "app"), trace_hex=other_hex)
    ).ok
    assert staged(db_url) == 2
    assert trace_intake.sweep(store) == []  # not stale yet
    done = trace_intake.sweep(store, now=now_ms() + trace_intake.STALE_MS + 1_000)
    assert sorted(done) == sorted([TRACE_ID, "tr-" + other_hex])
    assert staged(db_url) == 0

    kept = Client(db_url).get_trace(TRACE_ID)
    assert (kept.info.tags["env"], kept.data.spans) == ("probe", [])
    made = Client(db_url).get_trace("tr-" + other_hex)
    assert made.info.tags["mlflow.traceName"] == "app"
    assert (made.info.state, made.info.execution_duration) == ("OK", 87)
    assert made.info.request_time == START_NS // 1_000_000
    assert len(made.data.spans) == 2
    # the late info of the second: answered as stored, nothing written
    assert spans_stored(start_trace(server_url, trace_info(trace_id="tr-" + other_hex)))
    assert events_of(db_url, "tr-" + other_hex) == Counter({"TraceLogged": 1})
    assert sound(db_url)


# --------------------------------------------------------------------------- reads


def test_missing_traces_are_json_404s_and_reads_page(server_url: str, db_url: str) -> None:
    missing = "tr-" + "0" * 32
    for response in (
        requests.get(f"{server_url}{V3}/{missing}", params={"trace_id": missing}),
        requests.get(
            f"{server_url}{V3}/get", params={"trace_id": missing, "allow_partial": "False"}
        ),
        requests.post(
            f"{server_url}{V3}/{missing}/assessments",
            json={"assessment": {"assessment_name": "a", "expectation": {"value": 1}}},
        ),
        requests.patch(
            f"{server_url}/api/2.0/mlflow/traces/{missing}/tags", json={"key": "k", "value": "v"}
        ),
        requests.get(traces_json(server_url, missing)),
    ):
        _refused(response, status=404, says=f"Trace with ID '{missing}' not found.")

    client = Client(db_url)
    ids = [client.log_trace({"i": i}, {"o": i}, tags={"n": str(i)}).info.trace_id for i in range(5)]
    no_tag = requests.delete(
        f"{server_url}/api/2.0/mlflow/traces/{ids[0]}/tags", json={"key": "never_set"}
    )
    _refused(
        no_tag, status=404, says=f"No trace tag with key 'never_set' for trace with ID '{ids[0]}'"
    )

    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}
    seen, token = [], None
    while True:
        body = {"locations": [location], "max_results": 2, "order_by": ["timestamp_ms DESC"]}
        page = requests.post(f"{server_url}{V3}/search", json={**body, "page_token": token}).json()
        seen += [t["trace_id"] for t in page["traces"]]
        token = page.get("next_page_token")
        if token is None:
            break
    assert sorted(seen) == sorted(ids)
    _refused(
        requests.post(
            f"{server_url}{V3}/search", json={"locations": [location], "filter": "tags.n ~ '1'"}
        ),
        says="~",
    )
    _refused(
        requests.post(
            f"{server_url}{V3}/search", json={"locations": [location], "page_token": "bogus"}
        ),
        says="page_token",
    )
    empty = requests.post(
        f"{server_url}{V3}/search", json={"locations": [location], "filter": "tags.n = 'x'"}
    )
    assert empty.json() == {}

    batch = requests.get(
        f"{server_url}{V3}/batchGet", params={"trace_ids": [ids[1], missing, ids[2]]}
    )
    assert [t["trace_info"]["trace_id"] for t in batch.json()["traces"]] == [ids[1], ids[2]]
    assert all(len(t["spans"]) == 1 for t in batch.json()["traces"])
    infos = requests.post(
        f"{server_url}{V3}/batchGetInfos", json={"trace_ids": [ids[3], missing, ids[4]]}
    )
    assert [t["trace_id"] for t in infos.json()["trace_infos"]] == [ids[3], ids[4]]

    info = requests.get(f"{server_url}/api/3.0/mlflow/server-info").json()
    assert info["store_type"] == "SqlStore" and info["multipart_uploads_enabled"] is False


def test_concurrent_pieces_in_any_order_store_each_trace_once(server_url: str, db_url: str) -> None:
    """Many clients at once (as async logging's worker threads are): every trace whole,
    once, whatever order its pieces land in."""
    trace_hexes = [f"{i:032x}" for i in range(1, 41)]

    def pieces(trace_hex: str) -> list[Any]:
        trace_id = "tr-" + trace_hex
        spans = [span_dict(ROOT, None, "app"), span_dict(CHILD, ROOT, "r")]
        for span in spans:
            span["trace_id"] = b64(trace_hex)
        calls = [
            lambda: post_spans(server_url, otlp((CHILD, ROOT, "r"), trace_hex=trace_hex)),
            lambda: post_spans(server_url, otlp((ROOT, None, "app"), trace_hex=trace_hex)),
            lambda: start_trace_raw(server_url, trace_info(num_spans=2, trace_id=trace_id)),
            lambda: upload(server_url, spans, trace_id),
        ]
        random.Random(trace_hex).shuffle(calls)
        return calls

    calls = [call for trace_hex in trace_hexes for call in pieces(trace_hex)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda call: call().status_code, calls))
    assert set(statuses) == {200}
    logged = Counter(
        e.stream_id for e in Client(db_url).store.iter_all() if e.event_type == "TraceLogged"
    )
    assert logged == Counter({"tr-" + h: 1 for h in trace_hexes})
    found = Client(db_url).search_traces(return_type="list")
    assert sorted(len(t.data.spans) for t in found) == [2] * len(trace_hexes)
    assert staged(db_url) == 0
    assert sound(db_url)
