"""Signing in to the web UI of `evalledger server --auth` (API.md §10, §11): pages without
a session go to the login page; an editor signs in (an HttpOnly, SameSite session cookie)
and every change is recorded under their name; a reader sees no write controls and a
forged post is refused; a post without the session's CSRF token writes nothing; signing
out ends the session for every server process (it lives in the database). HTTP Basic and
bearer credentials keep working, and the JSON API does not take the UI's cookie."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from ui_browser import Ui, new_ui, ui_server

from evalledger import Client, users
from evalledger.projections import event_types as et
from evalledger.projections.rebuild import check_projections
from evalledger.projections.schema import ui_sessions
from evalledger.server.ui import sessions

PASSWORDS = {"eddie": "eddie edits the golden sets", "rita": "rita reads everything"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Golden:
    """A dataset at version 2 (v1 merged two records, v2 changed one) and its records."""

    dataset_id: str
    record_ids: list[str]


@pytest.fixture
def golden(db_url: str) -> Golden:
    """eddie (editor) and rita (reader), and the dataset they look at."""
    admin = Client(db_url, user="setup")
    users.add_user(admin.session, "eddie", "editor", PASSWORDS["eddie"])
    users.add_user(admin.session, "rita", "reader", PASSWORDS["rita"])
    experiment = admin.create_experiment("support")
    dataset = admin.create_dataset("golden", experiment)
    dataset.merge_records(
        [
            {"inputs": {"q": "reset password?"}, "expectations": {"answer": "the link"}},
            {"inputs": {"q": "export data?"}, "expectations": {"answer": "Settings"}},
        ]
    )
    dataset.merge_records([{"inputs": {"q": "reset password?"}, "expectations": {"answer": "x"}}])
    return Golden(dataset.dataset_id, [r.dataset_record_id for r in dataset.records])


@pytest.fixture
def auth_url(db_url: str, golden: Golden) -> Iterator[str]:
    """A server with --auth on this test's database."""
    with ui_server(db_url, auth=True) as url:
        yield url


@pytest.fixture
def visitor(browser: Browser, auth_url: str, request, tmp_path: Path) -> Iterator[Ui]:
    """A browser with no credentials of its own."""
    with new_ui(browser, auth_url, request, tmp_path) as ui:
        yield ui


