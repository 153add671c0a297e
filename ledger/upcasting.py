"""Upcasters: turn payloads written under an old schema version into the current shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UpcasterRegistry:
    """Chains of per-event-type upcasters, each moving a payload up one schema version."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        self._current: dict[str, int] = {}
        #: The event types that have an upcaster: a read skips upcast() for the others.
        self.upcast_types: set[str] = set()

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: the function turns a `from_version` payload into `from_version + 1`."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._steps[(event_type, from_version)] = fn
            self._current[event_type] = max(self._current.get(event_type, 1), from_version + 1)
            self.upcast_types.add(event_type)
            return fn

        return decorate

    def current_version(self, event_type: str) -> int:
        """The schema version new events of this type are written with."""
        return self._current.get(event_type, 1)

    def upcast(self, event_type: str, version: int, payload: Payload) -> tuple[int, Payload]:
        """Apply every registered step from `version` up to the current version."""
        target = self._current.get(event_type, version)
        while version < target:
            payload = self._steps[(event_type, version)](payload)
            version += 1
        return version, payload


#: The registry the application's event types register with.
upcasters = UpcasterRegistry()
