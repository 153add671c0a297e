"""The trace demo (el.demo_traces): runs end to end, twice, and says so when the fixture
is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import evalledger as el
from evalledger.demo.traces import FIXTURE, run_trace_demo


def test_the_trace_demo_runs_twice(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    client = el.Client(db_url)
    run_trace_demo(client)
    first = capsys.readouterr().out
    assert "30 traces, 30 new" in first
    assert "17 traces" in first
    assert "merged 17 traces: 17 added, 0 updated" in first
    assert re.search(r"correlation\(total_tokens, quality_score\) = [+-]\d\.\d{3}", first)
    run_trace_demo(client)
    second = capsys.readouterr().out
    assert "30 traces, 0 new" in second
    assert "merged 17 traces: 0 added, 0 updated" in second
    assert "digest unchanged" in second
    assert FIXTURE.is_file()


def test_a_missing_fixture_is_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = el.Client(f"sqlite:///{tmp_path / 'demo.db'}")
    run_trace_demo(client, tmp_path / "nowhere.jsonl")
    assert "the trace fixture is missing" in capsys.readouterr().out
