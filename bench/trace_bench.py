"""Issue 5: import 100,000 traces, search them, and merge 10,000 of them into a dataset."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import orjson

from evalledger.projections.traces_fold import format_time_ms

from .harness import Report, Result, bench_store, best_of, client_of, timed

TRACES, MERGED = 100_000, 10_000
START_MS = 1_795_000_000_000
TOPICS = ("password reset", "billing address", "shipping time", "API limits", "data export")


def _attributes(trace_id: str, inputs: object, outputs: object, **extra: object) -> dict:
    attributes = {
        "mlflow.traceRequestId": orjson.dumps(trace_id).decode(),
        "mlflow.spanType": '"UNKNOWN"',
        "mlflow.spanInputs": orjson.dumps(inputs).decode(),
        "mlflow.spanOutputs": orjson.dumps(outputs).decode(),
    }
    attributes.update((k, orjson.dumps(v).decode()) for k, v in extra.items())
    return attributes


def _span(
    otel_id: str, span_id: int, parent: int | None, name: str, start_ns: int, attributes: dict
) -> dict:
    def b64(n: int) -> str:
        return base64.b64encode(n.to_bytes(8, "big")).decode()

    return {
        "trace_id": otel_id,
        "span_id": b64(span_id),
        "parent_span_id": None if parent is None else b64(parent),
        "name": name,
        "start_time_unix_nano": start_ns,
        "end_time_unix_nano": start_ns + 40_000_000,
        "events": [],
        "status": {"code": "STATUS_CODE_OK", "message": ""},
        "attributes": attributes,
        "links": [],
    }


def trace_json(i: int) -> bytes:
    """One MLflow 3 trace as ``Trace.to_json()`` writes it: a root span and two children."""
    trace_id = f"tr-{i:032x}"
    otel_id = base64.b64encode(bytes.fromhex(f"{i:032x}")).decode()
    ms = START_MS + i * 100
    topic = TOPICS[i % len(TOPICS)]
    question = {"question": f"How do I handle {topic}? (case {i})", "context": "user_support"}
    answer = {"answer": f"Answer about {topic}", "tokens": 100 + i % 900}
    start_ns = ms * 1_000_000
    base = 3 * i
    spans = [
        _span(
            otel_id,
            base + 1,
            None,
            "chat_completion",
            start_ns,
            _attributes(trace_id, question, answer, **{"usage.total_tokens": answer["tokens"]}),
        ),
        _span(
            otel_id,
            base + 2,
            base + 1,
            "retrieve",
            start_ns + 1_000_000,
            _attributes(trace_id, {"query": question["question"]}, {"documents": ["a", "b"]}),
        ),
        _span(
            otel_id,
            base + 3,
            base + 1,
            "llm",
            start_ns + 2_000_000,
            _attributes(
                trace_id,
                {"messages": [{"role": "user", "content": question["question"]}]},
                {"choices": [{"message": {"content": answer["answer"]}}]},
                usage={"total_tokens": answer["tokens"], "prompt_tokens": 50},
            ),
        ),
    ]
    info = {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": "1"},
        },
        "request_time": format_time_ms(ms),
        "state": "OK",
        "trace_metadata": {
            "mlflow.user": "bench",
            "mlflow.source.name": "bench/trace_bench.py",
            "mlflow.trace_schema.version": "3",
            "mlflow.trace.session": f"session-{i // 10}",
        },
        "tags": {
            "environment": "production" if i % 2 else "staging",
            "quality_score": f"{(i % 100) / 100:.2f}",
            "mlflow.traceName": "chat_completion",
        },
        "request_preview": orjson.dumps(question).decode(),
        "response_preview": orjson.dumps(answer).decode(),
        "execution_duration_ms": 40 + i % 200,
    }
    if i % 3 == 0:
        info["assessments"] = [
            {
                "assessment_id": f"a-{i:032x}",
                "assessment_name": "expected_answer",
                "trace_id": trace_id,
                "source": {"source_type": "HUMAN", "source_id": "annotator@example.com"},
                "create_time": info["request_time"],
                "last_update_time": info["request_time"],
                "expectation": {"value": f"Correct answer about {topic}"},
                "valid": True,
            }
        ]
    return orjson.dumps({"info": info, "data": {"spans": spans}})


def run(backend: str, report: Report) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="evalledger-traces-") as directory,
        bench_store(backend) as store,
    ):
        client = client_of(store)
        path = Path(directory) / "traces.jsonl"
        with path.open("wb") as handle:
            for i in range(TRACES):
                handle.write(trace_json(i) + b"\n")
        seconds = timed(lambda: client.import_traces(path))
        report.add(
            Result(f"import {TRACES:,} traces (3 spans each, .jsonl)", seconds, "s", 6, False)
        )
        report.add(Result("  = traces imported per second", TRACES / seconds, "traces/s"))
        seconds = timed(lambda: client.import_traces(path))
        report.add(Result(f"re-import the same {TRACES:,} traces (no-op)", seconds, "s"))

        query = "tags.environment = 'production'"
        assert len(client.search_traces(filter_string=query, max_results=100)) == 100
        seconds = best_of(5, lambda: client.search_traces(filter_string=query, max_results=100))
        report.add(
            Result(
                f"search_traces, one tag filter, max_results=100 of {TRACES:,}",
                seconds,
                "s",
                0.1,
                False,
            )
        )
        rare = "tags.quality_score = '0.42' AND metadata.`mlflow.trace.session` = 'session-4'"
        seconds = best_of(5, lambda: client.search_traces(filter_string=rare, max_results=100))
        report.add(Result("search_traces, a filter matching 1 trace", seconds, "s"))

        found = client.search_traces(filter_string=query, max_results=MERGED, return_type="list")
        ds = client.create_dataset("bench-traces")
        seconds = timed(lambda: ds.merge_records(found))
        assert ds.num_records == MERGED
        report.add(
            Result(
                f"merge {MERGED:,} traces (list of Trace) into a dataset", seconds, "s", 0.5, False
            )
        )
        frame = client.search_traces(filter_string=query, max_results=MERGED)
        other = client.create_dataset("bench-traces-df")
        seconds = timed(lambda: other.merge_records(frame))
        report.add(
            Result(
                f"merge {MERGED:,} traces (search_traces DataFrame) into a dataset",
                seconds,
                "s",
                0.5,
                False,
            )
        )
        seconds = timed(lambda: client.search_traces(filter_string=query, max_results=MERGED))
        report.add(
            Result(f"search_traces returning {MERGED:,} traces as a DataFrame", seconds, "s")
        )
