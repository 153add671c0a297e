"""Bad requests at the edge: a 4xx JSON error naming the problem, never a 500, nothing
written (API.md §10)."""

from __future__ import annotations

import logging

import pytest
import requests
from live_server import evalledger_server

from evalledger import Client

CREATE = "/api/3.0/mlflow/datasets/create"


def _events(db_url: str) -> int:
    return sum(1 for _ in Client(db_url).store.iter_all())


def _error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error_code", "message"}
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"name": 5}', "name"),
        (b'{"name": "x", "experiment_ids": "0"}', "experiment_ids"),
        (b'{"name": "x", "tags": "{broken"}', "tags"),
        (b'{"name": "x", "tags": "[1]"}', "tags"),
        (b'{"name": ""}', "name"),
    ],
)
def test_malformed_bodies_are_400_and_write_nothing(
    server_url: str, db_url: str, body: bytes, field: str | None
) -> None:
    before = _events(db_url)
    response = requests.post(
        server_url + CREATE, data=body, headers={"Content-Type": "application/json"}
    )
    error = _error(response, 400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    if field is not None:
        assert field in error["message"]
    assert _events(db_url) == before


def test_records_that_are_not_a_list_or_lack_inputs_name_the_record(
    server_url: str, db_url: str
) -> None:
    created = requests.post(server_url + CREATE, json={"name": "d"}).json()["dataset"]
    url = f"{server_url}/api/3.0/mlflow/datasets/{created['dataset_id']}/records"
    before = _events(db_url)
    error = _error(requests.post(url, json={"records": '{"inputs": {}}'}), 400)
    assert "records" in error["message"]
    error = _error(
        requests.post(url, json={"records": '[{"inputs": {"q": 1}}, {"outputs": 2}]'}), 400
    )
    assert "1" in error["message"] and "inputs" in error["message"]
    assert _events(db_url) == before


def test_unknown_routes_and_methods_are_json_404_and_405(server_url: str) -> None:
    assert _error(requests.get(server_url + "/api/2.0/mlflow/nope"), 404)["error_code"] == (
        "ENDPOINT_NOT_FOUND"
    )
    _error(requests.put(server_url + CREATE, json={}), 405)


def test_query_parameters_of_the_wrong_type_are_400(server_url: str) -> None:
    created = requests.post(server_url + CREATE, json={"name": "d"}).json()["dataset"]
    url = f"{server_url}/api/3.0/mlflow/datasets/{created['dataset_id']}/records"
    _error(requests.get(url, params={"max_results": "many"}), 400)
    _error(requests.get(url, params={"max_results": "0"}), 400)
    _error(requests.get(url, params={"page_token": "garbage"}), 400)


def test_a_body_over_the_limit_is_413_and_writes_nothing(db_url: str) -> None:
    with evalledger_server(db_url, max_body_bytes=10_000) as url:
        before = _events(db_url)
        big = {"name": "d", "tags": '{"k": "' + "x" * 20_000 + '"}'}
        error = _error(requests.post(url + CREATE, json=big), 413)
        assert "10000" in error["message"]

        def chunks():  # no Content-Length: the limit applies while the body streams
            for _ in range(30):
                yield b" " * 1_000

        streamed = requests.post(
            url + CREATE, data=chunks(), headers={"Content-Type": "application/json"}
        )
        _error(streamed, 413)
        assert _events(db_url) == before


def test_every_response_has_a_request_id_and_a_log_line(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="evalledger.server.requests"):
        response = requests.get(
            server_url + "/api/2.0/mlflow/experiments/get",
            params={"experiment_id": "0"},
            headers={"X-Request-Id": "abc-123"},
        )
    assert response.headers["x-request-id"] == "abc-123"
    assert any("request_id=abc-123" in r.getMessage() for r in caplog.records)
    fresh = requests.get(server_url + "/version")
    assert len(fresh.headers["x-request-id"]) == 32


def test_version_is_one_the_mlflow_client_accepts_for_otlp(server_url: str) -> None:
    text = requests.get(server_url + "/version").text
    major, minor = (int(p) for p in text.split(".")[:2])
    assert (major, minor) >= (3, 4)
