"""Engines for URLs: the optional drivers, and what a user is told when one is missing."""

from __future__ import annotations

import sys

import pytest

from evalledger.ledger import LedgerError, create_engine


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql://u@127.0.0.1/db", "psycopg", "postgresql"),
        ("mysql://u@127.0.0.1/db", "pymysql", "mysql"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(LedgerError, match=rf"pip install 'evalledger\[{extra}\]'"):
        create_engine(url)


def test_sqlite_needs_no_driver_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "pymysql", None)
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
