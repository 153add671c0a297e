"""Server users as a library (API.md §10): accounts and grants are events, secrets are only
salted slow hashes, and a check of a password or token sees every change at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from evalledger import Client, users
from evalledger.errors import (
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
    Unauthenticated,
)
from evalledger.ledger.schema import events
from evalledger.projections import event_types as et
from evalledger.projections.rebuild import check_projections, rebuild
from evalledger.projections.schema import user_grants
from evalledger.projections.schema import users as users_table
from evalledger.users.hashing import hash_secret, split_token, verify_secret

PASSWORD = "correct horse battery"


def _raw_ledger_text(client: Client) -> str:
    """Everything the events table holds, as the database returns it."""
    with client.store.engine.connect() as conn:
        rows = conn.execute(sa.select(events)).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def _login(client: Client, name: str, password: str) -> users.Account:
    with client.store.engine.connect() as conn:
        return users.check_login(conn, name, password)


def _token_login(client: Client, token: str) -> users.Account:
    with client.store.engine.connect() as conn:
        return users.check_token(conn, token)


def _user_events(client: Client) -> list:
    return [e for e in client.store.iter_all() if e.stream_type == et.USER_STREAM]


# --------------------------------------------------------------------------- hashing


def test_a_hash_is_salted_slow_and_never_the_secret() -> None:
    first, second = hash_secret(PASSWORD), hash_secret(PASSWORD)
    assert PASSWORD not in first
    assert first != second  # a fresh salt each time
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert salt and digest
    assert verify_secret(PASSWORD, first) and verify_secret(PASSWORD, second)
    assert not verify_secret(PASSWORD + "!", first)
    assert not verify_secret(PASSWORD, None)
    assert not verify_secret(PASSWORD, "scrypt$99999999$8$1$AAAA$AAAA")  # refused parameters
    assert not verify_secret(PASSWORD, "plain")


# --------------------------------------------------------------------------- the ledger


def test_no_clear_secret_reaches_the_events(client: Client) -> None:
    token = users.add_user(client.session, "rita", "reader", PASSWORD)
    new_token = users.new_user_token(client.session, "rita")
    users.set_password(client.session, "rita", PASSWORD + " 2")
    token_id, secret = split_token(token) or ("", "")
    _, new_secret = split_token(new_token) or ("", "")
    text = _raw_ledger_text(client)
    for clear in (PASSWORD, secret, new_secret, token, new_token):
        assert clear not in text
    assert token_id in text  # the public half finds the user
    payloads = [e.payload for e in _user_events(client)]
    assert [p.get("password_hash", "scrypt$")[:7] for p in payloads] == ["scrypt$"] * 3
    assert all(p["token_hash"].startswith("scrypt$") for p in payloads)


def test_each_change_is_an_event_by_the_acting_user(db_url: str) -> None:
    admin = Client(db_url, user="ada")
    experiment = admin.create_experiment("support")
    token = users.add_user(admin.session, "rita")
    assert token.startswith("evl_")
    assert users.set_role(admin.session, "rita", "editor")
    assert not users.set_role(admin.session, "rita", "editor")  # nothing to change
    assert users.grant(admin.session, "rita", experiment, "manage")
    assert not users.grant(admin.session, "rita", experiment, "manage")
    assert users.revoke_user(admin.session, "rita")
    assert not users.revoke_user(admin.session, "rita")
    written = _user_events(admin)
    assert [e.event_type for e in written] == [
        et.USER_ADDED,
        et.USER_ROLE_SET,
        et.PERMISSION_GRANTED,
        et.USER_REVOKED,
    ]
    assert {e.stream_id for e in written} == {et.user_stream_id("rita")}
    assert {e.metadata["user"] for e in written} == {"ada"}
    rita = users.get_user(admin.session, "rita")
    assert (rita.role, rita.revoked, rita.grants, rita.created_by) == (
        "editor",
        True,
        {experiment: "manage"},
        "ada",
    )
    assert not rita.has_password
    with admin.store.engine.connect() as conn:
        granted_by = conn.execute(sa.select(user_grants.c.granted_by)).scalar_one()
    assert granted_by == "ada"


def test_rebuild_recreates_the_users_and_their_grants(client: Client) -> None:
    first = client.create_experiment("a")
    second = client.create_experiment("b")
    users.add_user(client.session, "ada", "admin", PASSWORD)
    users.add_user(client.session, "rita")
    users.grant(client.session, "rita", first, "edit")
    users.grant(client.session, "rita", second, "read")
    users.grant(client.session, "rita", first, "none")  # withdrawn
    users.set_role(client.session, "ada", "editor")
    users.revoke_user(client.session, "ada")
    before = users.list_users(client.session)
    with client.store.engine.connect() as conn:
        hashes = conn.execute(sa.select(users_table).order_by(users_table.c.name)).all()
    assert check_projections(client.store).ok
    rebuild(client.store)
    assert users.list_users(client.session) == before
    with client.store.engine.connect() as conn:
        assert conn.execute(sa.select(users_table).order_by(users_table.c.name)).all() == hashes
    assert [u.name for u in before] == ["ada", "rita"]
    assert before[1].grants == {second: "read"}
    assert (before[0].role, before[0].revoked) == ("editor", True)
    with pytest.raises(Unauthenticated, match="revoked"):
        _login(client, "ada", PASSWORD)


def test_bad_names_roles_permissions_and_passwords_write_nothing(client: Client) -> None:
    users.add_user(client.session, "rita")
    count = len(_user_events(client))
    with pytest.raises(ResourceAlreadyExists, match="rita"):
        users.add_user(client.session, "rita")
    with pytest.raises(InvalidParameter, match="role") as caught:
        users.add_user(client.session, "bob", "boss")
    assert caught.value.field == "role"
    for bad in ("", "a:b", "with space", "x" * 129, " lead"):
        with pytest.raises(InvalidParameter, match="name"):
            users.add_user(client.session, bad)
    with pytest.raises(InvalidParameter, match="at least 8") as short:
        users.add_user(client.session, "bob", password="short")
    assert "short" not in str(short.value)  # a password is never repeated
    with pytest.raises(ResourceNotFound, match="zed"):
        users.set_role(client.session, "zed", "editor")
    with pytest.raises(InvalidParameter, match="permission"):
        users.grant(client.session, "rita", "0", "owner")
    with pytest.raises(ResourceNotFound, match="experiment '42'"):
        users.grant(client.session, "rita", "42", "read")
    users.revoke_user(client.session, "rita")
    with pytest.raises(InvalidParameter, match="revoked"):
        users.new_user_token(client.session, "rita")
    assert len(_user_events(client)) == count + 1  # only the revoke


# --------------------------------------------------------------------------- checks


def test_a_password_or_token_works_until_it_is_changed_or_revoked(client: Client) -> None:
    token = users.add_user(client.session, "rita", "reader", PASSWORD)
    assert _login(client, "rita", PASSWORD).name == "rita"
    assert _login(client, "rita", token).name == "rita"  # the token as a Basic password
    assert _token_login(client, token).role == "reader"
    for name, password in (("rita", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthenticated) as caught:
            _login(client, name, password)
        assert password not in caught.value.message
    with pytest.raises(Unauthenticated):
        _token_login(client, token[:-2] + "xx")
    with pytest.raises(Unauthenticated):
        _token_login(client, "not-a-token")

    # a successful check is cached, but never outlives the credentials it checked
    users.set_password(client.session, "rita", PASSWORD + "!")
    with pytest.raises(Unauthenticated):
        _login(client, "rita", PASSWORD)
    assert _login(client, "rita", PASSWORD + "!").name == "rita"
    assert _token_login(client, token).name == "rita"  # the token was kept
    newer = users.new_user_token(client.session, "rita")
    with pytest.raises(Unauthenticated):
        _token_login(client, token)
    assert _token_login(client, newer).name == "rita"
    users.revoke_user(client.session, "rita")
    with pytest.raises(Unauthenticated, match="revoked"):
        _token_login(client, newer)
    with pytest.raises(Unauthenticated, match="revoked"):
        _login(client, "rita", PASSWORD + "!")


def test_the_cache_of_successful_checks_is_bounded(client: Client) -> None:
    cache = users.VerifiedSecrets(size=2)
    stored = hash_secret(PASSWORD)
    for name in ("a", "b", "c"):
        assert cache.verify(name, PASSWORD, stored)
    assert len(cache) == 2
    assert not cache.verify("a", "wrong password", stored)
    assert len(cache) == 2  # failures are not remembered
