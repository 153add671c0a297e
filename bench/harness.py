"""Timing, reporting against targets, and throwaway databases for benchmarks."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evalledger import Client
from evalledger.ledger import EventStore, create_engine
from evalledger.ledger.testing import fresh_database
from evalledger.migrations.runner import upgrade


@dataclass
class Result:
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        sign = ">=" if self.higher_is_better else "<="
        return f"{'met' if met else 'MISSED'} (target {sign} {self.target:,.4g} {self.unit})"


class Report:
    """Collects results and prints one aligned line per result."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.results: list[Result] = []

    def add(self, result: Result) -> None:
        self.results.append(result)
        print(
            f"  [{self.backend:10}] {result.name:55} {result.value:>14,.4g} {result.unit:9} "
            f"{result.verdict}",
            flush=True,
        )


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes, to its return: freeing what it returned comes after the
    clock stops (a million-row DataFrame takes some 0.4 s to free)."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    return seconds


def best_of(n: int, fn: Callable[[], object]) -> float:
    return min(timed(fn) for _ in range(n))


@contextmanager
def bench_store(backend: str) -> Iterator[EventStore]:
    """A migrated event store on a fresh database (a file for SQLite)."""
    with (
        tempfile.TemporaryDirectory(prefix="evalledger-bench-") as directory,
        fresh_database(backend, Path(directory), prefix="evlbench") as url,
    ):
        engine = create_engine(url)
        upgrade(engine)
        try:
            yield EventStore(engine)
        finally:
            engine.dispose()


def client_of(store: EventStore) -> Client:
    """A client on a bench store's database."""
    return Client(store.engine.url.render_as_string(hide_password=False), user="bench")
