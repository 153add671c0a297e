"""`evalledger server --auth` (API.md §10) with the real MLflow client and raw HTTP: Basic
and bearer credentials, 401 and 403 as MLflow's JSON errors, grants per experiment, the
authenticated user on every event, and no secret in the server's log."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import mlflow
import pytest
import requests
from live_server import evalledger_server
from mlflow.exceptions import MlflowException
from mlflow.genai import datasets as mlflow_datasets

from evalledger import Client, users
from evalledger.projections import event_types as et

PASSWORDS = {"ada": "ada's long password", "rita": "rita reads everything"}
CREDENTIAL_VARIABLES = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)
SEARCH = "/api/2.0/mlflow/experiments/search"
CREATE_EXPERIMENT = "/api/2.0/mlflow/experiments/create"
USERS = "/api/evalledger/v1/users"


@dataclass(frozen=True)
class People:
    """The server's users (ada: admin, eddie: editor, rita: reader) and their tokens."""

    tokens: dict[str, str]
    granted: str  # an experiment rita may edit
    other: str  # one she may only read


@pytest.fixture
def people(db_url: str) -> People:
    setup = Client(db_url, user="setup")
    tokens = {
        "ada": users.add_user(setup.session, "ada", "admin", PASSWORDS["ada"]),
        "eddie": users.add_user(setup.session, "eddie", "editor"),
        "rita": users.add_user(setup.session, "rita", "reader", PASSWORDS["rita"]),
    }
    granted = setup.create_experiment("granted")
    other = setup.create_experiment("other")
    users.grant(setup.session, "rita", granted, "edit")
    return People(tokens, granted, other)


@pytest.fixture
def auth_url(db_url: str, people: People) -> Iterator[str]:
    """An evalledger server with authentication on this test's fresh database."""
    with evalledger_server(db_url, auth=True) as url:
        yield url


Login = Callable[..., None]


