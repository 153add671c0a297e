"""`evalledger history`, `diff`, `verify` (chain and projections) and `rebuild`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import normalize_url


@pytest.fixture
def golden(client: Client, db_url: str) -> str:
    """A dataset "golden" with five versions; returns the database URL for the CLI."""
    ds = client.create_dataset("golden")
    a1 = {"inputs": {"q": "a"}, "expectations": {"answer": "A"}}
    a2 = {"inputs": {"q": "a"}, "expectations": {"answer": "AA"}}
    ds.merge_records([a1, {"inputs": {"q": "b"}}])
    ds.merge_records([a2, {"inputs": {"q": "c"}}])
    ds.delete_records([next(r.dataset_record_id for r in ds.records if r.inputs == {"q": "b"})])
    ds.restore(1)
    return db_url


def test_history_prints_one_line_per_version(golden: str, capsys) -> None:
    assert main(["--uri", golden, "history", "golden"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 5
    assert "CREATE" in lines[1] and "RESTORE (from v1)" in lines[-1]


def test_diff_shows_added_removed_and_changed_paths(golden: str, capsys) -> None:
    assert main(["--uri", golden, "diff", "golden", "1", "3"]) == 0
    out = capsys.readouterr().out
    assert "1 added, 1 removed, 1 changed" in out
    assert 'expectations.answer: "A" -> "AA"' in out
    assert "+ dr-" in out and "- dr-" in out


def test_diff_of_unknown_version_is_a_one_line_error(golden: str, capsys) -> None:
    assert main(["--uri", golden, "diff", "golden", "1", "42"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "version 42" in err


def test_verify_checks_the_chain_and_the_projections(golden: str, capsys) -> None:
    assert main(["--uri", golden, "verify"]) == 0
    out = capsys.readouterr().out
    assert "hash chain intact" in out and "projections equal a fresh replay" in out
    engine = sa.create_engine(normalize_url(golden))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE dataset_records SET source_type = 'CODE' WHERE valid_to IS NULL")
        )
    engine.dispose()
    assert main(["--uri", golden, "verify"]) == 1
    assert "dataset_records" in capsys.readouterr().err
    assert main(["--uri", golden, "rebuild"]) == 0
    assert "rebuilt every projection" in capsys.readouterr().out
    assert main(["--uri", golden, "verify"]) == 0
