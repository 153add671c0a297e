"""The fold's write buffer is flushed as it fills, in a live write as in a rebuild: a
commit of many events never holds all of its rows at once."""

from __future__ import annotations

import pytest

from evalledger import Client
from evalledger.projections import fold
from evalledger.projections.rebuild import rebuild

RECORDS = 24_000  # some ten events of about 1 MB


def _records(start: int, stop: int) -> list[dict]:
    return [
        {"inputs": {"question": f"question {i} " + "x" * 300}, "expectations": {"a": i}}
        for i in range(start, stop)
    ]


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows waiting at each flush, with the buffer's bound lowered to 100 rows."""
    monkeypatch.setattr(fold.feed, "__defaults__", (100, None))  # live writes
    monkeypatch.setitem(fold.replay.__kwdefaults__, "flush_rows", 100)  # rebuild
    seen: list[int] = []
    original = fold.Projector.flush

    def flush(self: fold.Projector) -> None:
        seen.append(self.pending_rows)
        original(self)

    monkeypatch.setattr(fold.Projector, "flush", flush)
    return seen


def test_a_merge_of_many_events_flushes_midway(client: Client, flushes: list[int]) -> None:
    ds = client.create_dataset("buffered")
    flushes.clear()
    ds.merge_records(_records(0, RECORDS))
    assert len(flushes) >= 2, flushes  # flushed before the commit's end, not only at it
    assert max(flushes) < RECORDS  # never the whole commit at once
    assert ds.to_df().shape[0] == RECORDS


def test_a_rebuild_flushes_midway(client: Client, flushes: list[int]) -> None:
    ds = client.create_dataset("rebuilt")
    ds.merge_records(_records(0, RECORDS))
    flushes.clear()
    rebuild(client.store)
    assert len(flushes) >= 2, flushes
    assert max(flushes) < RECORDS
    assert client.get_dataset(name="rebuilt").to_df().shape[0] == RECORDS
