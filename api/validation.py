"""Checks of user arguments that raise InvalidParameter naming the argument."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evalledger.ledger import InvalidParameter

MAX_NAME = 500
MAX_TAG_KEY = 250


def check_name(name: Any, what: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidParameter(f"{what} is {len(name)} characters long; the limit is {MAX_NAME}")
    _no_nul(name, what)
    return name


def _no_nul(text: str, what: str) -> None:
    if "\x00" in text:
        raise InvalidParameter(f"{what}: text cannot contain the NUL character (\\x00)")


def check_tags(tags: Any, what: str = "tags") -> dict[str, str]:
    """Tag keys are non-empty strings (at most 250 characters); values are stored as str."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidParameter(f"{what} must be a dict, got {type(tags).__name__}")
    checked = {}
    for key, value in tags.items():
        check_tag_key(key, what)
        if value is None:
            raise InvalidParameter(f"{what}[{key!r}]: a tag value cannot be None")
        text = value if isinstance(value, str) else str(value)
        _no_nul(text, f"{what}[{key!r}]")
        checked[key] = text
    return checked


def check_tag_key(key: Any, what: str = "tags") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameter(f"{what}: tag key {key!r} must be a non-empty string")
    if len(key) > MAX_TAG_KEY:
        raise InvalidParameter(f"{what}: tag key {key[:40]!r}... is longer than {MAX_TAG_KEY}")
    if key != key.rstrip():
        raise InvalidParameter(f"{what}: tag key {key!r} cannot end with white space")
    _no_nul(key, f"{what}: tag key")
    return key


def check_id_list(value: Any, what: str) -> list[str]:
    """A str or a list of str, as a de-duplicated list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise InvalidParameter(f"{what} must be a string or a list of strings, got {value!r}")
    return list(dict.fromkeys(items))


def to_ms(as_of: datetime | int) -> int:
    """An instant as epoch ms; a naive datetime is UTC."""
    if isinstance(as_of, bool):
        raise InvalidParameter(f"as_of must be a datetime or epoch ms, got {as_of!r}")
    if isinstance(as_of, int):
        return as_of
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        return int(as_of.timestamp() * 1000)
    raise InvalidParameter(f"as_of must be a datetime or epoch ms, got {as_of!r}")
