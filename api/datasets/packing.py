"""Many records in one commit, packed into events by bytes so each event fits the database.

A merge, a restore or a delete of many records is several events in one commit (one
dataset version). Items are encoded a group at a time, once: the groups are joined into
each event's canonical JSON, which the ledger stores as given. An event aims at
``limits.event_budget`` bytes; one record larger than that is an event alone, up to
``limits.max_record_bytes`` (else the caller's ``too_large`` error is raised, before
anything is sent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from evalledger.ledger.limits import BackendLimits

_SORT = orjson.OPT_SORT_KEYS
#: Items encoded per orjson call (halved while a group is over the budget).
_GROUP = 256

#: (list key, index in that list, bytes as sent) -> the error to raise for that item.
TooLarge = Callable[[str, int, int], Exception]


@dataclass
class _Event:
    """One event being filled: per list key, the slice of items and their JSON pieces."""

    fields: dict[str, Any]
    size: int
    pieces: dict[str, list[Any]] = field(default_factory=dict)
    #: Per list key, the items the pieces encode (the very objects, built once).
    items: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, key: str, group: list[Any], piece: Any) -> None:
        self.items.setdefault(key, []).extend(group)
        self.pieces.setdefault(key, []).append(piece)
        self.size += len(piece) + 1

    @property
    def empty(self) -> bool:
        return not self.pieces


def pack_events(
    lists: Sequence[tuple[str, Sequence[Any]]],
    fields: dict[str, Any],
    limits: BackendLimits,
    too_large: TooLarge,
    *,
    first_fields: dict[str, Any] | None = None,
    later_fields: dict[str, Any] | None = None,
) -> list[tuple[dict[str, Any], bytes]]:
    """Split the items of each list (key, items) over events; returns (payload, canonical
    JSON) per event, at least one. Every payload has `fields`, every list key (empty when
    it holds none of that list) and `first_fields` (first event) or `later_fields`."""
    return list(
        iter_events(
            lists,
            fields,
            limits,
            too_large,
            first_fields=first_fields,
            later_fields=later_fields,
        )
    )


def iter_events(
    lists: Sequence[tuple[str, Sequence[Any]]],
    fields: dict[str, Any],
    limits: BackendLimits,
    too_large: TooLarge,
    *,
    first_fields: dict[str, Any] | None = None,
    later_fields: dict[str, Any] | None = None,
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """pack_events one event at a time: each is yielded as soon as it is full, so a merge
    can append and fold it and let it go before the next is built. The items are read in
    order, a group at a time (a lazy sequence builds each item once)."""
    budget = limits.event_budget
    first, later = first_fields or {}, later_fields or {}
    started = 0

    def start_event() -> _Event:
        nonlocal started
        extra = later if started else first
        started += 1
        event = _Event({**fields, **extra}, 0)
        event.size = len(orjson.dumps(event.fields, option=_SORT)) + 16 * len(lists)
        return event

    current = start_event()
    for key, items in lists:
        for group, piece in _groups(key, items, limits, too_large):
            if not current.empty and current.size + len(piece) > budget:
                yield _finish(current, lists)
                current = start_event()
            current.add(key, group, piece)
    yield _finish(current, lists)


def _groups(
    key: str, items: Sequence[Any], limits: BackendLimits, too_large: TooLarge
) -> Iterator[tuple[list[Any], memoryview]]:
    """(items[start:stop], their JSON without the brackets), in order; a group is over
    the budget only when it is one item (checked against the record limit)."""
    budget = limits.event_budget
    group, start, count = _GROUP, 0, len(items)
    while start < count:
        stop = min(count, start + group)
        chunk = list(items[start:stop])
        text = orjson.dumps(chunk, option=_SORT)
        if len(text) > budget and stop - start > 1:
            group = max(1, (stop - start) // 2)
            continue
        if len(text) > budget and not limits.fits(text, limits.max_record_bytes):
            raise too_large(key, start, limits.sent_bytes(text) - 2)
        yield chunk, memoryview(text)[1:-1]
        start = stop
        group = min(_GROUP, group * 2)


def _finish(
    event: _Event, lists: Sequence[tuple[str, Sequence[Any]]]
) -> tuple[dict[str, Any], bytes]:
    """The event's payload and its canonical JSON (keys sorted, as orjson sorts them)."""
    payload = dict(event.fields)
    for key, _ in lists:
        payload[key] = event.items.get(key, [])
    parts: list[Any] = []  # joined once: the pieces are copied a single time
    for key in sorted(payload):
        parts += (b"," if parts else b"{", orjson.dumps(key), b":")
        pieces = event.pieces.get(key)
        if pieces is None:
            parts.append(orjson.dumps(payload[key], option=_SORT))
            continue
        parts.append(b"[")
        for n, piece in enumerate(pieces):
            if n:
                parts.append(b",")
            parts.append(piece)
        parts.append(b"]")
    parts.append(b"}")
    return payload, b"".join(parts)
