"""evalledger's own JSON API under /api/evalledger/v1/ (API.md §10), against a real server:
history, snapshots by version, label or instant, diff, restore, labels, records page by
page, record history, provenance, undelete, verify, and the 4xx for every bad input."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from live_server import evalledger_server

from evalledger import Client, users
from evalledger.ledger import create_engine
from evalledger.ledger.schema import events

API = "/api/evalledger/v1"


def get(url: str, path: str, **params: Any) -> dict[str, Any]:
    """A GET that must answer 200 with a JSON object."""
    response = requests.get(url + API + path, params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def post(url: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    response = requests.post(url + API + path, json=body, params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def fails(response: requests.Response, status: int, code: str, *words: str) -> str:
    """The response is the JSON error asked for, and its message says `words`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    for word in words:
        assert word in body["message"], body
    return body["message"]


def tick() -> None:
    """Lets the clock move on, so that consecutive commits have distinct times."""
    time.sleep(0.01)


def event_count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    finally:
        engine.dispose()


def qa_dataset(db_url: str) -> str:
    """A dataset with five versions: create, merge 3, merge (1 update, 1 new), delete 1."""
    ds = Client(db_url, user="alice").create_dataset("qa", tags={"team": "support"})
    tick()
    ds.merge_records(
        [
            {"inputs": {"q": "What is MLflow?"}, "expectations": {"answer": "a platform"}},
            {"inputs": {"q": "2+2?"}, "expectations": {"answer": "4"}},
            {"inputs": {"q": "capital of France?"}, "expectations": {"answer": "Paris"}},
        ]
    )
    tick()
    ds.merge_records(
        [
            {"inputs": {"q": "2+2?"}, "expectations": {"answer": "four"}},
            {"inputs": {"q": "3+3?"}, "expectations": {"answer": "6"}},
        ]
    )
    tick()
    ds.delete_records([r.dataset_record_id for r in ds.records if r.inputs["q"].startswith("cap")])
    tick()
    return ds.dataset_id


def records_by_question(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["q"]: r for r in records}


# -- datasets -------------------------------------------------------------------------