def sign_in(ui: Ui, name: str, path: str) -> Page:
    """Open `path`, be sent to the login page, sign in, and be back at `path`."""
    page = ui.open(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    assert page.url == ui.url + path
    return page


def users_of_events(db_url: str, after: int) -> set[str]:
    """Who wrote the dataset and label events after ledger position `after`."""
    return {
        e.metadata["user"]
        for e in Client(db_url).store.iter_all(after)
        if e.stream_type in (et.DATASET_STREAM, et.LABEL_STREAM)
    }


def head(db_url: str) -> int:
    return Client(db_url).store.head().position


class TestSignedIn:
    backend = "sqlite"

    def test_an_editor_signs_in_and_every_change_is_theirs(
        self, visitor: Ui, golden: Golden, db_url: str
    ) -> None:
        labels_path = f"/datasets/{golden.dataset_id}/labels"
        page = visitor.open(labels_path)
        expect(page.get_by_role("heading", name="Sign in to evalledger")).to_be_visible()
        visitor.shoot("login")
        page.get_by_label("User name").fill("eddie")
        page.get_by_label("Password").fill("not his password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 401
        expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        visitor.shoot("wrong-password")
        assert all(c["name"] != sessions.COOKIE for c in page.context.cookies())

        start = head(db_url)
        page = sign_in(visitor, "eddie", labels_path)
        cookie = next(c for c in page.context.cookies() if c["name"] == sessions.COOKIE)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        visitor.shoot("signed-in")

        page.get_by_label("Label", exact=True).fill("golden")
        page.get_by_label("Version", exact=True).select_option("1")
        page.get_by_role("button", name="Save label").click()
        expect(page.locator("table.label-moves tbody tr").first).to_contain_text("eddie")
        visitor.shoot("label-by-eddie")

        visitor.open(f"/datasets/{golden.dataset_id}/records/{golden.record_ids[1]}")
        page.get_by_label("Expectations (JSON object)").fill('{"answer": "Settings, Export"}')
        page.get_by_role("button", name="Save expectations").click()
        expect(page.get_by_role("status")).to_contain_text("Expectations saved: version 3")
        expect(page.locator("table.record-history tbody tr").first).to_contain_text("eddie")

        visitor.open(f"/datasets/{golden.dataset_id}/history")
        page.get_by_role("button", name="Restore version 1").click()
        page.get_by_role("dialog").get_by_role("button", name="Restore version 1").click()
        expect(page.get_by_role("status")).to_contain_text("Version 4: eddie restored version 1")
        visitor.shoot("restored-by-eddie")

        dataset = Client(db_url).get_dataset(dataset_id=golden.dataset_id)
        assert list(dataset.history()["user"])[-2:] == ["eddie", "eddie"]
        assert users_of_events(db_url, start) == {"eddie"}

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to evalledger")).to_be_visible()
        assert all(c["name"] != sessions.COOKIE for c in page.context.cookies())
        page = visitor.open("/datasets")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fdatasets$"))
        # the cookie of the ended session is worth nothing, in any process
        gone = requests.get(
            f"{visitor.url}/datasets",
            cookies={sessions.COOKIE: cookie["value"]},
            allow_redirects=False,
        )
        assert gone.status_code == 303
        assert gone.headers["location"] == "/login?next=%2Fdatasets"

    def test_a_reader_sees_no_write_controls_and_a_forged_post_is_refused(
        self, visitor: Ui, golden: Golden, db_url: str
    ) -> None:
        base = f"/datasets/{golden.dataset_id}"
        page = sign_in(visitor, "rita", base)
        expect(page.locator("table.records tbody tr")).to_have_count(2)
        expect(page.get_by_role("checkbox")).to_have_count(0)
        expect(page.get_by_role("button", name="Delete selected records")).to_have_count(0)
        visitor.shoot("reader-dataset")
        visitor.open(f"{base}/history")
        expect(page.locator("table.history tbody tr")).to_have_count(3)
        expect(page.get_by_role("button", name=re.compile("Restore"))).to_have_count(0)
        visitor.shoot("reader-history")
        visitor.open(f"{base}/labels")
        expect(page.get_by_role("button", name="Save label")).to_have_count(0)
        visitor.open(f"{base}/records/{golden.record_ids[0]}")
        expect(page.get_by_label("Expectations (JSON object)")).to_have_count(0)
        expect(page.get_by_role("button", name="Delete record")).to_have_count(0)
        visitor.shoot("reader-record")

        # her own session's token does not make her an editor
        token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
        start = head(db_url)
        forged = {
            f"{base}/restore": {"version": "1", "confirmed": "yes"},
            f"{base}/labels": {"label": "mine", "version": "1"},
            f"{base}/records/{golden.record_ids[0]}/expectations": {"expectations": "{}"},
            f"{base}/records/delete": {"record_id": golden.record_ids[0], "confirmed": "yes"},
            f"{base}/undelete": {},
        }
        for path, form in forged.items():
            refused = page.request.post(visitor.url + path, form={**form, "csrf_token": token})
            assert refused.status == 403, path
            assert "rita" in refused.text()
        assert head(db_url) == start  # nothing written
        assert Client(db_url).get_dataset(dataset_id=golden.dataset_id).version == 2

        # who she is is read on every request: made an editor, she gets the controls;
        # revoked, her session opens nothing
        admin = Client(db_url, user="setup")
        users.set_role(admin.session, "rita", "editor")
        visitor.open(f"{base}/history")
        expect(page.get_by_role("button", name="Restore version 1")).to_be_visible()
        users.revoke_user(admin.session, "rita")
        visitor.open(f"{base}/history")
        expect(page).to_have_url(re.compile(r"/login\?next="))


class TestSessionsAndCsrf:
    backend = "sqlite"

    def test_a_post_needs_the_sessions_csrf_token(
        self, auth_url: str, golden: Golden, db_url: str
    ) -> None:
        browser = requests.Session()
        login = browser.get(f"{auth_url}/login")
        assert login.status_code == 200
        before_token = TOKEN.search(login.text).group(1)
        form = {"username": "eddie", "password": PASSWORDS["eddie"], "next": "/datasets"}
        refused = browser.post(f"{auth_url}/login", data=form, allow_redirects=False)
        assert refused.status_code == 403  # the login form is protected too
        assert sessions.COOKIE not in browser.cookies
        signed = browser.post(
            f"{auth_url}/login", data={**form, "csrf_token": before_token}, allow_redirects=False
        )
        assert (signed.status_code, signed.headers["location"]) == (303, "/datasets")
        assert "HttpOnly" in signed.headers["set-cookie"]
        assert "SameSite=lax" in signed.headers["set-cookie"]

        record = f"{auth_url}/datasets/{golden.dataset_id}/records/{golden.record_ids[0]}"
        page = browser.get(record)
        token = TOKEN.search(page.text).group(1)
        assert token != before_token  # a signed-in browser's token is its session's
        edit = f"{record}/expectations"
        start = head(db_url)
        for tried in ({}, {"csrf_token": "x" * 43}, {"csrf_token": before_token}):
            answer = browser.post(edit, data={"expectations": '{"answer": "y"}', **tried})
            assert answer.status_code == 403
            assert "security token" in answer.text
        assert head(db_url) == start
        saved = browser.post(
            edit,
            data={"expectations": '{"answer": "y"}', "csrf_token": token},
            allow_redirects=False,
        )
        assert saved.status_code == 303
        assert Client(db_url).get_dataset(dataset_id=golden.dataset_id).version == 3

        # the JSON API takes credentials, not the UI's cookie; Basic still opens the UI
        api = f"{auth_url}/api/evalledger/v1/datasets/{golden.dataset_id}"
        assert browser.get(api).status_code == 401
        assert requests.get(api, auth=("eddie", PASSWORDS["eddie"])).status_code == 200
        basic = requests.get(
            f"{auth_url}/datasets/{golden.dataset_id}/history", auth=("rita", PASSWORDS["rita"])
        )
        assert basic.status_code == 200 and "Signed in as <strong>rita</strong>" in basic.text
        assert "Sign out" not in basic.text  # nothing to sign out of: no session
        wrong = requests.get(f"{auth_url}/datasets", auth=("rita", "nope"), allow_redirects=False)
        assert wrong.status_code == 401  # wrong credentials are an answer, not a redirect

        # signing out needs the token too, then the session is gone
        kept = browser.post(f"{auth_url}/logout", data={}, allow_redirects=False)
        assert kept.status_code == 403
        assert browser.get(f"{auth_url}/datasets", allow_redirects=False).status_code == 200
        out = browser.post(f"{auth_url}/logout", data={"csrf_token": token}, allow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, "/login")
        after = browser.get(f"{auth_url}/datasets", allow_redirects=False)
        assert after.status_code == 303


def test_sessions_live_in_the_database_and_are_not_projections(db_url: str) -> None:
    """On every backend: a session is found by its secret's hash (the secret is not
    stored), ends when signed out or expired, and leaves the ledger's checks alone."""
    store = Client(db_url).store
    secret, session = sessions.start(store.engine, "eddie")
    assert sessions.find(store.engine, secret) == session
    assert sessions.find(store.engine, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert sessions.find(store.engine, "not a cookie") is None
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(ui_sessions)).all()
    assert len(rows) == 1 and secret not in [str(v) for v in rows[0]]

    other, _ = sessions.start(store.engine, "rita")
    with store.engine.begin() as conn:
        conn.execute(sa.update(ui_sessions).values(expires_ms=0))
    assert sessions.find(store.engine, other) is None  # expired
    third, _ = sessions.start(store.engine, "rita")  # and expired rows are cleared
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ui_sessions)).scalar() == 1
    sessions.end(store.engine, third)
    assert sessions.find(store.engine, third) is None
    assert check_projections(store).difference is None
