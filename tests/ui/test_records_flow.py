"""A dataset's records in a real browser (API.md §11): a record's page (inputs, outputs,
expectations, tags, its source with a link to its trace, its own history), editing its
expectations (one new version, the new value in to_df, the event's user), bad JSON said
in words and nothing written; deleting records (checkboxes on the dataset page, the
button on a record's page), and undeleting a deleted dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from ui_browser import Ui, new_ui
from ui_seed import seed_traces

from evalledger import Client
from evalledger.projections import event_types as et

NEW_EXPECTATIONS = '{"expected_answer": "Use the reset link on the sign-in page.", "tone": "kind"}'


def dataset_events(db_url: str, dataset_id: str) -> list:
    return [
        e
        for e in Client(db_url).store.iter_all()
        if e.stream_type == et.DATASET_STREAM and e.stream_id == dataset_id
    ]


def expectations_of(db_url: str, dataset_id: str, record_id: str) -> dict:
    frame = Client(db_url).get_dataset(dataset_id=dataset_id).to_df()
    return frame.set_index("dataset_record_id").loc[record_id, "expectations"]


class TestRecords:
    backend = "sqlite"

    @pytest.fixture
    def plain(self, browser: Browser, server_url: str, request, tmp_path: Path) -> Iterator[Ui]:
        """A browser without JavaScript."""
        with new_ui(browser, server_url, request, tmp_path, java_script_enabled=False) as ui:
            yield ui

    def test_a_records_page_and_editing_its_expectations(self, ui: Ui, db_url: str) -> None:
        seed = seed_traces(db_url)
        client = Client(db_url, user="tester")
        dataset = client.create_dataset("support-golden", seed.experiment_id)
        traces = client.search_traces([seed.experiment_id], return_type="list")
        dataset.merge_records(traces)
        record = next(r for r in dataset.records if r.source_id == seed.expected)
        assert record.expectations == {"expected_answer": "Use the reset link."}

        page = ui.open(f"/datasets/{dataset.dataset_id}")
        page.get_by_role("link", name=record.dataset_record_id).click()
        title = page.get_by_role("heading", name=f"Record {record.dataset_record_id}")
        expect(title).to_be_visible()
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("TRACE")
        trace_link = facts.get_by_role("link", name=f"trace {seed.expected}")
        expect(trace_link).to_have_attribute("href", f"/traces/{seed.expected}")
        expect(page.locator("section", has_text="Inputs").first).to_contain_text(
            "How do I reset my password?"
        )
        expect(page.locator(".record-parts")).to_contain_text("Use the reset link.")
        history = page.locator("table.record-history tbody tr")
        expect(history).to_have_count(1)
        expect(history.first).to_contain_text("record added")
        ui.shoot("record")

        editor = page.get_by_label("Expectations (JSON object)")
        expect(editor).to_have_value('{\n  "expected_answer": "Use the reset link."\n}')
        editor.fill(
            '{"expected_answer": "Use the reset link on the sign-in page.", "tone": "kind"}'
        )
        page.get_by_role("button", name="Save expectations").click()
        expect(page.get_by_role("status")).to_have_text(
            "Expectations saved: version 2 of the dataset has them."
        )
        expect(history).to_have_count(2)
        expect(history.first.locator("dl.field-changes dt")).to_have_text(
            ["expectations.expected_answer", "expectations.tone"]
        )
        expect(history.first.locator("dl.field-changes dd").first).to_contain_text(
            '"Use the reset link." → "Use the reset link on the sign-in page."'
        )
        ui.shoot("expectations-saved")

        now = Client(db_url).get_dataset(dataset_id=dataset.dataset_id)
        assert now.version == 2  # one new version
        assert expectations_of(db_url, dataset.dataset_id, record.dataset_record_id) == {
            "expected_answer": "Use the reset link on the sign-in page.",
            "tone": "kind",
        }
        events = dataset_events(db_url, dataset.dataset_id)
        assert events[-1].event_type == et.DATASET_RECORDS_MERGED
        assert events[-1].metadata["user"] == "anonymous"  # no --auth: the UI's user
        assert list(now.history()["operation"]) == ["CREATE", "MERGE", "MERGE"]

        # bad JSON, a value that is not an object, a key left out: said, nothing written
        for text, said in (
            ('{"expected_answer": ', "not valid JSON"),
            ('["a list"]', "must be a JSON object"),
            ('{"tone": "kind"}', "cannot be removed"),
        ):
            editor = page.get_by_label("Expectations (JSON object)")
            editor.fill(text)
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.get_by_role("button", name="Save expectations").click()
            assert answer.value.status == 400
            expect(page.get_by_role("alert")).to_contain_text(said)
            expect(page.get_by_label("Expectations (JSON object)")).to_have_value(text)
        ui.shoot("bad-expectations")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 2

        # the same expectations again: nothing changes, no version
        page.get_by_label("Expectations (JSON object)").fill(NEW_EXPECTATIONS)
        page.get_by_role("button", name="Save expectations").click()
        expect(page.get_by_role("status")).to_contain_text("Nothing changed")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 2

        page.get_by_role("link", name=f"trace {seed.expected}").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Trace {seed.expected}")
        ui.shoot("its-trace")

    def test_deleting_records_then_undeleting_the_dataset(self, ui: Ui, db_url: str) -> None:
        client = Client(db_url, user="tester")
        dataset = client.create_dataset("to-prune")
        dataset.merge_records([{"inputs": {"q": f"question {i}"}} for i in range(3)])
        ids = [r.dataset_record_id for r in dataset.records]

        page = ui.open(f"/datasets/{dataset.dataset_id}")
        select_all = page.get_by_label("Select all records on this page")
        select_all.check()
        expect(page.get_by_text("3 records selected")).to_be_visible()
        select_all.uncheck()
        expect(page.get_by_text("No records selected")).to_be_visible()
        page.get_by_role("button", name="Delete selected records").click()
        expect(page.get_by_role("dialog", name="Nothing selected")).to_be_visible()
        page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        for record_id in ids[:2]:
            page.get_by_label(f"Select record {record_id}").check()
        expect(page.get_by_text("2 records selected")).to_be_visible()
        page.get_by_role("button", name="Delete selected records").click()
        dialog = page.get_by_role("dialog", name="Delete 2 records selected?")
        expect(dialog).to_be_visible()
        ui.shoot("delete-dialog")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 1
        dialog.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("status")).to_have_text(
            "Version 2: anonymous deleted records (0 added, 0 updated, 2 deleted); the "
            "dataset now has 1 record."
        )
        ui.shoot("deleted-two")
        now = Client(db_url).get_dataset(dataset_id=dataset.dataset_id)
        assert (now.version, [r.dataset_record_id for r in now.records]) == (2, ids[2:])

        # the last one from its own page
        ui.open(f"/datasets/{dataset.dataset_id}/records/{ids[2]}")
        page.get_by_role("button", name="Delete record").click()
        page.get_by_role("dialog", name=f"Delete record {ids[2]}?").get_by_role(
            "button", name="Delete record"
        ).click()
        expect(page.get_by_role("status")).to_contain_text("1 deleted")
        now = Client(db_url).get_dataset(dataset_id=dataset.dataset_id)
        assert (now.version, now.num_records) == (3, 0)
        ui.open(f"/datasets/{dataset.dataset_id}/records/{ids[2]}")
        expect(page.get_by_role("status").first).to_contain_text("deleted in version 3")
        expect(page.get_by_role("button", name="Delete record")).to_have_count(0)
        ui.shoot("deleted-record")

        # a deleted dataset comes back with its Undelete button
        client.delete_dataset(dataset_id=dataset.dataset_id)
        page = ui.open(f"/datasets/{dataset.dataset_id}")
        expect(page.get_by_role("status").first).to_contain_text("This dataset was deleted")
        expect(page.get_by_role("button", name="Delete selected records")).to_have_count(0)
        ui.shoot("deleted-dataset")
        page.get_by_role("button", name="Undelete").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Version 5: anonymous undeleted the dataset"
        )
        ui.shoot("undeleted")
        back = Client(db_url).get_dataset(name="to-prune")
        assert (back.version, back.is_deleted) == (5, False)
        assert list(back.history()["operation"])[-2:] == ["DELETE", "UNDELETE"]

    def test_deleting_without_javascript_asks_on_a_page(self, plain: Ui, db_url: str) -> None:
        client = Client(db_url, user="tester")
        dataset = client.create_dataset("plain-prune")
        dataset.merge_records([{"inputs": {"q": f"question {i}"}} for i in range(2)])
        ids = [r.dataset_record_id for r in dataset.records]
        page = plain.open(f"/datasets/{dataset.dataset_id}")
        page.get_by_label(f"Select record {ids[0]}").check()
        page.get_by_role("button", name="Delete selected records").click()
        expect(page.get_by_role("heading", name="Delete 1 record?")).to_be_visible()
        plain.shoot("delete-confirm-page")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 1
        page.get_by_role("button", name="Delete 1 record").click()
        expect(page.get_by_role("status")).to_contain_text("1 deleted")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).num_records == 1
