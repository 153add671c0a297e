"""One round of the side-by-side workload, on one system, in a fresh process.

`python -m bench.side_by_side_worker mlflow|evalledger SQLITE_PATH` creates a dataset,
merges 10,000 new records, merges 10,000 of which half exist, reads the 15,000 back with
`to_df`, and prints the seconds of each step as one JSON line. It imports only the standard library
and the system it times, so MLflow's side runs in MLflow's own virtualenv.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

RECORDS = 10_000


def records(start: int, stop: int, answer_offset: int = 0) -> list[dict[str, Any]]:
    """The workload's records: the same inputs and expectations for both systems."""
    return [
        {
            "inputs": {"question": f"question {i}", "context": f"context of {i}"},
            "expectations": {"answer": f"answer {i + answer_offset}"},
        }
        for i in range(start, stop)
    ]


def _dataset(system: str, path: str) -> Any:
    if system == "mlflow":
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow
        from mlflow.genai.datasets import create_dataset

        mlflow.set_tracking_uri(f"sqlite:///{path}")
        return create_dataset(name="side-by-side")
    from evalledger import Client

    return Client(f"sqlite:///{path}", user="bench").create_dataset(name="side-by-side")


def main(system: str, path: str) -> None:
    ds = _dataset(system, path)
    first, second = records(0, RECORDS), records(RECORDS // 2, RECORDS + RECORDS // 2, 1)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    ds.merge_records(first)
    seconds["merge_new"] = time.perf_counter() - start
    start = time.perf_counter()
    ds.merge_records(second)
    seconds["merge_half"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = len(ds.to_df())
    seconds["to_df"] = time.perf_counter() - start
    assert rows == RECORDS + RECORDS // 2, rows
    sys.stdout.write(json.dumps(seconds) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
