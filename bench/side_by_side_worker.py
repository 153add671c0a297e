"""One round of the side-by-side workload, on one system, in a fresh process.

`python -m bench.side_by_side_worker mlflow|evalledger DATABASE_URL` creates a dataset on the
empty database at DATABASE_URL (`sqlite:///PATH`, `postgresql+psycopg://...` or
`mysql+pymysql://...`; a bare path means a SQLite file), merges 10,000 new records, merges 10,000
of which half exist, reads the 15,000 back with `to_df`, and prints the seconds of each step as one
JSON line. It imports only the standard library and the system it times, so MLflow's side runs in
MLflow's own virtualenv. Both systems take the same SQLAlchemy URL: MLflow's tracking store and
evalledger's `Client` accept the `+driver` forms as they are.
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


def database_url(target: str) -> str:
    """`target` as a database URL: a URL as it is, a bare path as a SQLite file (the worker's
    older argument, kept so a path still works)."""
    return target if "://" in target else f"sqlite:///{target}"


def _dataset(system: str, url: str) -> Any:
    """A new, empty dataset of `system` on the database at `url`."""
    if system == "mlflow":
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow
        from mlflow.genai.datasets import create_dataset

        mlflow.set_tracking_uri(url)
        return create_dataset(name="side-by-side")
    from evalledger import Client

    return Client(url, user="bench").create_dataset(name="side-by-side")


def main(system: str, target: str) -> None:
    """Time the workload's three steps of `system` on the database `target` names."""
    ds = _dataset(system, database_url(target))
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
