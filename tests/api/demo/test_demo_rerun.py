"""`evalledger demo` run again changes nothing, so it makes no dataset version (API.md §4)."""

from __future__ import annotations

import pytest

from evalledger import Client
from evalledger.demo.flows import DATASET_NAME, run_demo
from evalledger.demo.traces import DATASET_NAME as TRACE_DATASET_NAME


def versions(client: Client) -> dict[str, tuple[int, str]]:
    return {
        name: (client.get_dataset(name=name).version, client.get_dataset(name=name).digest)
        for name in (DATASET_NAME, TRACE_DATASET_NAME)
    }


def test_the_second_run_adds_no_dataset_version(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(client)
    first = versions(client)
    labels = client.get_dataset(name=DATASET_NAME).version_labels()
    capsys.readouterr()
    run_demo(client)
    out = capsys.readouterr().out
    assert versions(client) == first
    assert client.get_dataset(name=DATASET_NAME).version_labels() == labels
    history = client.get_dataset(name=DATASET_NAME).history()
    assert len(history) == first[DATASET_NAME][0] + 1  # history shows only real changes
    assert out.count("nothing changed, so no new version") == 4
    assert "merged 17 traces: 0 added, 0 updated; version 1 -> 1" in out
