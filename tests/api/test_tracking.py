"""Where the module functions write and who the ledger says acted (API.md §1): the tracking
URI, EVALLEDGER_TRACKING_URI, EVALLEDGER_USER, a client's user, and the version.

Every other test builds a `Client`; these are the tests about the global state itself."""

from __future__ import annotations

from pathlib import Path

import pytest

import evalledger as el
from evalledger import Client, errors
from evalledger.cli.main import main
from evalledger.fluent import default_client
from evalledger.ledger import LedgerError
from evalledger.tracking import DEFAULT_URI


def _users(client: Client, dataset_id: str) -> list[str]:
    """The `user` in the metadata of each of the dataset's events, in order."""
    return [event.metadata["user"] for event in client.store.read_stream(dataset_id)]


# ----------------------------------------------------------------------------- tracking URI


def test_the_tracking_uri_is_the_one_set_else_the_environment_else_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVALLEDGER_TRACKING_URI", raising=False)
    assert el.get_tracking_uri() == DEFAULT_URI
    monkeypatch.setenv("EVALLEDGER_TRACKING_URI", "sqlite:///from-env.db")
    assert el.get_tracking_uri() == "sqlite:///from-env.db"
    el.set_tracking_uri("sqlite:///set.db")
    assert el.get_tracking_uri() == "sqlite:///set.db"
    el.set_tracking_uri(None)
    assert el.get_tracking_uri() == "sqlite:///from-env.db"


def test_module_functions_use_the_default_client_of_the_current_tracking_uri(
    db_url: str, tmp_path: Path
) -> None:
    el.set_tracking_uri(db_url)
    assert default_client().tracking_uri == db_url
    assert default_client() is default_client()
    created = el.create_dataset("tracked")
    assert Client(db_url).get_dataset(name="tracked").dataset_id == created.dataset_id
    assert el.get_dataset(name="tracked").dataset_id == created.dataset_id

    other = f"sqlite:///{tmp_path / 'other.db'}"
    el.set_tracking_uri(other)
    assert default_client().tracking_uri == other
    with pytest.raises(errors.ResourceNotFound):
        el.get_dataset(name="tracked")
    el.create_dataset("elsewhere")
    assert [d.name for d in Client(other).search_datasets()] == ["elsewhere"]
    assert [d.name for d in Client(db_url).search_datasets()] == ["tracked"]


def test_module_functions_follow_evalledger_tracking_uri(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALLEDGER_TRACKING_URI", db_url)
    el.create_dataset("from-env")
    assert Client(db_url).get_dataset(name="from-env").name == "from-env"
    assert Client().tracking_uri == db_url


def test_unsupported_or_malformed_uris_are_clear_errors() -> None:
    with pytest.raises(LedgerError, match="not supported"):
        el.set_tracking_uri("oracle://scott@localhost/db")
    with pytest.raises(LedgerError, match="not an SQLAlchemy URL"):
        el.set_tracking_uri("::nonsense::")


def test_a_client_of_an_unsupported_or_malformed_uri_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="not supported"):
        Client("oracle://scott@localhost/db")
    with pytest.raises(LedgerError, match="not an SQLAlchemy URL"):
        Client("::nonsense::")


# ----------------------------------------------------------------------------- users


def test_a_client_records_its_user_on_datasets_and_in_the_ledger(db_url: str) -> None:
    alice, bob = Client(db_url, user="alice"), Client(db_url, user="bob")
    assert (alice.user, bob.user) == ("alice", "bob")
    ds = alice.create_dataset("shared")
    ds.merge_records([{"inputs": {"q": 1}}])
    assert (ds.created_by, ds.last_updated_by) == ("alice", "alice")
    assert ds.records[0].created_by == ds.records[0].last_updated_by == "alice"

    bob.set_dataset_tags(ds.dataset_id, {"reviewed": "yes"})
    bobs = bob.get_dataset(dataset_id=ds.dataset_id)
    bobs.merge_records([{"inputs": {"q": 1}, "outputs": "changed"}])
    seen = alice.get_dataset(dataset_id=ds.dataset_id)
    assert (seen.created_by, seen.last_updated_by) == ("alice", "bob")
    assert (seen.records[0].created_by, seen.records[0].last_updated_by) == ("alice", "bob")
    assert _users(alice, ds.dataset_id) == ["alice", "alice", "bob", "bob"]
    assert list(seen.history()["user"]) == ["alice", "alice", "bob", "bob"]


def test_a_client_without_a_user_acts_as_evalledger_user(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALLEDGER_USER", "carol")
    client = Client(db_url)
    assert client.user == "carol"
    ds = client.create_dataset("by-carol")
    assert ds.created_by == "carol"
    assert _users(client, ds.dataset_id) == ["carol"]
    assert Client(db_url, user="dave").user == "dave"  # an explicit user wins


def test_module_functions_act_as_evalledger_user(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    el.set_tracking_uri(db_url)
    monkeypatch.setenv("EVALLEDGER_USER", "erin")
    ds = el.create_dataset("by-env")
    monkeypatch.setenv("EVALLEDGER_USER", "frank")
    el.set_dataset_tags(ds.dataset_id, {"k": "v"})
    got = el.get_dataset(dataset_id=ds.dataset_id)
    assert (got.created_by, got.last_updated_by) == ("erin", "frank")


@pytest.mark.parametrize("user", ["", "   ", 5])
def test_a_client_user_must_be_a_non_empty_string(db_url: str, user: object) -> None:
    with pytest.raises(ValueError, match="user"):
        Client(db_url, user=user)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- version


def test_version_is_a_string_and_the_cli_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(el.__version__, str) and el.__version__
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"evalledger {el.__version__}"