@pytest.fixture
def login(auth_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Login]:
    """The MLflow client pointed at the auth server, with no credentials until the test
    calls login(name, password) or login(token=...), as a user sets the variables."""
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_url)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(auth_url)
    mlflow.tracing.reset()

    def set_credentials(
        name: str | None = None, password: str | None = None, token: str | None = None
    ) -> None:
        for variable in CREDENTIAL_VARIABLES:
            monkeypatch.delenv(variable, raising=False)
        if name is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password or "")
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)

    yield set_credentials
    mlflow.flush_trace_async_logging()
    mlflow.tracing.reset()
    mlflow.set_tracking_uri(None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


def _fails_fast(call: Callable[[], object], code: str) -> MlflowException:
    started = time.monotonic()
    with pytest.raises(MlflowException) as caught:
        call()
    assert time.monotonic() - started < 2.0, "the client retried"
    assert caught.value.error_code == code
    return caught.value


def _users_of_dataset_events(db_url: str) -> set[str]:
    return {
        e.metadata["user"]
        for e in Client(db_url).store.iter_all()
        if e.stream_type == et.DATASET_STREAM
    }


# --------------------------------------------------------------------------- the MLflow client


def test_without_or_with_wrong_credentials_the_client_fails_fast_with_401(
    login: Login, people: People
) -> None:
    error = _fails_fast(mlflow_datasets.search_datasets, "UNAUTHENTICATED")
    assert "MLFLOW_TRACKING_USERNAME" in error.message
    login("rita", "not her password")
    error = _fails_fast(mlflow_datasets.search_datasets, "UNAUTHENTICATED")
    assert "not her password" not in error.message
    login("nobody", PASSWORDS["rita"])
    _fails_fast(lambda: mlflow.get_experiment(people.granted), "UNAUTHENTICATED")
    login(token=people.tokens["rita"][:-4] + "abcd")
    _fails_fast(mlflow_datasets.search_datasets, "UNAUTHENTICATED")


def test_a_reader_reads_but_writes_only_where_granted(
    login: Login, people: People, db_url: str
) -> None:
    admin = Client(db_url, user="ada")
    theirs = admin.create_dataset("theirs", experiment_id=people.other)
    login("rita", PASSWORDS["rita"])
    assert mlflow.get_experiment(people.other).name == "other"
    assert mlflow_datasets.get_dataset(dataset_id=theirs.dataset_id).name == "theirs"
    _fails_fast(
        lambda: mlflow_datasets.create_dataset(name="x", experiment_id=people.other),
        "PERMISSION_DENIED",
    )
    _fails_fast(lambda: mlflow.set_experiment("brand new"), "PERMISSION_DENIED")
    ds = mlflow_datasets.get_dataset(dataset_id=theirs.dataset_id)
    _fails_fast(lambda: ds.merge_records([{"inputs": {"q": 1}}]), "PERMISSION_DENIED")
    _fails_fast(
        lambda: mlflow_datasets.set_dataset_tags(theirs.dataset_id, {"a": "b"}),
        "PERMISSION_DENIED",
    )
    assert admin.get_dataset(dataset_id=theirs.dataset_id).version == 0  # nothing written

    mine = mlflow_datasets.create_dataset(name="mine", experiment_id=people.granted)
    mine.merge_records([{"inputs": {"q": "2+2?"}, "expectations": {"a": "4"}}])
    assert len(mlflow_datasets.get_dataset(dataset_id=mine.dataset_id).to_df()) == 1
    _fails_fast(
        lambda: mlflow_datasets.add_dataset_to_experiments(mine.dataset_id, [people.other]),
        "PERMISSION_DENIED",
    )
    assert admin.get_dataset(dataset_id=mine.dataset_id).experiment_ids == [people.granted]


def test_events_carry_the_authenticated_user_not_the_claimed_one(
    login: Login, people: People, db_url: str
) -> None:
    login("rita", PASSWORDS["rita"])
    ds = mlflow_datasets.create_dataset(
        name="golden", experiment_id=people.granted, tags={"mlflow.user": "mallory"}
    )
    ds.merge_records(
        [{"inputs": {"q": 1}, "tags": {"mlflow.user": "mallory"}}, {"inputs": {"q": 2}}]
    )
    assert ds.created_by == "rita"
    history = Client(db_url).get_dataset(dataset_id=ds.dataset_id).history()
    assert list(history["operation"]) == ["CREATE", "MERGE"]
    assert set(history["user"]) == {"rita"}

    login(token=people.tokens["eddie"])  # a bearer token, as MLFLOW_TRACKING_TOKEN sends it
    experiment_id = mlflow.create_experiment("eddies", tags={"mlflow.user": "mallory"})
    mlflow_datasets.create_dataset(name="eddies", experiment_id=experiment_id)
    created = [
        e
        for e in Client(db_url).store.iter_all()
        if e.event_type == et.EXPERIMENT_CREATED and e.payload["name"] == "eddies"
    ]
    assert [e.metadata["user"] for e in created] == ["eddie"]
    assert _users_of_dataset_events(db_url) == {"rita", "eddie"}


def test_the_whole_dataset_flow_with_a_bearer_token(
    login: Login, people: People, db_url: str
) -> None:
    login(token=people.tokens["ada"])
    experiment = mlflow.set_experiment("support-bot")
    ds = mlflow_datasets.create_dataset(name="flow", experiment_id=experiment.experiment_id)
    ds.merge_records([{"inputs": {"q": i}} for i in range(3)])
    ids = list(mlflow_datasets.get_dataset(name="flow").to_df()["dataset_record_id"])
    assert ds.delete_records(ids[:1]) == 1
    mlflow_datasets.delete_dataset(dataset_id=ds.dataset_id)
    assert _users_of_dataset_events(db_url) == {"ada"}


# --------------------------------------------------------------------------- raw HTTP


def test_basic_and_bearer_headers_and_the_401_body(auth_url: str, people: People) -> None:
    search = auth_url + SEARCH
    refused = requests.post(search, json={}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert refused.json()["error_code"] == "UNAUTHENTICATED"
    assert set(refused.json()) == {"error_code", "message"}

    assert requests.post(search, json={}, auth=("rita", PASSWORDS["rita"]), timeout=10).ok
    bearer = {"Authorization": f"Bearer {people.tokens['rita']}"}
    answer = requests.post(search, json={}, headers=bearer, timeout=10)
    assert answer.status_code == 200
    assert {e["name"] for e in answer.json()["experiments"]} >= {"granted", "other"}
    # the token is accepted as a Basic password too (for tools that only do Basic)
    as_basic = requests.post(search, json={}, auth=("rita", people.tokens["rita"]), timeout=10)
    assert as_basic.status_code == 200

    for header in (
        "Basic not-base64!",
        "Basic cml0YQ==",  # "rita", no colon
        "Basic cmkAdGE6cGFzc3dvcmQ=",  # "ri\0ta:password": no such name, not a 500
        "Bearer ",
        "Bearer evl_0123.abc",
        "Digest username=rita",
    ):
        answer = requests.post(search, json={}, headers={"Authorization": header}, timeout=10)
        assert answer.status_code == 401, header
        assert answer.json()["error_code"] == "UNAUTHENTICATED"

    denied = requests.post(
        auth_url + CREATE_EXPERIMENT, json={"name": "x"}, headers=bearer, timeout=10
    )
    assert denied.status_code == 403
    assert denied.json()["error_code"] == "PERMISSION_DENIED"
    editor = {"Authorization": f"Bearer {people.tokens['eddie']}"}
    created = requests.post(
        auth_url + CREATE_EXPERIMENT, json={"name": "x"}, headers=editor, timeout=10
    )
    assert created.status_code == 200 and created.json()["experiment_id"]


def test_changes_to_a_user_apply_on_the_next_request(
    auth_url: str, people: People, db_url: str
) -> None:
    search = auth_url + SEARCH
    admin = Client(db_url, user="ada").session
    old = ("rita", PASSWORDS["rita"])
    assert requests.post(search, json={}, auth=old, timeout=10).status_code == 200
    users.set_password(admin, "rita", "a brand new password")
    assert requests.post(search, json={}, auth=old, timeout=10).status_code == 401
    new = ("rita", "a brand new password")
    assert requests.post(search, json={}, auth=new, timeout=10).status_code == 200

    bearer = {"Authorization": f"Bearer {people.tokens['eddie']}"}
    body = {"name": "before"}
    assert requests.post(auth_url + CREATE_EXPERIMENT, json=body, headers=bearer, timeout=10).ok
    users.set_role(admin, "eddie", "reader")
    denied = requests.post(
        auth_url + CREATE_EXPERIMENT, json={"name": "after"}, headers=bearer, timeout=10
    )
    assert denied.status_code == 403
    users.new_user_token(admin, "eddie")
    assert requests.post(search, json={}, headers=bearer, timeout=10).status_code == 401

    users.revoke_user(admin, "rita")
    revoked = requests.post(search, json={}, auth=new, timeout=10)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]


def test_no_secret_reaches_the_server_log(
    auth_url: str, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    search = auth_url + SEARCH
    token = people.tokens["rita"]
    requests.post(search, json={}, auth=("rita", PASSWORDS["rita"]), timeout=10)
    requests.post(search, json={}, auth=("rita", "a wrong password"), timeout=10)
    requests.post(search, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    requests.post(search, json={}, headers={"Authorization": f"Bearer {token}x"}, timeout=10)
    requests.post(
        auth_url + CREATE_EXPERIMENT,
        json={"name": "x"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "user=rita" in logged  # the request lines were captured, naming the user
    secret = token.partition(".")[2]
    for clear in (PASSWORDS["rita"], "a wrong password", token, secret):
        assert clear not in logged
        assert clear not in caplog.text


# --------------------------------------------------------------------------- /users routes


def test_admins_manage_users_over_http_and_managers_grant_on_their_experiment(
    auth_url: str, people: People, db_url: str
) -> None:
    base = auth_url + USERS
    admin = {"Authorization": f"Bearer {people.tokens['ada']}"}
    listed = requests.get(base, headers=admin, timeout=10)
    assert listed.status_code == 200
    assert [u["name"] for u in listed.json()["users"]] == ["ada", "eddie", "rita"]
    assert not any("hash" in key for u in listed.json()["users"] for key in u)

    added = requests.post(
        base, json={"name": "mona", "password": "mona's password"}, headers=admin, timeout=10
    )
    assert added.status_code == 200
    mona = {"Authorization": f"Bearer {added.json()['token']}"}
    assert added.json()["user"]["role"] == "reader"
    assert requests.post(auth_url + SEARCH, json={}, headers=mona, timeout=10).ok
    duplicate = requests.post(base, json={"name": "mona"}, headers=admin, timeout=10)
    assert duplicate.status_code == 400
    assert duplicate.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    bad_role = requests.post(base + "/mona/role", json={"role": "boss"}, headers=admin, timeout=10)
    assert bad_role.status_code == 400 and "role" in bad_role.json()["message"]
    for path, body in (
        ("/no%00body/role", {"role": "editor"}),
        ("/mona/grants", {"experiment_id": "\u0000", "permission": "read"}),
        ("/mona/grants", {"experiment_id": "4" * 40, "permission": "read"}),
    ):
        missing = requests.post(base + path, json=body, headers=admin, timeout=10)
        assert missing.status_code == 404, path  # never a 500

    for method, path, body in (
        ("get", "", None),
        ("post", "", {"name": "x"}),
        ("post", "/mona/role", {"role": "admin"}),
        ("post", "/mona/revoke", None),
    ):
        denied = requests.request(method, base + path, json=body, headers=mona, timeout=10)
        assert denied.status_code == 403, path
        assert denied.json()["error_code"] == "PERMISSION_DENIED"

    # a `manage` grant on one experiment lets mona grant on it, and nowhere else
    grant = {"experiment_id": people.granted, "permission": "manage"}
    assert requests.post(base + "/mona/grants", json=grant, headers=admin, timeout=10).ok
    to_rita = {"experiment_id": people.granted, "permission": "read"}
    answer = requests.post(base + "/rita/grants", json=to_rita, headers=mona, timeout=10)
    assert answer.status_code == 200 and answer.json()["changed"] is True
    elsewhere = {"experiment_id": people.other, "permission": "edit"}
    answer = requests.post(base + "/mona/grants", json=elsewhere, headers=mona, timeout=10)
    assert answer.status_code == 403
    assert users.get_user(Client(db_url).session, "rita").grants == {people.granted: "read"}

    revoked = requests.post(base + "/mona/revoke", headers=admin, timeout=10)
    assert revoked.status_code == 200 and revoked.json()["user"]["revoked"] is True
    assert requests.post(auth_url + SEARCH, json={}, headers=mona, timeout=10).status_code == 401
    changes = [e for e in Client(db_url).store.iter_all() if e.stream_id == "user-mona"]
    assert [e.metadata["user"] for e in changes] == ["ada", "ada", "ada"]
    grants = [e for e in Client(db_url).store.iter_all() if e.stream_id == "user-rita"]
    assert grants[-1].metadata["user"] == "mona"


def test_the_users_routes_need_authentication_on(server_url: str) -> None:
    answer = requests.get(server_url + USERS, timeout=10)
    assert answer.status_code == 403
    assert "--auth" in answer.json()["message"]
