"""One suite, every backend: each test that asks for a database gets a fresh one.

EVALLEDGER_TEST_BACKENDS picks the backends (default: sqlite,postgresql,mariadb). A backend
that was asked for and cannot be reached fails its tests; it is never skipped.

A test class that names its `backend` (the ledger's contract, tests/ledger/contract.py) runs
on that backend only, and is deselected when that backend was not asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalledger import Client, fluent, stores, tracking
from evalledger.ledger import EventStore, create_engine
from evalledger.ledger.testing import fresh_database
from evalledger.migrations.runner import upgrade

BACKENDS = [
    b.strip()
    for b in os.environ.get("EVALLEDGER_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",")
    if b.strip()
]


def class_backend(cls: type | None) -> str | None:
    """The backend a test class names (`backend = "sqlite"`), None for any other test."""
    return getattr(cls, "backend", None) if cls is not None else None


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database on the backend this test is parametrized with, or
    on the one its class names."""
    backend = request.param if hasattr(request, "param") else class_backend(request.cls)
    with fresh_database(backend, tmp_path) as url:
        yield url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a database runs once per backend, unless its class names one."""
    if "fresh_url" in metafunc.fixturenames and class_backend(metafunc.cls) is None:
        metafunc.parametrize("fresh_url", BACKENDS, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the classes of backends that were not asked for (not a skip: they are not
    part of this run at all)."""
    keep, drop = [], []
    for item in items:
        backend = class_backend(getattr(item, "cls", None))
        (drop if backend is not None and backend not in BACKENDS else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def db_url(fresh_url: str) -> str:
    """A fresh database, upgraded to the newest schema."""
    engine = create_engine(fresh_url)
    upgrade(engine)
    engine.dispose()
    return fresh_url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine: sa.Engine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def client(db_url: str) -> Client:
    """A client on this test's fresh database, acting as "tester"."""
    return Client(db_url, user="tester")


@pytest.fixture(autouse=True)
def _fresh_tracking_state() -> Iterator[None]:
    """No test sees another's tracking URI or cached engines."""
    tracking.set_tracking_uri(None)
    yield
    tracking.set_tracking_uri(None)
    fluent.forget_default_clients()
    stores.reset_stores()
