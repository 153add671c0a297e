"""`evalledger server` as a user starts it: a process that serves the ledger at --uri."""

from __future__ import annotations

from pathlib import Path

import requests
from processes import server_process

from evalledger import Client


def test_the_server_process_serves_the_ledger_and_says_how_to_use_it(
    db_url: str, tmp_path: Path
) -> None:
    Client(db_url).create_dataset("seen")
    with server_process(db_url, log=tmp_path / "log") as url:
        answer = requests.post(f"{url}/api/3.0/mlflow/datasets/search", json={}, timeout=30)
        version = requests.get(f"{url}/version", timeout=30).text
    assert [d["name"] for d in answer.json()["datasets"]] == ["seen"]
    assert version == "3.17.2"
    log = (tmp_path / "log").read_text()
    assert f"export MLFLOW_TRACKING_URI={url}" in log
    assert "POST /api/3.0/mlflow/datasets/search 200" in log  # one line per request
