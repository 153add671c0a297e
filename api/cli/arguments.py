"""Argument types and the options several commands share."""

from __future__ import annotations

import argparse
import re
from datetime import datetime


def version_arg(text: str) -> int | str:
    """A dataset version: digits are a version number, anything else a version label."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if not text:
        raise argparse.ArgumentTypeError("a version is a number or a label")
    return text


def as_of_arg(text: str) -> datetime | int:
    """An instant: epoch milliseconds, or an ISO 8601 datetime (naive = UTC)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither epoch milliseconds nor an ISO 8601 datetime "
            "(e.g. 2025-01-31T12:00:00Z)"
        ) from None


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def batch_size(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("the batch size must be at least 1")
    return value


def uri_option() -> argparse.ArgumentParser:
    """`--uri` after the command too (`evalledger datasets --uri ...`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--uri",
        dest="sub_uri",
        default=None,
        metavar="URI",
        help="tracking URI (overrides the global --uri)",
    )
    return common


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document (for scripts) instead of text",
    )


def add_name_argument(parser: argparse.ArgumentParser, *, deleted: bool = False) -> None:
    extra = "; a deleted dataset by its id" if deleted else ""
    parser.add_argument("name", metavar="NAME", help=f"a dataset name or id (d-...){extra}")


def add_snapshot_options(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--version",
        type=version_arg,
        metavar="N",
        help="read this version (a number or a version label)",
    )
    when.add_argument(
        "--as-of",
        type=as_of_arg,
        metavar="T",
        help="read the dataset as it was at T (ISO 8601 datetime, naive = UTC, or epoch ms)",
    )
