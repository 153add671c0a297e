"""`evalledger users` (API.md §10): tokens printed once on the last line, the list, one-line
errors, and the CLI's user recorded as the one who made each change."""

from __future__ import annotations

import io

import orjson
import pytest
from cli_helpers import one_line_error, run

from evalledger import Client, users
from evalledger.errors import Unauthenticated
from evalledger.projections import event_types as et

PASSWORD = "correct horse battery"


def _add(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    *args: str,
    stdin: str | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run(capsys, db_url, "users", "add", *args)


def test_add_prints_the_token_once_alone_on_the_last_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("EVALLEDGER_USER", "ops")
    code, out, err = _add(capsys, monkeypatch, db_url, "ada", "--role", "admin")
    assert code == 0 and err == ""
    lines = out.splitlines()
    token = lines[-1]
    assert token.startswith("evl_") and " " not in token
    assert out.count(token) == 1
    assert "'ada' (admin)" in lines[0] and "only this once" in lines[0]
    client = Client(db_url, user="auditor")
    with client.store.engine.connect() as conn:
        assert users.check_token(conn, token).name == "ada"
    added = [e for e in client.store.iter_all() if e.event_type == et.USER_ADDED]
    assert [e.metadata["user"] for e in added] == ["ops"]  # the CLI's user acted

    # --password-stdin: the newline that ends the line is not part of the password
    code, out, _ = _add(
        capsys, monkeypatch, db_url, "rita", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "a password and a token" in out
    assert PASSWORD not in out
    with client.store.engine.connect() as conn:
        assert users.check_login(conn, "rita", PASSWORD).role == "reader"


def test_list_shows_roles_revocations_and_grants(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    code, out, _ = run(capsys, db_url, "users", "list")
    assert code == 0 and out.startswith("no users")
    experiment = Client(db_url).create_experiment("support")
    _add(capsys, monkeypatch, db_url, "ada", "--role", "admin")
    _add(capsys, monkeypatch, db_url, "rita", "--password-stdin", stdin=PASSWORD)
    assert run(capsys, db_url, "users", "grant", "rita", experiment, "edit")[0] == 0
    code, out, _ = run(capsys, db_url, "users", "set-role", "ada", "editor")
    assert code == 0 and "now has the role editor" in out
    code, out, _ = run(capsys, db_url, "users", "set-role", "ada", "editor")
    assert code == 0 and "nothing changed" in out
    code, out, _ = run(capsys, db_url, "users", "revoke", "ada")
    assert code == 0 and "revoked user 'ada'" in out

    code, out, _ = run(capsys, db_url, "users", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "role", "revoked", "password", "grants", "created"]
    assert lines[2].split()[:5] == ["ada", "editor", "yes", "no", "-"]
    assert lines[3].split()[:5] == ["rita", "reader", "no", "yes", f"{experiment}:edit"]
    assert lines[-1] == "2 users (1 revoked)"

    code, out, _ = run(capsys, db_url, "users", "list", "--json")
    listed = {u["name"]: u for u in orjson.loads(out)["users"]}
    assert listed["rita"]["grants"] == {experiment: "edit"}
    assert (listed["ada"]["role"], listed["ada"]["revoked"]) == ("editor", True)
    assert not any("hash" in key for user in listed.values() for key in user)

    code, out, _ = run(capsys, db_url, "users", "grant", "rita", experiment, "none")
    assert code == 0 and "withdrew" in out
    code, out, _ = run(capsys, db_url, "users", "list", "--json")
    assert orjson.loads(out)["users"][1]["grants"] == {}


def test_new_token_and_set_password_replace_the_old_ones(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    old = _add(capsys, monkeypatch, db_url, "rita")[1].splitlines()[-1]
    code, out, _ = run(capsys, db_url, "users", "new-token", "rita")
    new = out.splitlines()[-1]
    assert code == 0 and new.startswith("evl_") and new != old
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = run(capsys, db_url, "users", "set-password", "rita", "--password-stdin")
    assert code == 0 and PASSWORD not in out
    client = Client(db_url)
    with client.store.engine.connect() as conn:
        assert users.check_token(conn, new).name == "rita"
        assert users.check_login(conn, "rita", PASSWORD).name == "rita"
        with pytest.raises(Unauthenticated):
            users.check_token(conn, old)


def test_mistakes_exit_1_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    _add(capsys, monkeypatch, db_url, "rita")
    cases = [
        (("users", "add", "rita"), "already exists"),
        (("users", "add", "bob", "--role", "boss"), "'boss' is not a role"),
        (("users", "set-role", "zed", "editor"), "no user 'zed'"),
        (("users", "set-role", "rita", "root"), "'root' is not a role"),
        (("users", "revoke", "zed"), "no user 'zed'"),
        (("users", "grant", "rita", "0", "owner"), "'owner' is not a permission"),
        (("users", "grant", "rita", "99", "read"), "experiment '99' does not exist"),
        (("users", "add", "a:b"), "is not a user name"),
        (("users", "new-token", "zed"), "no user 'zed'"),
    ]
    for args, message in cases:
        code, out, err = run(capsys, db_url, *args)
        assert code == 1, args
        assert message in one_line_error(err), args
        assert "evl_" not in out
    code, _, err = _add(capsys, monkeypatch, db_url, "bob", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 8 characters" in one_line_error(err)
    assert "short" not in err  # the password is never repeated
    assert [u.name for u in users.list_users(Client(db_url).session)] == ["rita"]
