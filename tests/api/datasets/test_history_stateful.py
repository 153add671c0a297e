"""Random operation sequences: every earlier version read as a snapshot equals an
independent replay of the ledger cut at that version; restore(v) equals v; applying
diff(a, b) to version a gives version b; the projections equal a fresh replay."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from evalledger import Client
from evalledger.projections.rebuild import check_projections

QUESTIONS = [f"q{i}" for i in range(6)]
record_st = st.fixed_dictionaries(
    {"inputs": st.fixed_dictionaries({"q": st.sampled_from(QUESTIONS)})},
    optional={
        "expectations": st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
        "outputs": st.sampled_from(["x", "y", None]),
        "tags": st.dictionaries(st.sampled_from(["t"]), st.sampled_from(["u", "v"]), max_size=1),
    },
)

Content = dict[str, Any]


def _content(record: Any) -> Content:
    source = record.source.to_dict() if hasattr(record, "source") else record["source"]
    get = (lambda k: getattr(record, k)) if hasattr(record, "inputs") else record.__getitem__
    return {
        "inputs": get("inputs"),
        "outputs": get("outputs"),
        "expectations": get("expectations"),
        "tags": get("tags"),
        "source": source,
    }


def replay_cut(
    client: Client, dataset_id: str, version: int
) -> tuple[dict[str, Content], dict[str, str]]:
    """An independent fold of the dataset's events up to `version`: records and tags."""
    records: dict[str, Content] = {}
    tags: dict[str, str] = {}
    for event in client.store.read_stream(dataset_id):
        p = event.payload
        if p["dataset_version"] > version:
            break
        if event.event_type == "DatasetCreated":
            tags.update(p["tags"])
        for rid in p.get("record_ids", []) + p.get("deleted_record_ids", []):
            records.pop(rid, None)
        for r in p.get("added", []) + p.get("updated", []):
            records[r["record_id"]] = _content(r)
        tags.update(p.get("tags", {}) if event.event_type == "DatasetTagsSet" else {})
        tags.update(p.get("tags_set", {}))
        for key in p.get("tags_deleted", []) + ([p["key"]] if "key" in p else []):
            tags.pop(key, None)
    return records, tags


def snapshot_state(
    client: Client, name: str, version: int
) -> tuple[dict[str, Content], dict[str, str]]:
    snap = client.get_dataset(name=name, version=version)
    return {r.dataset_record_id: _content(r) for r in snap.records}, snap.tags


class DatasetHistory(RuleBasedStateMachine):
    """One dataset, driven through `client`."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    @initialize()
    def create(self) -> None:
        self.name = f"h-{uuid.uuid4().hex[:10]}"
        self.ds = self.client.create_dataset(self.name, tags={"origin": "test"})

    @rule(batch=st.lists(record_st, min_size=1, max_size=4))
    def merge(self, batch: list[dict]) -> None:
        self.ds.merge_records(batch)

    @rule(data=st.data())
    def delete_some(self, data: st.DataObject) -> None:
        ids = [r.dataset_record_id for r in self.ds.records]
        if ids:
            self.ds.delete_records(data.draw(st.lists(st.sampled_from(ids), max_size=2)))

    @rule(key=st.sampled_from(["stage", "owner"]), value=st.sampled_from(["a", "b"]))
    def set_tag(self, key: str, value: str) -> None:
        self.client.set_dataset_tags(self.ds.dataset_id, {key: value})

    @rule(key=st.sampled_from(["stage", "origin"]))
    def delete_tag(self, key: str) -> None:
        self.client.delete_dataset_tag(self.ds.dataset_id, key)

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        target = data.draw(st.integers(0, self.ds.version))
        expected = self.client.get_dataset(name=self.name, version=target)
        self.ds.restore(target)
        assert self.ds.digest == expected.digest
        assert snapshot_state(self.client, self.name, self.ds.version) == snapshot_state(
            self.client, self.name, target
        )

    @rule(data=st.data(), label=st.sampled_from(["gold", "silver"]))
    def label(self, data: st.DataObject, label: str) -> None:
        version = data.draw(st.integers(0, self.ds.version))
        self.ds.label_version(label, version)
        assert self.client.get_dataset(name=self.name, version=label).version == version

    @invariant()
    def every_version_equals_a_replay_cut_there(self) -> None:
        for version in range(self.ds.version + 1):
            assert snapshot_state(self.client, self.name, version) == replay_cut(
                self.client, self.ds.dataset_id, version
            )

    @invariant()
    def diff_applied_to_a_gives_b(self) -> None:
        last = self.ds.version
        for a in {0, last // 2, max(last - 1, 0)}:
            records, _ = snapshot_state(self.client, self.name, a)
            d = self.ds.diff(a, last)
            for r in d.removed:
                del records[r.dataset_record_id]
            for r in d.added:
                records[r.dataset_record_id] = _content(r)
            for c in d.changed:
                records[c.record_id] = _content(c.after)
            assert records == snapshot_state(self.client, self.name, last)[0]


@pytest.mark.slow
def test_history_invariants_hold_for_random_operations(db_url: str) -> None:
    client = Client(db_url)
    run_state_machine_as_test(
        lambda: DatasetHistory(client),
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert check_projections(client.store).ok
