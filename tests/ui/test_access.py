"""The UI without JavaScript (the same export as plain forms and pages), and with
authentication on: the signed-in user's name, write controls only for who may write, and
every write recorded under the authenticated user."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect
from ui_browser import new_ui, ui_server
from ui_seed import seed_traces

from evalledger import Client, users

RITA = ("rita", "rita reads everything")


class TestWithoutJavaScript:
    backend = "sqlite"

    @pytest.fixture
    def plain(self, browser: Browser, server_url: str, request, tmp_path: Path) -> Iterator:
        with new_ui(browser, server_url, request, tmp_path, java_script_enabled=False) as ui:
            yield ui

    def test_the_export_works_as_plain_forms(self, plain, db_url) -> None:
        seed = seed_traces(db_url)
        page = plain.open(f"/experiments/{seed.experiment_id}/traces")
        expect(page.get_by_role("button", name="Actions")).to_be_hidden()
        chosen = seed.trace_ids[1:]
        for trace_id in chosen:
            page.get_by_label(f"Select trace {trace_id}").check()
        plain.shoot("traces")
        page.get_by_role("button", name="Add to evaluation dataset").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Export traces to evaluation dataset"
        )
        expect(page.locator("main")).to_contain_text("2 traces selected")
        page.get_by_label("Name").fill("plain-golden")
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Created dataset plain-golden")
        plain.shoot("created")
        page.get_by_role("button", name="Export to plain-golden").click()
        expect(page.get_by_role("status")).to_have_text(
            "2 records added, 0 updated to plain-golden."
        )
        plain.shoot("exported")
        dataset = Client(db_url).get_dataset(name="plain-golden")
        assert dataset.version == 1
        assert sorted(r.source_id for r in dataset.records) == sorted(chosen)

        # the same traces again: nothing changes, no version; a new expectation: 1 updated
        page.go_back()
        page.get_by_role("button", name="Export to plain-golden").click()
        expect(page.get_by_role("status")).to_have_text(
            "0 records added, 0 updated to plain-golden."
        )
        plain.shoot("exported-again")
        Client(db_url).log_expectation(chosen[0], "expected_answer", "Settings, Export.")
        page.go_back()
        page.get_by_role("button", name="Export to plain-golden").click()
        expect(page.get_by_role("status")).to_have_text(
            "0 records added, 1 updated to plain-golden."
        )
        plain.shoot("exported-an-update")
        assert Client(db_url).get_dataset(name="plain-golden").version == 2


class TestAsAReader:
    backend = "sqlite"

    @pytest.fixture
    def setup(self, db_url: str) -> tuple[str, str]:
        """rita reads every experiment and may edit `granted` only."""
        admin = Client(db_url, user="setup")
        users.add_user(admin.session, *RITA[:1], "reader", RITA[1])
        granted = seed_traces(db_url, "granted").experiment_id
        other = seed_traces(db_url, "read-only").experiment_id
        users.grant(admin.session, "rita", granted, "edit")
        return granted, other

    @pytest.fixture
    def auth_url(self, db_url: str, setup: tuple[str, str]) -> Iterator[str]:
        with ui_server(db_url, auth=True) as url:
            yield url

    @pytest.fixture
    def rita(self, browser: Browser, auth_url: str, request, tmp_path: Path) -> Iterator:
        # HTTP Basic on every request (a page load without credentials or a login session
        # goes to the login page, so the browser never gets a challenge to answer)
        basic = base64.b64encode(f"{RITA[0]}:{RITA[1]}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        with new_ui(browser, auth_url, request, tmp_path, extra_http_headers=headers) as ui:
            yield ui

    def test_write_controls_only_where_she_may_write(self, rita, setup, auth_url, db_url) -> None:
        granted, other = setup
        page = rita.open(f"/experiments/{other}/traces")
        expect(page.get_by_text("Signed in as rita")).to_be_visible()
        expect(page.locator("tbody tr")).to_have_count(3)
        expect(page.get_by_role("button", name="Actions")).to_have_count(0)
        expect(page.get_by_role("checkbox")).to_have_count(0)
        rita.shoot("read-only-traces")
        page.locator("td.trace-id a").first.click()
        expect(page.get_by_role("heading", name="Spans")).to_be_visible()
        expect(page.get_by_role("form", name="Log an expectation")).to_have_count(0)
        rita.shoot("read-only-trace")
        rita.open(f"/experiments/{other}/datasets")
        expect(page.get_by_role("button", name="Create", exact=True)).to_have_count(0)
        rita.shoot("read-only-datasets")

        # a forged post is refused even with a valid token
        session = requests.Session()
        session.auth = RITA
        listing = session.get(f"{auth_url}/experiments/{granted}/traces")
        token = re.search(r'name="csrf_token" value="([^"]+)"', listing.text).group(1)
        refused = session.post(
            f"{auth_url}/experiments/{other}/datasets", data={"name": "x", "csrf_token": token}
        )
        assert refused.status_code == 403
        assert Client(db_url).search_datasets() == []
        anonymous = requests.get(f"{auth_url}/experiments", allow_redirects=False)
        assert (anonymous.status_code, anonymous.headers["location"]) == (
            303,
            "/login?next=%2Fexperiments",
        )

        page = rita.open(f"/experiments/{granted}/traces")
        expect(page.get_by_role("button", name="Actions")).to_be_visible()
        rita.shoot("granted-traces")
        page.get_by_role("checkbox").nth(1).check()
        page.get_by_role("button", name="Actions").click()
        page.get_by_role("menuitem", name="Add to evaluation dataset").click()
        page.get_by_role("button", name="Create new dataset").click()
        create = page.get_by_role("dialog", name="Create Dataset")
        create.get_by_label("Name").fill("ritas-set")
        create.get_by_role("button", name="Create", exact=True).click()
        page.get_by_role("button", name="Export to ritas-set").click()
        expect(page.get_by_role("status")).to_have_text("1 record added, 0 updated to ritas-set.")
        rita.shoot("exported-as-rita")
        dataset = Client(db_url).get_dataset(name="ritas-set")
        assert (dataset.created_by, dataset.last_updated_by) == ("rita", "rita")
