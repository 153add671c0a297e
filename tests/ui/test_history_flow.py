"""A dataset's past in a real browser (API.md §11): the dataset page's chart, schema and
provenance, History (every version, who, when, operation, counts, digest, labels), Diff
between two versions (the changed field paths, before and after, long values folded),
a version read-only, Restore after a confirmation (a dialog with the UI's script, a page
without it) making one new version equal to the old one; and labels set and moved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from ui_browser import Ui, new_ui

from evalledger import Client, EvaluationDataset

LONG_ANSWER = " ".join(
    f"Paris is the capital and largest city of France (sentence {i})." for i in range(12)
)


def three_versions(db_url: str) -> EvaluationDataset:
    """v0 created, v1 two records merged, v2 one expectation (and a long output) changed."""
    client = Client(db_url, user="tester")
    dataset = client.create_dataset("capitals", tags={"team": "qa"})
    dataset.merge_records(
        [
            {
                "inputs": {"question": "What is the capital of France?"},
                "outputs": {"answer": "Paris"},
                "expectations": {"expected_answer": "Paris"},
            },
            {"inputs": {"question": "What is 2 + 2?"}, "expectations": {"expected_answer": "4"}},
        ]
    )
    dataset.merge_records(
        [
            {
                "inputs": {"question": "What is the capital of France?"},
                "outputs": {"answer": LONG_ANSWER},
                "expectations": {"expected_answer": "Paris, France"},
            }
        ]
    )
    return client.get_dataset(dataset_id=dataset.dataset_id)


def open_tab(ui: Ui, name: str) -> None:
    ui.page.get_by_role("navigation", name="Dataset").get_by_role("link", name=name).click()


class TestHistoryDiffRestore:
    backend = "sqlite"

    @pytest.fixture
    def plain(self, browser: Browser, server_url: str, request, tmp_path: Path) -> Iterator[Ui]:
        """A browser without JavaScript."""
        with new_ui(browser, server_url, request, tmp_path, java_script_enabled=False) as ui:
            yield ui

    def test_history_then_diff_then_restore_of_version_1(self, ui: Ui, db_url: str) -> None:
        dataset = three_versions(db_url)
        v1 = Client(db_url).get_dataset(dataset_id=dataset.dataset_id, version=1)
        page = ui.open(f"/datasets/{dataset.dataset_id}")
        chart = page.get_by_role("img", name="Records over 3 versions")
        expect(chart).to_be_visible()
        expect(chart.locator("circle")).to_have_count(3)
        schema = page.locator("table.schema")
        expect(schema).to_contain_text("expected_answer")
        expect(schema).to_contain_text("string")
        provenance = page.locator("section", has=page.get_by_role("heading", name="Provenance"))
        expect(provenance).to_contain_text("HUMAN")
        ui.shoot("dataset")

        open_tab(ui, "History")
        rows = page.locator("table.history tbody tr")
        expect(rows).to_have_count(3)  # newest first
        expect(rows.locator("td:nth-child(4) .op")).to_have_text(["MERGE", "MERGE", "CREATE"])
        expect(rows.nth(0)).to_contain_text("tester")
        expect(rows.nth(1).locator("td.num")).to_have_text(["2", "0", "0", "2"])
        expect(rows.nth(0).locator("td.num")).to_have_text(["0", "1", "0", "2"])
        expect(rows.nth(1).locator("code.digest")).to_have_attribute("title", v1.digest)
        ui.shoot("history")

        open_tab(ui, "Diff")
        page.get_by_label("From version").select_option("1")
        page.get_by_label("To version").select_option("2")
        page.get_by_role("button", name="Compare").click()
        expect(page.get_by_role("status")).to_contain_text("0 added, 0 removed, 1 changed")
        change = page.locator("article.change")
        expect(change).to_have_count(1)
        expect(change.locator("code.path")).to_have_text(
            ["expectations.expected_answer", "outputs.answer"]
        )
        fields = change.locator("tbody tr")
        expect(fields.nth(0).locator("td.before")).to_have_text('"Paris"')
        expect(fields.nth(0).locator("td.after")).to_have_text('"Paris, France"')
        long_text = fields.nth(1).locator("td.after details")
        expect(long_text.locator(".text-block")).to_be_hidden()  # folded
        expect(long_text.locator("summary")).to_contain_text("characters")
        long_text.locator("summary").click()
        expect(long_text.locator(".text-block")).to_contain_text("(sentence 11).")
        ui.shoot("diff-v1-v2")

        response = page.goto(f"{ui.url}/datasets/{dataset.dataset_id}/diff?from=9&to=2")
        assert response is not None and response.status == 404
        expect(page.get_by_role("alert")).to_contain_text("has no version 9")
        expect(page.locator("article.change")).to_have_count(0)
        ui.shoot("diff-unknown-version")

        open_tab(ui, "History")
        page.get_by_role("button", name="Restore version 1").click()
        dialog = page.get_by_role("dialog", name="Restore version 1?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("nothing is erased")
        ui.shoot("restore-dialog")
        dialog.get_by_role("button", name="Restore version 1").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Version 3: anonymous restored version 1"
        )
        expect(page.get_by_role("status")).to_contain_text("Its digest equals version 1's.")
        expect(rows).to_have_count(4)
        expect(rows.nth(0)).to_contain_text("RESTORE")
        expect(rows.nth(0)).to_contain_text("from v1")
        ui.shoot("restored")

        now = Client(db_url).get_dataset(dataset_id=dataset.dataset_id)
        assert (now.version, now.digest) == (3, v1.digest)
        history = now.history()
        assert list(history["operation"]) == ["CREATE", "MERGE", "MERGE", "RESTORE"]
        assert history["user"].iloc[-1] == "anonymous"

        page.get_by_role("link", name="Open version 1, read-only").click()
        expect(page.get_by_role("status").first).to_contain_text("read-only")
        expect(page.get_by_role("button", name="Delete selected records")).to_have_count(0)
        expect(page.get_by_role("checkbox")).to_have_count(0)
        expect(page.locator("table.records tbody tr")).to_have_count(2)
        ui.shoot("version-1-read-only")
        page.locator("table.records tbody tr a").first.click()
        expect(page.get_by_role("status").first).to_contain_text("read-only")
        expect(page.get_by_role("form", name="Edit expectations")).to_have_count(0)
        ui.shoot("record-at-version-1")

    def test_restore_asks_on_a_page_without_javascript(self, plain: Ui, db_url: str) -> None:
        dataset = three_versions(db_url)
        page = plain.open(f"/datasets/{dataset.dataset_id}/history")
        page.get_by_role("button", name="Restore version 1").click()
        expect(page.get_by_role("heading", name="Restore version 1?")).to_be_visible()
        expect(page.locator("main")).to_contain_text("0 added back, 0 removed, 1 changed")
        plain.shoot("restore-confirm-page")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 2
        page.get_by_role("button", name="Restore version 1").click()
        expect(page.get_by_role("status")).to_contain_text("restored version 1")
        plain.shoot("restored-without-javascript")
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 3

        # the latest version has no Restore button; restoring what the dataset equals
        # already writes nothing
        expect(page.get_by_role("button", name="Restore version 3")).to_have_count(0)
        page.get_by_role("button", name="Restore version 1").click()
        page.get_by_role("button", name="Restore version 1").click()
        expect(page.get_by_role("status")).to_have_text(
            "The dataset already equals version 1: nothing was written."
        )
        assert Client(db_url).get_dataset(dataset_id=dataset.dataset_id).version == 3


class TestLabels:
    backend = "sqlite"

    def test_golden_set_on_version_1_then_moved_to_version_2(self, ui: Ui, db_url: str) -> None:
        dataset = three_versions(db_url)
        page = ui.open(f"/datasets/{dataset.dataset_id}")
        open_tab(ui, "Labels")
        expect(page.get_by_text("No labels yet.")).to_be_visible()
        ui.shoot("no-labels")
        page.get_by_label("Label", exact=True).fill("golden")
        page.get_by_label("Version").select_option("1")
        page.get_by_role("button", name="Save label").click()
        expect(page.get_by_role("status")).to_have_text("Label golden now points to version 1.")
        ui.shoot("golden-on-v1")
        page.get_by_label("Label", exact=True).fill("golden")
        page.get_by_label("Version").select_option("2")
        page.get_by_role("button", name="Save label").click()
        expect(page.get_by_role("status")).to_have_text("Label golden now points to version 2.")
        moves = page.locator("table.label-moves tbody tr")
        expect(moves).to_have_count(2)  # newest first: label, from, to, who
        expect(moves.nth(0).locator("td").nth(1)).to_have_text("v1")
        expect(moves.nth(0).locator("td").nth(2)).to_have_text("v2")
        expect(moves.nth(1).locator("td").nth(1)).to_have_text("(new)")
        expect(moves.nth(1).locator("td").nth(2)).to_have_text("v1")
        expect(moves.nth(0).locator("td").nth(3)).to_have_text("anonymous")
        ui.shoot("golden-moved-to-v2")

        client = Client(db_url)
        assert client.get_dataset(dataset_id=dataset.dataset_id).version_labels() == {"golden": 2}
        assert client.get_dataset(dataset_id=dataset.dataset_id, version="golden").version == 2
        assert client.get_dataset(dataset_id=dataset.dataset_id).version == 2  # no new version

        # an unknown version (a forged form) is said in words, and nothing moves
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        refused = page.request.post(
            f"{ui.url}/datasets/{dataset.dataset_id}/labels",
            form={"label": "golden", "version": "7", "csrf_token": token or ""},
        )
        assert refused.status == 404
        assert "has no version 7" in refused.text()
        assert client.get_dataset(dataset_id=dataset.dataset_id).version_labels() == {"golden": 2}

        page.get_by_role("link", name="Open version 2").click()
        expect(page.get_by_role("status").first).to_contain_text("Version 2 of 2, read-only")
        expect(page.locator("dl.facts")).to_contain_text("golden")
        open_tab(ui, "History")
        expect(page.locator("table.history tbody tr").nth(0).locator(".chip-label")).to_have_text(
            "golden"
        )
        ui.shoot("history-with-label")
