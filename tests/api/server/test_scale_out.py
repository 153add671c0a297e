"""Several server processes on one database: the server keeps no state of its own, so
clients writing through any of them lose nothing and versions stay gap-free (API.md §10)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import requests
from processes import server_process

from evalledger import Client
from evalledger.ledger import verify_chain
from evalledger.projections.rebuild import check_projections

V3 = "/api/3.0/mlflow/datasets"
WRITERS = 6
MERGES = 8


def _merge(base: str, dataset_id: str, writer: int, merge: int) -> int:
    records = [{"inputs": {"writer": writer, "merge": merge, "i": i}} for i in range(5)]
    response = requests.post(
        f"{base}{V3}/{dataset_id}/records",
        json={"records": orjson.dumps(records).decode()},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["inserted_count"])


def test_two_servers_on_one_database_lose_nothing(db_url: str, tmp_path: Path) -> None:
    with (
        server_process(db_url, "--workers", "2", log=tmp_path / "a.log") as first,
        server_process(db_url, log=tmp_path / "b.log") as second,
    ):
        servers = [first, second]
        created = requests.post(first + V3 + "/create", json={"name": "shared"}, timeout=30)
        dataset_id = created.json()["dataset"]["dataset_id"]
        jobs = [(servers[(w + m) % 2], w, m) for w in range(WRITERS) for m in range(MERGES)]
        with ThreadPoolExecutor(WRITERS) as pool:
            inserted = list(pool.map(lambda job: _merge(job[0], dataset_id, *job[1:]), jobs))
        names = [
            requests.post(server + V3 + "/create", json={"name": f"d{i}"}, timeout=30)
            for i, server in enumerate(servers * 3)
        ]
        assert all(r.status_code == 200 for r in names)
        seen_by_second = requests.get(f"{second}{V3}/{dataset_id}", timeout=30).json()

    total = WRITERS * MERGES
    assert sum(inserted) == total * 5
    client = Client(db_url)
    dataset = client.get_dataset(dataset_id=dataset_id)
    assert dataset.num_records == total * 5
    assert dataset.version == total
    assert list(dataset.history()["version"]) == list(range(total + 1))  # gap-free
    assert orjson.loads(seen_by_second["dataset"]["profile"])["num_records"] == total * 5
    assert len(client.search_datasets()) == 7
    report = verify_chain(client.store.engine)
    assert report.ok, report
    assert check_projections(client.store).ok
