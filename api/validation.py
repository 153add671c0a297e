"""Checks of user arguments that raise InvalidParameter naming the argument."""

from __future__ import annotations

import operator
import reprlib
from datetime import UTC, datetime
from typing import Any

from evalledger.ledger import InvalidParameter
from evalledger.ledger.limits import (
    MAX_KEY_CHARS,
    MAX_NAME_CHARS,
    MAX_TAG_VALUE_BYTES,
    MAX_TAGS_BYTES,
    MAX_USER_CHARS,
)

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 3


def shown(value: Any) -> str:
    """A value as an error message shows it: its repr, cut short, a few levels deep (a
    value nested a thousand levels has no repr)."""
    try:
        return _REPR.repr(value)
    except Exception:  # a foreign object whose __repr__ fails
        return f"a {type(value).__name__}"


#: Column lengths (characters), from ledger.limits: the one place they are set.
MAX_NAME = MAX_NAME_CHARS
MAX_TAG_KEY = MAX_KEY_CHARS
#: The range of a signed 64-bit integer: what every backend's BIGINT column holds.
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as text on every backend (None when it can): the NUL
    character (PostgreSQL refuses it), or a lone surrogate (no encoding has it)."""
    if "\x00" in text:
        return "text cannot contain the NUL character (\\x00)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"text has a lone surrogate ({text[exc.start]!r} at position {exc.start}), "
                "which is not Unicode text"
            )
    return None


def check_text(text: str, what: str) -> str:
    """`text` (a str) when it can be stored; else InvalidParameter naming `what`."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidParameter(f"{what}: {problem}", field=what)
    return text


def check_id(value: Any, what: str) -> str:
    """An id or name that is looked up: a non-empty str that can be stored as text."""
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{what} must be a non-empty string, got {shown(value)}", field=what)
    return check_text(value, what)


def experiment_key(experiment_id: Any, what: str = "experiment_id") -> str:
    """An experiment id as stored (a str); an int is taken as its digits, as MLflow does."""
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        return str(experiment_id)
    return check_id(experiment_id, what)


def check_name(name: Any, what: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"{what} must be a non-empty string, got {shown(name)}")
    if len(name) > MAX_NAME:
        raise InvalidParameter(f"{what} is {len(name)} characters long; the limit is {MAX_NAME}")
    check_text(name, what)
    return name


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
            raise InvalidParameter(f"{what}[{shown(key)}]: a tag value cannot be None")
        text = value if isinstance(value, str) else _as_text(value, f"{what}[{shown(key)}]")
        check_text(text, f"{what}[{shown(key)}]")
        check_tag_value(text, f"{what}[{shown(key)}]")
        checked[key] = text
    return checked


def _as_text(value: Any, what: str) -> str:
    """A tag value that is not a str, as its str (a value nested too deep has none)."""
    try:
        return str(value)
    except (RecursionError, ValueError) as exc:
        raise InvalidParameter(
            f"{what}: a {type(value).__name__} cannot be a tag value ({exc})", field=what
        ) from None


def check_tag_value(text: str, what: str) -> str:
    """A tag or metadata value of at most MAX_TAG_VALUE_BYTES bytes of UTF-8 (what a
    MariaDB TEXT column holds), on every backend. `text` is valid Unicode text."""
    if len(text) * 4 > MAX_TAG_VALUE_BYTES:  # a character is at most 4 bytes
        size = len(text.encode("utf-8"))
        if size > MAX_TAG_VALUE_BYTES:
            raise InvalidParameter(
                f"{what}: a tag value is at most {MAX_TAG_VALUE_BYTES:,} bytes of UTF-8, "
                f"this one is {size:,}",
                field=what,
            )
    return text


def check_tags_total(tags: dict[str, str], what: str = "tags") -> None:
    """All of one dataset's tags together (keys and values, as JSON) are at most
    MAX_TAGS_BYTES: each version of the dataset records them all."""
    size = sum(len(k.encode()) + len(v.encode()) + 6 for k, v in tags.items())
    if size > MAX_TAGS_BYTES:
        raise InvalidParameter(
            f"{what}: a dataset's tags together are at most {MAX_TAGS_BYTES:,} bytes of "
            f"UTF-8; with these they would be {size:,}",
            field=what,
        )


def check_user(user: Any) -> str:
    """The acting user recorded on every event: a non-empty str of at most 255 characters."""
    if not isinstance(user, str) or not user.strip():
        raise InvalidParameter(f"user must be a non-empty string, got {shown(user)}")
    if len(user) > MAX_USER_CHARS:
        raise InvalidParameter(
            f"user is {len(user)} characters long; the limit is {MAX_USER_CHARS}", field="user"
        )
    return check_text(user, "user")


def check_tag_key(key: Any, what: str = "tags") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameter(f"{what}: tag key {shown(key)} must be a non-empty string")
    if len(key) > MAX_TAG_KEY:
        raise InvalidParameter(f"{what}: tag key {key[:40]!r}... is longer than {MAX_TAG_KEY}")
    if key != key.rstrip():
        raise InvalidParameter(f"{what}: tag key {key!r} cannot end with white space")
    check_text(key, f"{what}: tag key")
    return key


def check_id_list(value: Any, what: str) -> list[str]:
    """A str or a list of str, as a de-duplicated list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise InvalidParameter(f"{what} must be a string or a list of strings, got {shown(value)}")
    for item in items:
        check_text(item, what)
    return list(dict.fromkeys(items))


def check_int64(value: Any, what: str) -> int:
    """A whole number (int, or a numpy integer) that fits a signed 64-bit column."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise InvalidParameter(f"{what} must be an int, got {shown(value)}", field=what)
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidParameter(f"{what} must be an int, got {shown(value)}", field=what) from None
    if not MIN_INT64 <= number <= MAX_INT64:
        raise InvalidParameter(f"{what}: {number} does not fit in 64 bits", field=what)
    return number


def check_version(version: Any, what: str = "version") -> int | str:
    """A dataset version: a number (64-bit), or a label (a str that can be stored)."""
    if isinstance(version, str):
        return check_text(version, what)
    if isinstance(version, bool) or not hasattr(type(version), "__index__"):
        raise InvalidParameter(
            f"{what} must be an int or a label, got {shown(version)}", field=what
        )
    return check_int64(version, what)


def to_ms(as_of: datetime | int, what: str = "as_of") -> int:
    """An instant as epoch ms; a naive datetime is UTC."""
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        try:
            return int(as_of.timestamp() * 1000)
        except (ValueError, OverflowError, OSError):  # pandas' NaT, an instant out of range
            raise InvalidParameter(f"{what} {shown(as_of)} is not an instant", field=what) from None
    try:
        return check_int64(as_of, what)
    except InvalidParameter as exc:
        if "64 bits" in exc.message:
            raise
        raise InvalidParameter(
            f"{what} must be a datetime or epoch ms, got {shown(as_of)}", field=what
        ) from None