def test_list_shows_each_dataset_with_its_version_and_counts(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    client = Client(db_url, user="bob")
    experiment = client.create_experiment("bots")
    gone = client.create_dataset("old", experiment_id=[experiment])
    client.delete_dataset(gone.dataset_id)

    listed = get(server_url, "/datasets")["datasets"]
    assert [d["name"] for d in listed] == ["qa"]
    (shown,) = listed
    assert shown["dataset_id"] == qa
    assert (shown["version"], shown["num_records"]) == (3, 3)
    assert shown["digest"] == client.get_dataset(dataset_id=qa).digest
    assert shown["tags"] == {"team": "support"}
    assert shown["experiment_ids"] == ["0"]
    assert (shown["deleted"], shown["deleted_time"]) == (False, None)

    everything = get(server_url, "/datasets", include_deleted="true")["datasets"]
    old = next(d for d in everything if d["name"] == "old")
    assert old["deleted"] is True and old["deleted_time"] >= old["created_time"]
    assert old["experiment_ids"] == [experiment]

    by_name = get(server_url, "/datasets", filter="name LIKE 'q%'", include_deleted="true")
    assert [d["name"] for d in by_name["datasets"]] == ["qa"]
    in_bots = get(server_url, "/datasets", experiment_id=experiment, include_deleted="true")
    assert [d["name"] for d in in_bots["datasets"]] == ["old"]


def test_list_pages_with_a_token(server_url: str, db_url: str) -> None:
    client = Client(db_url)
    for i in range(5):
        client.create_dataset(f"ds-{i}")
    first = get(server_url, "/datasets", max_results=3, order_by="name ASC")
    second = get(
        server_url,
        "/datasets",
        max_results=3,
        order_by="name ASC",
        page_token=first["next_page_token"],
    )
    names = [d["name"] for d in first["datasets"] + second["datasets"]]
    assert names == [f"ds-{i}" for i in range(5)]
    assert "next_page_token" not in second


def test_a_dataset_now_and_at_a_version_a_label_or_an_instant(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    client = Client(db_url)
    client.get_dataset(dataset_id=qa).label_version("golden", 1)

    now = get(server_url, f"/datasets/{qa}")["dataset"]
    assert (now["version"], now["latest_version"], now["is_snapshot"]) == (3, 3, False)
    assert now["num_records"] == 3
    assert now["schema"]["inputs"] == {"q": "string"}
    assert now["profile"] == {"num_records": 3, "source_types": {"HUMAN": 3}}
    assert now["labels"] == {"golden": 1}
    assert now["created_by"] == "alice" and now["last_update_time"] >= now["created_time"]
    lean = get(server_url, f"/datasets/{qa}", include_schema="false")["dataset"]
    assert lean["schema"] is None and lean["digest"] == now["digest"]

    v1 = get(server_url, f"/datasets/{qa}", version=1)["dataset"]
    assert (v1["version"], v1["latest_version"], v1["is_snapshot"]) == (1, 3, True)
    assert v1["num_records"] == 3
    assert v1["digest"] == client.get_dataset(dataset_id=qa, version=1).digest != now["digest"]
    assert get(server_url, f"/datasets/{qa}", label="golden")["dataset"] == v1

    versions = get(server_url, f"/datasets/{qa}/history")["versions"]
    at = versions[2]["timestamp"]
    then = get(server_url, f"/datasets/{qa}", as_of=at)["dataset"]
    assert then["version"] == 2 and then["num_records"] == 4
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at // 1000)) + f".{at % 1000:03d}Z"
    assert get(server_url, f"/datasets/{qa}", as_of=iso)["dataset"]["version"] == 2


# -- history, diff, restore -----------------------------------------------------------


def test_history_shows_each_operation_with_its_counts(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    post(server_url, f"/datasets/{qa}/restore", {"version": 1})
    client = Client(db_url)
    client.delete_dataset(qa)

    history = get(server_url, f"/datasets/{qa}/history")
    assert (history["name"], history["deleted"]) == ("qa", True)
    rows = [
        (
            v["version"],
            v["operation"],
            v["records_added"],
            v["records_updated"],
            v["records_deleted"],
            v["num_records"],
        )
        for v in history["versions"]
    ]
    assert rows == [
        (0, "CREATE", 0, 0, 0, 0),
        (1, "MERGE", 3, 0, 0, 3),
        (2, "MERGE", 1, 1, 0, 4),
        (3, "DELETE_RECORDS", 0, 0, 1, 3),
        (4, "RESTORE", 1, 1, 1, 3),
        (5, "DELETE", 0, 0, 0, 3),
    ]
    versions = history["versions"]
    assert [v["user"] for v in versions] == ["alice"] * 4 + ["anonymous", client.user]
    assert versions[4]["source_version"] == 1
    assert versions[4]["digest"] == versions[1]["digest"]
    times = [v["timestamp"] for v in versions]
    assert times == sorted(times)


def test_diff_shows_a_changed_expectation_with_its_field_path(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    Client(db_url).get_dataset(dataset_id=qa).label_version("before-edit", 1)

    diff = get(server_url, f"/datasets/{qa}/diff", from_version=1, to_version=2)
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert (diff["num_added"], diff["num_removed"], diff["num_changed"]) == (1, 0, 1)
    assert [r["inputs"] for r in diff["added"]] == [{"q": "3+3?"}]
    (change,) = diff["changed"]
    assert change["inputs"] == {"q": "2+2?"}
    assert change["fields"] == [{"path": "expectations.answer", "before": "4", "after": "four"}]
    assert change["before"]["expectations"] == {"answer": "4"}
    assert change["after"]["expectations"] == {"answer": "four"}
    assert diff["truncated"] is False

    to_latest = get(server_url, f"/datasets/{qa}/diff", from_version="before-edit")
    assert to_latest["to_version"] == 3
    assert [r["inputs"]["q"] for r in to_latest["removed"]] == ["capital of France?"]

    backwards = get(server_url, f"/datasets/{qa}/diff", from_version=3, to_version=1)
    assert [r["inputs"]["q"] for r in backwards["added"]] == ["capital of France?"]
    assert [r["inputs"]["q"] for r in backwards["removed"]] == ["3+3?"]

    cut = get(server_url, f"/datasets/{qa}/diff", from_version=0, to_version=2, max_results=1)
    assert (cut["num_added"], len(cut["added"]), cut["truncated"]) == (4, 1, True)


def test_diff_lists_changed_tags(server_url: str, db_url: str) -> None:
    client = Client(db_url)
    ds = client.create_dataset("tagged", tags={"stage": "dev"})
    client.set_dataset_tags(ds.dataset_id, {"stage": "prod", "owner": "ops"})
    diff = get(server_url, f"/datasets/{ds.dataset_id}/diff", from_version=0)
    assert diff["tags_changed"] == {
        "owner": {"before": None, "after": "ops"},
        "stage": {"before": "dev", "after": "prod"},
    }


def test_restore_makes_a_new_version_equal_to_the_restored_one(
    server_url: str, db_url: str
) -> None:
    qa = qa_dataset(db_url)
    client = Client(db_url)
    client.get_dataset(dataset_id=qa).label_version("first", 1)
    digest_v1 = client.get_dataset(dataset_id=qa, version=1).digest

    restored = post(server_url, f"/datasets/{qa}/restore", {"version": "first"})
    assert (restored["restored_from"], restored["changed"]) == (1, True)
    assert restored["dataset"]["version"] == 4
    assert restored["dataset"]["digest"] == digest_v1
    assert restored["dataset"]["last_updated_by"] == "anonymous"
    now = client.get_dataset(dataset_id=qa)
    assert (now.version, now.digest) == (4, digest_v1)
    answers = {r.inputs["q"]: r.expectations["answer"] for r in now.records}
    assert answers == {"What is MLflow?": "a platform", "2+2?": "4", "capital of France?": "Paris"}

    again = post(server_url, f"/datasets/{qa}/restore", {"version": 1})
    assert (again["changed"], again["dataset"]["version"]) == (False, 4)


# -- labels -----------------------------------------------------------------------------


def test_labels_are_set_and_moved_and_every_move_is_listed(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    set_now = post(server_url, f"/datasets/{qa}/labels", {"label": "golden"})
    assert (set_now["version"], set_now["labels"]) == (3, {"golden": 3})
    tick()
    moved = post(server_url, f"/datasets/{qa}/labels", {"label": "golden", "version": 1})
    assert moved["labels"] == {"golden": 1}
    post(server_url, f"/datasets/{qa}/labels", {"label": "candidate", "version": "golden"})
    post(server_url, f"/datasets/{qa}/labels", {"label": "golden", "version": 1})  # no move

    assert get(server_url, f"/datasets/{qa}/labels")["labels"] == {"candidate": 1, "golden": 1}
    moves = get(server_url, f"/datasets/{qa}/labels/moves")["moves"]
    assert [(m["label"], m["from_version"], m["to_version"]) for m in moves] == [
        ("golden", None, 3),
        ("golden", 3, 1),
        ("candidate", None, 1),
    ]
    assert {m["user"] for m in moves} == {"anonymous"}
    first_move = moves[0]["timestamp"]
    then = get(server_url, f"/datasets/{qa}/labels", as_of=first_move)
    assert (then["as_of"], then["labels"]) == (first_move, {"golden": 3})
    assert get(server_url, f"/datasets/{qa}", label="golden")["dataset"]["version"] == 1
    history = get(server_url, f"/datasets/{qa}/history")["versions"]
    assert [v["labels"] for v in history] == [[], ["candidate", "golden"], [], []]
    assert len(history) == 4  # label moves are events, not dataset versions


# -- records ----------------------------------------------------------------------------


def every_page(url: str, dataset_id: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every record of a listing, page by page; and how many pages it took."""
    records: list[dict[str, Any]] = []
    token, pages = None, 0
    while True:
        query = dict(params, **({"page_token": token} if token else {}))
        page = get(url, f"/datasets/{dataset_id}/records", **query)
        records += page["records"]
        pages += 1
        token = page.get("next_page_token")
        if token is None:
            return records, pages


def test_records_page_through_2500_records_now_and_at_a_past_version(
    server_url: str, db_url: str
) -> None:
    ds = Client(db_url).create_dataset("big")
    ds.merge_records([{"inputs": {"i": i}, "expectations": {"v": 1}} for i in range(2_500)])
    tick()
    ds.merge_records(
        [{"inputs": {"i": i}, "expectations": {"v": 2}} for i in range(0, 2_500, 7)]
        + [{"inputs": {"i": i}} for i in range(2_500, 2_600)]
    )
    gone = [r.dataset_record_id for r in ds.records if r.inputs["i"] % 5 == 0]
    ds.delete_records(gone)
    tick()

    current, pages = every_page(server_url, ds.dataset_id, max_results=1000)
    assert [r["dataset_record_id"] for r in current] == list(ds.to_df()["dataset_record_id"])
    assert len(current) == len({r["dataset_record_id"] for r in current}) == ds.num_records
    assert pages == 3

    past, pages = every_page(server_url, ds.dataset_id, max_results=1000, version=1)
    assert [r["inputs"]["i"] for r in past] == list(range(2_500))
    assert {r["expectations"]["v"] for r in past} == {1}
    assert pages == 3
    at_v2, _ = every_page(server_url, ds.dataset_id, max_results=700, version=2)
    assert [r["inputs"]["i"] for r in at_v2] == list(range(2_600))
    assert sum(r["expectations"].get("v") == 2 for r in at_v2) == len(range(0, 2_500, 7))

    page = get(server_url, f"/datasets/{ds.dataset_id}/records", version=1, max_results=5)
    assert (page["version"], len(page["records"])) == (1, 5)
    small = get(server_url, f"/datasets/{ds.dataset_id}/records", max_results=10_000)
    assert "next_page_token" not in small and len(small["records"]) == ds.num_records


def test_one_record_whole_and_its_history(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    ds = Client(db_url).get_dataset(dataset_id=qa, version=1)
    ids = {r.inputs["q"]: r.dataset_record_id for r in ds.records}

    edited = get(server_url, f"/datasets/{qa}/records/{ids['2+2?']}")
    assert edited["version"] == 3
    record = edited["record"]
    assert record["inputs"] == {"q": "2+2?"} and record["expectations"] == {"answer": "four"}
    assert record["source"] == {"source_type": "HUMAN", "source_data": {}}
    then = get(server_url, f"/datasets/{qa}/records/{ids['2+2?']}", version=1)
    assert then["record"]["expectations"] == {"answer": "4"}

    deleted = ids["capital of France?"]
    fails(
        requests.get(f"{server_url}{API}/datasets/{qa}/records/{deleted}", timeout=60),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        deleted,
    )
    assert get(server_url, f"/datasets/{qa}/records/{deleted}", version=2)["version"] == 2

    changes = get(server_url, f"/datasets/{qa}/records/{ids['2+2?']}/history")["changes"]
    assert [(c["version"], c["operation"], c["user"]) for c in changes] == [
        (1, "MERGE", "alice"),
        (2, "MERGE", "alice"),
    ]
    assert changes[0]["before"] is None
    assert changes[1]["fields"] == ["expectations.answer"]
    assert changes[1]["before"]["expectations"] == {"answer": "4"}
    assert changes[1]["after"]["expectations"] == {"answer": "four"}
    lineage = get(server_url, f"/datasets/{qa}/records/{deleted}/history")["changes"]
    assert [(c["operation"], c["after"]) for c in lineage][-1] == ("DELETE_RECORDS", None)


def test_provenance_counts_source_types_with_the_trace_ids(server_url: str, db_url: str) -> None:
    client = Client(db_url)
    traces = [client.log_trace({"q": f"question {i}"}, f"answer {i}") for i in range(3)]
    ds = client.create_dataset("from-traces")
    ds.merge_records(traces)
    ds.merge_records([{"inputs": {"q": "typed"}, "expectations": {"a": "b"}}])

    provenance = get(server_url, f"/datasets/{ds.dataset_id}/provenance")
    assert (provenance["version"], provenance["num_records"]) == (2, 4)
    sources = {s["source_type"]: s for s in provenance["sources"]}
    assert sources["HUMAN"]["num_records"] == 1 and sources["HUMAN"]["trace_ids"] == []
    assert sources["TRACE"]["num_records"] == 3
    assert sources["TRACE"]["trace_ids"] == sorted(t.info.trace_id for t in traces)
    before = get(server_url, f"/datasets/{ds.dataset_id}/provenance", version=1)
    assert [s["source_type"] for s in before["sources"]] == ["TRACE"]


# -- undelete ---------------------------------------------------------------------------


def test_undelete_brings_a_deleted_dataset_back(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    Client(db_url).delete_dataset(qa)
    shown = get(server_url, f"/datasets/{qa}")["dataset"]
    assert (shown["deleted"], shown["num_records"], shown["version"]) == (True, 3, 4)
    assert get(server_url, "/datasets")["datasets"] == []

    back = post(server_url, f"/datasets/{qa}/undelete")["dataset"]
    assert (back["deleted"], back["version"], back["num_records"]) == (False, 5, 3)
    assert [d["dataset_id"] for d in get(server_url, "/datasets")["datasets"]] == [qa]
    fails(
        requests.post(f"{server_url}{API}/datasets/{qa}/undelete", timeout=60),
        400,
        "INVALID_PARAMETER_VALUE",
        "not deleted",
    )


# -- verify -----------------------------------------------------------------------------

_DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER events_no_update"],
    "postgresql": ["DROP TRIGGER events_no_update ON events"],
    "mysql": ["DROP TRIGGER events_no_update"],
    "mariadb": ["DROP TRIGGER events_no_update"],
}


def tamper(db_url: str, statement: sa.Executable, *, events_table: bool) -> None:
    """Change a table behind the ledger's back, as someone with DDL rights could."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if events_table:
                for drop in _DROP_TRIGGERS[engine.dialect.name]:
                    conn.exec_driver_sql(drop)
            conn.execute(statement)
    finally:
        engine.dispose()


def test_verify_reports_an_intact_ledger(server_url: str, db_url: str) -> None:
    qa_dataset(db_url)
    report = get(server_url, "/verify")
    count = event_count(db_url)
    assert report["ok"] is True and report["problems"] == []
    assert report["events_checked"] == report["head_position"] == count
    assert len(report["head_hash"]) == 64
    assert report["projections_checked"] is True and report["rows_compared"] > 0
    quick = get(server_url, "/verify", projections="false")
    assert (quick["ok"], quick["projections_checked"]) == (True, False)


def test_verify_reports_a_tampered_event_as_a_200_with_ok_false(
    server_url: str, db_url: str
) -> None:
    qa_dataset(db_url)
    tamper(
        db_url,
        events.update().where(events.c.position == 3).values(payload='{"forged": true}'),
        events_table=True,
    )
    report = get(server_url, "/verify")
    assert report["ok"] is False
    assert report["first_bad_position"] == 3
    assert report["events_checked"] == 2
    assert any("position 3" in p for p in report["problems"])


def test_verify_reports_a_projection_that_differs_from_a_replay(
    server_url: str, db_url: str
) -> None:
    qa_dataset(db_url)
    tamper(
        db_url,
        sa.text("UPDATE dataset_records SET source_type = 'CODE' WHERE valid_to IS NULL"),
        events_table=False,
    )
    report = get(server_url, "/verify")
    assert report["ok"] is False and report["first_bad_position"] is None
    assert any("dataset_records" in p for p in report["problems"])


# -- errors -----------------------------------------------------------------------------

MISSING = "d-" + "0" * 32


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status", "code", "words"),
    [
        ("GET", "/datasets/{missing}", {}, None, 404, "RESOURCE_DOES_NOT_EXIST", [MISSING]),
        ("GET", "/datasets/{missing}/history", {}, None, 404, "RESOURCE_DOES_NOT_EXIST", []),
        ("GET", "/datasets/{qa}", {"version": 9}, None, 404, "RESOURCE_DOES_NOT_EXIST", ["9"]),
        ("GET", "/datasets/{qa}", {"label": "nope"}, None, 404, "RESOURCE_DOES_NOT_EXIST", []),
        ("GET", "/datasets/{qa}", {"version": "x"}, None, 400, "INVALID_PARAMETER_VALUE", []),
        ("GET", "/datasets/{qa}", {"version": -1}, None, 400, "INVALID_PARAMETER_VALUE", []),
        ("GET", "/datasets/{qa}", {"as_of": "soon"}, None, 400, "INVALID_PARAMETER_VALUE", []),
        ("GET", "/datasets/{qa}", {"as_of": 1}, None, 404, "RESOURCE_DOES_NOT_EXIST", []),
        (
            "GET",
            "/datasets/{qa}",
            {"version": 1, "as_of": 1},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["version", "as_of"],
        ),
        (
            "GET",
            "/datasets/{qa}/records",
            {"page_token": "garbage"},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["page_token"],
        ),
        (
            "GET",
            "/datasets/{qa}/records",
            {"max_results": 0},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["max_results"],
        ),
        (
            "GET",
            "/datasets/{qa}/records/dr-missing",
            {},
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            ["dr-missing"],
        ),
        (
            "GET",
            "/datasets/{qa}/records/dr-missing/history",
            {},
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            [],
        ),
        ("GET", "/datasets/{qa}/diff", {}, None, 400, "INVALID_PARAMETER_VALUE", ["from_version"]),
        (
            "GET",
            "/datasets/{qa}/diff",
            {"from_version": 0, "to_version": 42},
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            ["42"],
        ),
        (
            "GET",
            "/datasets/{qa}/diff",
            {"from_version": "-3"},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["from_version"],
        ),
        ("GET", "/datasets", {"filter": "name ==="}, None, 400, "INVALID_PARAMETER_VALUE", []),
        (
            "GET",
            "/datasets",
            {"include_deleted": "maybe"},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["include_deleted"],
        ),
        (
            "GET",
            "/datasets/{qa}/labels",
            {"as_of": "later"},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["as_of"],
        ),
        (
            "POST",
            "/datasets/{qa}/restore",
            {},
            {"version": 7},
            404,
            "RESOURCE_DOES_NOT_EXIST",
            ["7"],
        ),
        (
            "POST",
            "/datasets/{qa}/restore",
            {},
            {"version": 1.5},
            400,
            "INVALID_PARAMETER_VALUE",
            ["version"],
        ),
        ("POST", "/datasets/{qa}/restore", {}, {}, 400, "INVALID_PARAMETER_VALUE", ["version"]),
        (
            "POST",
            "/datasets/{qa}/restore",
            {},
            {"version": 1, "force": True},
            400,
            "INVALID_PARAMETER_VALUE",
            ["force"],
        ),
        (
            "POST",
            "/datasets/{qa}/restore",
            {"version": 2},
            {"version": 1},
            400,
            "INVALID_STATE",
            ["read-only"],
        ),
        (
            "POST",
            "/datasets/{qa}/labels",
            {"label": "v1"},
            {"label": "x"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
            [],
        ),
        (
            "POST",
            "/datasets/{qa}/labels",
            {"version": 1},
            {"label": "x"},
            400,
            "INVALID_STATE",
            ["read-only"],
        ),
        (
            "POST",
            "/datasets/{qa}/labels",
            {},
            {"label": " "},
            400,
            "INVALID_PARAMETER_VALUE",
            ["label"],
        ),
        (
            "POST",
            "/datasets/{qa}/labels",
            {},
            {"label": "x", "version": 99},
            404,
            "RESOURCE_DOES_NOT_EXIST",
            ["99"],
        ),
        ("POST", "/datasets/{missing}/undelete", {}, None, 404, "RESOURCE_DOES_NOT_EXIST", []),
        (
            "POST",
            "/datasets/{missing}/restore",
            {},
            {"version": 0},
            404,
            "RESOURCE_DOES_NOT_EXIST",
            [],
        ),
        ("GET", "/verify", {"projections": "perhaps"}, None, 400, "INVALID_PARAMETER_VALUE", []),
        (
            "GET",
            "/datasets",
            {"filter": "name = 'a\x00'"},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["filter"],
        ),
        ("GET", "/datasets/d-%00", {}, None, 400, "INVALID_PARAMETER_VALUE", ["dataset_id"]),
        (
            "GET",
            "/datasets/{qa}",
            {"as_of": str(10**30)},
            None,
            400,
            "INVALID_PARAMETER_VALUE",
            ["as_of", "out of range"],
        ),
        (
            "POST",
            "/datasets/{qa}/labels",
            {},
            {"label": "\ud800"},
            400,
            "INVALID_PARAMETER_VALUE",
            ["label"],
        ),
    ],
)
def test_bad_requests_get_a_4xx_json_error_and_write_nothing(
    server_url: str,
    db_url: str,
    method: str,
    path: str,
    params: dict[str, Any],
    body: dict[str, Any] | None,
    status: int,
    code: str,
    words: list[str],
) -> None:
    qa = qa_dataset(db_url)
    before = event_count(db_url)
    url = server_url + API + path.format(qa=qa, missing=MISSING)
    response = requests.request(method, url, params=params, json=body, timeout=60)
    fails(response, status, code, *words)
    assert event_count(db_url) == before


def test_a_deleted_dataset_reads_but_takes_no_writes(server_url: str, db_url: str) -> None:
    qa = qa_dataset(db_url)
    Client(db_url).delete_dataset(qa)
    records, _ = every_page(server_url, qa)
    assert len(records) == 3
    for path, body in (("restore", {"version": 1}), ("labels", {"label": "x"})):
        response = requests.post(f"{server_url}{API}/datasets/{qa}/{path}", json=body, timeout=60)
        fails(response, 404, "RESOURCE_DOES_NOT_EXIST", "deleted")


def test_openapi_documents_every_route(server_url: str) -> None:
    spec = requests.get(server_url + "/openapi.json", timeout=60).json()
    ours = spec["paths"]
    expected = {
        f"{API}/datasets": {"get"},
        f"{API}/datasets/{{dataset_id}}": {"get"},
        f"{API}/datasets/{{dataset_id}}/records": {"get"},
        f"{API}/datasets/{{dataset_id}}/records/{{record_id}}": {"get"},
        f"{API}/datasets/{{dataset_id}}/records/{{record_id}}/history": {"get"},
        f"{API}/datasets/{{dataset_id}}/history": {"get"},
        f"{API}/datasets/{{dataset_id}}/diff": {"get"},
        f"{API}/datasets/{{dataset_id}}/restore": {"post"},
        f"{API}/datasets/{{dataset_id}}/labels": {"get", "post"},
        f"{API}/datasets/{{dataset_id}}/labels/moves": {"get"},
        f"{API}/datasets/{{dataset_id}}/provenance": {"get"},
        f"{API}/datasets/{{dataset_id}}/undelete": {"post"},
        f"{API}/verify": {"get"},
    }
    assert {p: set(ours.get(p, ())) for p in expected} == expected
    for path in expected:
        for op in ours[path].values():
            assert "$ref" in op["responses"]["200"]["content"]["application/json"]["schema"]


# -- permissions ------------------------------------------------------------------------


def test_with_auth_reads_need_read_writes_need_edit_and_record_who(db_url: str) -> None:
    setup = Client(db_url, user="setup")
    users.add_user(setup.session, "rita", "reader", "rita's password")
    granted = setup.create_experiment("granted")
    other = setup.create_experiment("other")
    users.grant(setup.session, "rita", granted, "edit")
    mine = setup.create_dataset("mine", experiment_id=[granted])
    theirs = setup.create_dataset("theirs", experiment_id=[other])
    for ds in (mine, theirs):
        ds.merge_records([{"inputs": {"q": 1}}])
    rita = ("rita", "rita's password")

    with evalledger_server(db_url, auth=True) as url:
        nobody = requests.get(f"{url}{API}/datasets/{mine.dataset_id}/history", timeout=60)
        fails(nobody, 401, "UNAUTHENTICATED")
        for ds in (mine, theirs):
            read = requests.get(
                f"{url}{API}/datasets/{ds.dataset_id}/history", auth=rita, timeout=60
            )
            assert read.status_code == 200, read.text
        before = event_count(db_url)
        refused = requests.post(
            f"{url}{API}/datasets/{theirs.dataset_id}/restore",
            json={"version": 0},
            auth=rita,
            timeout=60,
        )
        fails(refused, 403, "PERMISSION_DENIED", "rita")
        assert event_count(db_url) == before
        allowed = requests.post(
            f"{url}{API}/datasets/{mine.dataset_id}/restore",
            json={"version": 0},
            auth=rita,
            timeout=60,
        )
        assert allowed.status_code == 200, allowed.text
    history = Client(db_url).get_dataset(dataset_id=mine.dataset_id).history()
    assert (history["operation"].iloc[-1], history["user"].iloc[-1]) == ("RESTORE", "rita")
