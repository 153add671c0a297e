"""Keyset pages of a trace search (search_page, which the web UI's trace table reads):
pages in the search's order, ties and missing latencies included, stable under inserts,
tokens tied to their search. Every test runs on each backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalledger import Client, errors
from evalledger.traces.search import search_page

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mlflow_traces.jsonl"
ORDERS = [
    None,
    ["attributes.timestamp_ms ASC"],
    ["attributes.execution_time_ms ASC"],
    ["attributes.execution_time_ms DESC"],
    ["attributes.name ASC", "attributes.timestamp_ms DESC"],
]


def all_pages(
    client: Client, experiment: str, order_by: list[str] | None, size: int, **search: str
) -> list[str]:
    """Every trace id, reading page after page of `size`."""
    seen: list[str] = []
    token = None
    while True:
        page = search_page(
            client.session,
            [experiment],
            order_by=order_by,
            max_results=size,
            page_token=token,
            **search,
        )
        assert len(page) <= size
        seen += [t.info.trace_id for t in page]
        token = page.token
        if token is None:
            return seen


@pytest.fixture
def experiment(client: Client) -> str:
    """Eleven traces with tied times, tied latencies and two without a latency."""
    experiment = client.create_experiment("paging")
    for i in range(9):
        client.log_trace(
            {"q": i},
            name=f"step-{i % 3}",
            experiment_id=experiment,
            timestamp_ms=1_000 + i // 2,  # pairs share a time
            execution_time_ms=10 * (i % 4),  # latencies repeat
        )
    for line in FIXTURE.read_text().splitlines()[:2]:  # MLflow traces with no duration
        raw = json.loads(line)
        del raw["info"]["execution_duration_ms"]
        client.import_traces(raw, experiment_id=experiment)
    return experiment


@pytest.mark.parametrize("order_by", ORDERS, ids=lambda o: "default" if o is None else o[0])
def test_pages_follow_the_order_of_the_whole_search(
    client: Client, experiment: str, order_by: list[str] | None
) -> None:
    whole = client.search_traces([experiment], order_by=order_by, return_type="list")
    expected = [t.info.trace_id for t in whole]
    assert len(expected) == 11
    for size in (1, 2, 3, 11, 50):
        assert all_pages(client, experiment, order_by, size) == expected


def test_a_filter_applies_to_every_page(client: Client, experiment: str) -> None:
    found = all_pages(client, experiment, None, 2, filter_string="attributes.name = 'step-1'")
    assert len(found) == 3
    assert all(client.get_trace(t).info.trace_metadata is not None for t in found)


def test_traces_logged_between_pages_shift_nothing(client: Client, experiment: str) -> None:
    first = search_page(client.session, [experiment], max_results=4)
    client.log_trace({"q": "new"}, experiment_id=experiment, timestamp_ms=10**12)  # newest
    rest = all_pages_from(client, experiment, first.token)
    whole = [t.info.trace_id for t in first] + rest
    assert len(whole) == len(set(whole)) == 11


def all_pages_from(client: Client, experiment: str, token: str | None) -> list[str]:
    seen: list[str] = []
    while token is not None:
        page = search_page(client.session, [experiment], max_results=4, page_token=token)
        seen += [t.info.trace_id for t in page]
        token = page.token
    return seen


def test_a_token_belongs_to_its_search(client: Client, experiment: str) -> None:
    token = search_page(client.session, [experiment], max_results=2).token
    assert token is not None
    with pytest.raises(errors.InvalidParameter, match="another filter"):
        search_page(
            client.session, [experiment], order_by=["attributes.name ASC"], page_token=token
        )
    with pytest.raises(errors.InvalidParameter, match="page_token"):
        search_page(client.session, [experiment], page_token="not-a-token")
    with pytest.raises(errors.InvalidParameter, match="max_results"):
        search_page(client.session, [experiment], max_results=0)
