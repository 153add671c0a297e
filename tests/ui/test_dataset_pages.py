"""The datasets pages in a real browser: the list and its search box (the search_datasets
grammar, errors shown), a dataset's page with its records a keyset page at a time (long
JSON folded), a past version read-only, and an experiment's datasets with the form that
creates one."""

from __future__ import annotations

from playwright.sync_api import expect

from evalledger import Client


def golden_records(count: int) -> list[dict]:
    """Records with short inputs, and every tenth with a long context (to be folded)."""
    records = []
    for i in range(count):
        inputs = {"question": f"question {i:03d}"}
        if i % 10 == 0:
            inputs["context"] = " ".join(f"passage {i}-{j} about the product." for j in range(40))
        records.append(
            {"inputs": inputs, "outputs": {"answer": f"answer {i}"}, "expectations": {"ok": True}}
        )
    return records


class TestDatasetPages:
    backend = "sqlite"

    def test_the_list_searches_and_a_dataset_pages_through_its_records(self, ui, db_url) -> None:
        client = Client(db_url, user="tester")
        experiment = client.create_experiment("qa-bot")
        golden = client.create_dataset("golden-qa", experiment, tags={"team": "qa"})
        golden.merge_records(golden_records(120))
        client.create_dataset("scratch").merge_records([{"inputs": {"q": "hi"}}])

        page = ui.open("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Datasets")
        names = page.locator("table tbody tr td:first-child a")
        expect(names).to_have_text(["scratch", "golden-qa"])  # newest first
        expect(page.locator("tbody")).to_contain_text("qa-bot")  # experiments by name
        ui.shoot("datasets")
        search = page.get_by_label("Search datasets")
        search.fill("name ~ 'x'")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("alert")).to_contain_text("position")
        ui.shoot("bad-search")
        search = page.get_by_label("Search datasets")
        search.fill("name LIKE 'golden%' AND tags.team = 'qa'")
        page.get_by_role("button", name="Search").click()
        expect(names).to_have_text(["golden-qa"])
        ui.shoot("searched")

        names.first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("golden-qa")
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text(golden.dataset_id)
        expect(facts).to_contain_text(client.get_dataset(name="golden-qa").digest)
        expect(facts).to_contain_text("team")
        tabs = page.get_by_role("navigation", name="Dataset")
        for tab in ("Records", "History", "Diff", "Labels"):
            expect(tabs.get_by_role("link", name=tab)).to_be_visible()
        rows = page.locator("table.records tbody tr")
        folded = rows.first.locator("details", has_text="Inputs")
        expect(folded.locator("pre")).to_be_hidden()
        folded.locator("summary").click()
        expect(folded.locator("pre")).to_contain_text("passage 0-39")
        ui.shoot("dataset-first-page")
        seen: list[str] = []
        for expected in (50, 50, 20):
            expect(rows).to_have_count(expected)
            seen += rows.locator("td:first-child code").all_inner_texts()
            ui.shoot(f"records-{len(seen)}")
            if len(seen) < 120:
                page.get_by_role("link", name="Next page").click()
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        assert seen == [r.dataset_record_id for r in client.get_dataset(name="golden-qa").records]

        ui.open(f"/datasets/{golden.dataset_id}?version=0")
        expect(page.get_by_role("status")).to_contain_text("read-only")
        expect(page.locator("table.records")).to_have_count(0)
        ui.shoot("dataset-version-0")

    def test_an_experiments_datasets_and_creating_one(self, ui, db_url) -> None:
        client = Client(db_url, user="tester")
        experiment = client.create_experiment("qa-bot")
        page = ui.open(f"/experiments/{experiment}")
        ui.shoot("experiment")
        experiment_nav = page.get_by_role("navigation", name="Experiment")
        experiment_nav.get_by_role("link", name="Datasets").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Datasets of qa-bot")
        expect(page.get_by_text("No datasets yet.")).to_be_visible()
        ui.shoot("experiment-datasets-empty")
        page.get_by_label("Name").fill("fresh")
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("fresh")
        ui.shoot("created")
        assert client.get_dataset(name="fresh").experiment_ids == [experiment]
        page.get_by_role("link", name="qa-bot").first.click()
        experiment_nav = page.get_by_role("navigation", name="Experiment")
        experiment_nav.get_by_role("link", name="Datasets").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        page.get_by_label("Name").fill("fresh")
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("already exists")
        ui.shoot("duplicate-name")
