"""Issue 11: the server's time for the UI's heaviest first pages.

The first page of a 1,000,000-record dataset, of an experiment with 100,000 traces, and the
diff page between versions 1 and 1,000 of the history benchmark's dataset: each the time of
one GET answered by a real server (uvicorn in a thread of this process, on a free port),
best of 3, target under 300 ms. Building the data takes minutes, so the suite runs only
when named: `make bench BENCH_ARGS="--only ui --backends sqlite"`.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import uvicorn

from evalledger import Client
from evalledger.server import ServerConfig, create_app

from .dataset_bench import _records
from .harness import Report, Result, bench_store, client_of
from .trace_bench import TRACES, trace_json

MILLION, HISTORY_RECORDS, VERSIONS, CHANGES = 1_000_000, 10_000, 1_000, 10
TARGET_S = 0.3


@contextmanager
def _serving(uri: str) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_app(ServerConfig(uri=uri)), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _page_seconds(url: str) -> float:
    """The best of 3 GETs of a page (after one warm-up), which must answer 200."""
    best = float("inf")
    for attempt in range(4):
        start = time.perf_counter()
        answer = requests.get(url, timeout=120)
        seconds = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url} answered {answer.status_code}: {answer.text[:200]}")
        if attempt:
            best = min(best, seconds)
    return best


def _million(client: Client) -> str:
    ds = client.create_dataset("bench-ui-million")
    for b in range(MILLION // 10_000):
        ds.merge_records(_records(b * 10_000, (b + 1) * 10_000))
    return ds.dataset_id


def _history(client: Client) -> str:
    ds = client.create_dataset("bench-ui-history")
    ds.merge_records(
        [{"inputs": {"q": f"question {i}"}, "expectations": {"a": 0}} for i in range(10_000)]
    )
    for v in range(2, VERSIONS + 1):
        start = (v * CHANGES) % HISTORY_RECORDS
        ds.merge_records(
            [
                {"inputs": {"q": f"question {i}"}, "expectations": {"a": v}}
                for i in range(start, start + CHANGES)
            ]
        )
    return ds.dataset_id


def _traces(client: Client, directory: Path) -> str:
    path = directory / "traces.jsonl"
    with path.open("wb") as handle:
        for i in range(TRACES):
            handle.write(trace_json(i) + b"\n")
    client.import_traces(path)
    return "1"  # the experiment bench.trace_bench's traces are logged to


def run(backend: str, report: Report) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="evalledger-ui-") as directory,
        bench_store(backend) as store,
    ):
        client = client_of(store)
        print("  ... building 1,000,000 records, 100,000 traces, 1,000 versions", flush=True)
        million = _million(client)
        experiment = _traces(client, Path(directory))
        history = _history(client)
        with _serving(client.tracking_uri) as base:
            pages = (
                ("first page of a 1,000,000-record dataset", f"/datasets/{million}"),
                (
                    f"first page of an experiment's {TRACES:,} traces",
                    f"/experiments/{experiment}/traces",
                ),
                ("diff page, versions 1 and 1,000", f"/datasets/{history}/diff?from=1&to=1000"),
            )
            for name, path in pages:
                report.add(Result(name, _page_seconds(base + path), "s", TARGET_S, False))
