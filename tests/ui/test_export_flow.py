"""The seed page's UI flow in a real browser (API.md §11): Experiments, the experiment,
Traces, tick two traces, Actions, Add to evaluation dataset, Create new dataset, Create,
Export; then the trace table's filter, sorting and pages, a trace's page with its spans and
the expectation form, the CSRF check, and missing things in words."""

from __future__ import annotations

import re

import requests
import sqlalchemy as sa
from playwright.sync_api import expect
from ui_browser import new_ui
from ui_seed import START_MS, import_mlflow_trace, seed_traces

from evalledger import Client
from evalledger.server.ui.csrf import COOKIE

TRACE_ID_CELLS = "tbody td.trace-id"


def event_count(db_url: str) -> int:
    with Client(db_url).store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()


class TestSeedFlow:
    backend = "sqlite"

    def test_two_traces_exported_to_a_new_dataset_in_one_version(self, ui, db_url) -> None:
        seed = seed_traces(db_url)
        page = ui.open("/")
        ui.shoot("home")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Experiments")
        ui.shoot("experiments")
        page.get_by_role("link", name=seed.name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(seed.name)
        ui.shoot("experiment")
        page.get_by_role("link", name="Traces", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Traces of {seed.name}")
        expect(page.locator("tbody tr")).to_have_count(3)
        expect(page.locator("tbody")).to_contain_text("expected_answer")  # assessments
        expect(page.locator("tbody")).to_contain_text("staging")  # tags
        ui.shoot("traces")

        select_all = page.get_by_label("Select all traces on this page")
        rows = [page.get_by_label(f"Select trace {t}") for t in seed.trace_ids]
        select_all.check()
        for row in rows:
            expect(row).to_be_checked()
        expect(page.get_by_text("3 traces selected")).to_be_visible()
        select_all.uncheck()
        for row in rows:
            expect(row).not_to_be_checked()
        chosen = seed.trace_ids[:2]
        for trace_id in chosen:
            page.get_by_label(f"Select trace {trace_id}").check()
        expect(page.get_by_text("2 traces selected")).to_be_visible()
        assert select_all.evaluate("box => box.indeterminate")
        ui.shoot("traces-selected")

        page.get_by_role("button", name="Actions").click()
        page.get_by_role("menuitem", name="Add to evaluation dataset").click()
        export = page.get_by_role("dialog", name="Export traces to evaluation dataset")
        expect(export).to_be_visible()
        expect(export).to_contain_text("2 traces selected")
        expect(export).to_contain_text("no datasets yet")
        ui.shoot("export-dialog")
        export.get_by_role("button", name="Create new dataset").click()
        create = page.get_by_role("dialog", name="Create Dataset")
        expect(create).to_be_visible()
        create.get_by_label("Name").fill("support-golden")
        ui.shoot("create-dialog")
        create.get_by_role("button", name="Create", exact=True).click()
        expect(create).to_be_hidden()
        export_button = export.get_by_role("button", name="Export to support-golden")
        expect(export_button).to_be_visible()
        expect(export_button).to_have_text("Export")
        ui.shoot("dataset-listed")
        export.get_by_role("button", name="Create new dataset").click()  # the name is taken now
        create.get_by_label("Name").fill("support-golden")
        create.get_by_role("button", name="Create", exact=True).click()
        expect(create.get_by_role("alert")).to_contain_text("already exists")
        ui.shoot("create-dialog-duplicate")
        create.get_by_role("button", name="Cancel").click()
        expect(create).to_be_hidden()
        expect(export.get_by_role("button", name="Export to support-golden")).to_have_count(1)
        export_button.click()

        expect(page.get_by_role("status")).to_have_text(
            "2 records added, 0 updated to support-golden."
        )
        ui.shoot("exported")
        dataset = Client(db_url).get_dataset(name="support-golden")
        assert dataset.version == 1  # created at 0, the export is ONE commit
        assert list(dataset.history()["operation"]) == ["CREATE", "MERGE"]
        frame = dataset.to_df()
        assert sorted(frame["source_id"]) == sorted(chosen)
        assert set(frame["source_type"]) == {"TRACE"}
        by_trace = dict(zip(frame["source_id"], frame["expectations"], strict=True))
        assert by_trace[seed.expected] == {"expected_answer": "Use the reset link."}
        assert by_trace[chosen[1]] == {}
        inputs = dict(zip(frame["source_id"], frame["inputs"], strict=True))
        assert inputs[seed.expected] == {"question": "How do I reset my password?"}

        page.get_by_role("link", name="Open support-golden").click()
        expect(page.locator("table.records tbody tr")).to_have_count(2)
        expect(page.get_by_role("navigation", name="Dataset")).to_contain_text("History")
        ui.shoot("dataset")

    def test_a_bad_filter_shows_its_error_and_the_page_still_renders(self, ui, db_url) -> None:
        seed = seed_traces(db_url)
        page = ui.open(f"/experiments/{seed.experiment_id}/traces")
        page.get_by_label("Filter traces").fill("attributes.name = ")
        page.get_by_role("button", name="Search").click()
        error = page.get_by_role("alert")
        expect(error).to_contain_text("expected a value after '=' at position 18")
        expect(page.get_by_label("Filter traces")).to_have_value("attributes.name = ")
        expect(page.get_by_role("link", name="Traces", exact=True)).to_be_visible()
        ui.shoot("bad-filter")

        page.get_by_label("Filter traces").fill("tags.env = 'prod'")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("alert")).to_have_count(0)
        expect(page.locator(TRACE_ID_CELLS)).to_have_count(2)
        ui.shoot("filtered")

    def test_sorting_by_time_and_latency(self, ui, db_url) -> None:
        seed = seed_traces(db_url)
        first, second, third = seed.trace_ids  # latencies 420, 1351, 97 ms
        page = ui.open(f"/experiments/{seed.experiment_id}/traces")
        cells = page.locator(TRACE_ID_CELLS)
        expect(cells).to_have_text([third, second, first])  # newest first
        ui.shoot("by-time-newest-first")
        page.get_by_role("link", name="Latency").click()
        expect(cells).to_have_text([second, first, third])
        expect(page.get_by_role("columnheader", name="Latency")).to_have_attribute(
            "aria-sort", "descending"
        )
        ui.shoot("by-latency-slowest-first")
        page.get_by_role("link", name="Latency").click()
        expect(cells).to_have_text([third, first, second])
        ui.shoot("by-latency-fastest-first")
        page.get_by_role("link", name="Time").click()
        expect(cells).to_have_text([third, second, first])
        page.get_by_role("link", name="Time").click()
        expect(cells).to_have_text([first, second, third])
        ui.shoot("by-time-oldest-first")

    def test_times_read_in_the_readers_time_zone(
        self, browser, server_url, db_url, request, tmp_path
    ) -> None:
        seed = seed_traces(db_url)
        with new_ui(browser, server_url, request, tmp_path, timezone_id="Asia/Tokyo") as ui:
            page = ui.open(f"/experiments/{seed.experiment_id}/traces")
            first = page.locator("tbody tr").last.locator("time")
            expect(first).to_have_attribute("data-epoch-ms", str(START_MS))
            expect(first).to_have_attribute("title", "2026-09-21 14:13:20 UTC")
            expect(first).to_have_text("Sep 21, 2026, 11:13:20 PM")  # UTC+9
            ui.shoot("tokyo")

    def test_keyset_pages_of_the_trace_table(self, ui, db_url) -> None:
        seed = seed_traces(db_url, count=12)
        page = ui.open(f"/experiments/{seed.experiment_id}/traces?max_results=5")
        seen: list[str] = []
        for expected in (5, 5, 2):
            cells = page.locator(TRACE_ID_CELLS)
            expect(cells).to_have_count(expected)
            seen += cells.all_inner_texts()
            ui.shoot(f"page-{len(seen)}")
            if len(seen) < 12:
                page.get_by_role("link", name="Next page").click()
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        assert seen == list(reversed(seed.trace_ids))
        page.get_by_role("link", name="First page").click()
        expect(page.locator(TRACE_ID_CELLS)).to_have_count(5)

    def test_a_trace_page_shows_spans_and_logs_an_expectation(self, ui, db_url) -> None:
        seed = seed_traces(db_url)
        trace_id = import_mlflow_trace(db_url, seed.experiment_id)
        page = ui.open(f"/experiments/{seed.experiment_id}/traces")
        ui.shoot("traces")
        page.get_by_role("link", name=trace_id).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Trace {trace_id}")
        spans = page.locator(".span-tree")
        expect(spans.locator(".span-name")).to_have_count(3)
        trace = Client(db_url).get_trace(trace_id)
        for span in trace.data.spans:
            expect(spans).to_contain_text(span.name)
        root_inputs = spans.locator("details", has_text="Inputs").first
        root_inputs.locator("summary").click()
        expect(root_inputs.locator("pre")).to_contain_text('"question"')
        ui.shoot("trace")

        form = page.get_by_role("form", name="Log an expectation")
        form.get_by_label("Name").fill("expected_answer")
        form.get_by_label("Value").fill("not json")
        form.get_by_role("button", name="Log expectation").click()
        expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
        ui.shoot("expectation-error")
        form = page.get_by_role("form", name="Log an expectation")
        expect(form.get_by_label("Value")).to_have_value("not json")
        form.get_by_label("Value").fill('{"answer": "Reset it from the sign-in page"}')
        form.get_by_role("button", name="Log expectation").click()
        assessments = page.locator("#assessments table")
        row = assessments.locator("tr", has_text="Reset it from the sign-in page")
        expect(row).to_contain_text("expected_answer")
        expect(row).to_contain_text("current")
        ui.shoot("expectation-logged")
        found = [a for a in Client(db_url).get_trace(trace_id).info.assessments if a.valid]
        current = {a.name: a.value for a in found if a.kind == "expectation"}
        assert current["expected_answer"] == {"answer": "Reset it from the sign-in page"}
        assert any(a.source.source_type == "HUMAN" for a in found)

        page.get_by_role("form", name="Log an expectation").get_by_label("Name").fill("tone")
        page.get_by_role("form", name="Log an expectation").get_by_label("Value").fill("friendly")
        page.get_by_label("Text").check()
        page.get_by_role("button", name="Log expectation").click()
        expect(assessments).to_contain_text("friendly")
        ui.shoot("text-expectation-logged")
        tone = [a for a in Client(db_url).get_trace(trace_id).info.assessments if a.name == "tone"]
        assert [a.value for a in tone] == ["friendly"]

    def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(
        self, server_url, db_url
    ) -> None:
        seed = seed_traces(db_url)
        browser_like = requests.Session()
        page = browser_like.get(f"{server_url}/experiments/{seed.experiment_id}/traces")
        assert page.status_code == 200
        cookie = browser_like.cookies.get(COOKIE)
        assert cookie and "HttpOnly" in page.headers["set-cookie"]
        assert "SameSite=strict" in page.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        assert token == cookie
        dataset = Client(db_url).create_dataset("target", seed.experiment_id)
        before = event_count(db_url)
        posts = [
            (f"/experiments/{seed.experiment_id}/datasets", {"name": "sneaky"}),
            (
                f"/experiments/{seed.experiment_id}/export",
                {"dataset_id": dataset.dataset_id, "trace_id": seed.trace_ids},
            ),
            (f"/traces/{seed.expected}/expectations", {"name": "x", "value": "1"}),
        ]
        for path, form in posts:
            for extra in ({}, {"csrf_token": "x" * 43}, {"csrf_token": ""}):
                answer = browser_like.post(server_url + path, data={**form, **extra})
                assert answer.status_code == 403, (path, extra)
                assert "security token" in answer.text
            cookieless = requests.post(server_url + path, data={**form, "csrf_token": token})
            assert cookieless.status_code == 403
        assert event_count(db_url) == before
        assert [d.name for d in Client(db_url).search_datasets()] == ["target"]
        answer = browser_like.post(
            f"{server_url}/experiments/{seed.experiment_id}/datasets",
            data={"name": "honest", "csrf_token": token},
            allow_redirects=False,
        )
        assert answer.status_code == 303
        assert Client(db_url).get_dataset(name="honest").version == 0

    def test_missing_things_are_pages_in_words(self, ui, db_url) -> None:
        seed_traces(db_url)
        for path, sentence in (
            ("/experiments/4242", "Experiment '4242' does not exist."),
            ("/experiments/4242/traces", "Experiment '4242' does not exist."),
            ("/traces/tr-0000", "does not exist"),
            ("/datasets/d-missing", "Dataset 'd-missing' does not exist."),
        ):
            answer = ui.page.goto(ui.url + path)
            assert answer is not None and answer.status == 404
            expect(ui.page.get_by_role("alert")).to_contain_text(sentence)
            expect(ui.page.get_by_role("link", name="Back to experiments")).to_be_visible()
            assert "Traceback" not in ui.page.content()
            ui.shoot("not-found")
