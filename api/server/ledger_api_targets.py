"""What a request of evalledger's API points at: a dataset (live, or deleted and read as it
was when deleted), or one of its versions (by number, label or instant).

Every miss says what there is instead; every malformed parameter is a 400 naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from evalledger.client import Client
from evalledger.datasets import reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.ledger import InvalidParameter, ResourceNotFound
from evalledger.server.context import RequestContext

_INTEGER = re.compile(r"-?\d+")
#: The instants a datetime can name (years 1 to 9999), in epoch ms.
_EARLIEST_MS, _LATEST_MS = -62_135_596_800_000, 253_402_300_799_999


@dataclass(frozen=True)
class Target:
    """The dataset asked for (`dataset`: now, or a read-only snapshot) and the dataset as it
    is now (`now`: live, or deleted)."""

    client: Client
    dataset: EvaluationDataset
    now: EvaluationDataset

    @property
    def record_version(self) -> int | None:
        """The version whose records to read (None: the current records)."""
        return self.dataset.version if self.dataset.is_snapshot else None


def dataset_now(client: Client, dataset_id: str) -> EvaluationDataset:
    """The dataset as it is now: live, or deleted (read-only, as it was when deleted)."""
    with client.session.connect() as conn:
        view = reads.current(conn, dataset_id=dataset_id, include_deleted=True)
    if view is None:
        raise ResourceNotFound(f"dataset {dataset_id!r} does not exist")
    return EvaluationDataset(client.session, view)


def open_target(
    ctx: RequestContext,
    dataset_id: str,
    action: str,
    *,
    version: int | None = None,
    label: str | None = None,
    as_of: str | None = None,
) -> Target:
    """The dataset (after the permission check for `action`), or the snapshot that one of
    `version`, `label` or `as_of` names."""
    check_text(dataset_id, "dataset_id")
    ctx.require_dataset(action, dataset_id)
    pairs = (("version", version), ("label", label), ("as_of", as_of))
    given = [name for name, value in pairs if value is not None and value != ""]
    if len(given) > 1:
        raise InvalidParameter(
            f"give one of version, label and as_of, not several (got {' and '.join(given)})",
            field=given[1],
        )
    client = ctx.client()
    now = dataset_now(client, dataset_id)
    if version is not None:
        number = version_number(now, version, "version")
        dataset = client.get_dataset(dataset_id=dataset_id, version=number)
    elif label:
        number = version_number(now, label, "label")
        dataset = client.get_dataset(dataset_id=dataset_id, version=number)
    elif as_of:
        dataset = client.get_dataset(dataset_id=dataset_id, as_of=parse_as_of(as_of))
    else:
        dataset = now
    return Target(client, dataset, now)


def check_text(value: str, field: str) -> str:
    """A text parameter that the database can store and compare: valid UTF-8, no NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(f"{field} is not valid UTF-8 text", field=field) from None
    if "\x00" in value:
        raise InvalidParameter(f"{field} cannot contain the NUL character (\\x00)", field=field)
    return value


def version_ref(text: str, field: str) -> int | str:
    """A version parameter: digits are a number, anything else a label."""
    text = text.strip()
    if not text:
        raise InvalidParameter(f"{field} must be a version number or a label", field=field)
    return int(text) if _INTEGER.fullmatch(text) else text


def version_number(now: EvaluationDataset, ref: int | str, field: str) -> int:
    """A version number or label, checked against the versions the dataset has."""
    if isinstance(ref, int):
        if ref < 0:
            raise InvalidParameter(f"{field} must be 0 or more, got {ref}", field=field)
        if ref > now.version:
            raise ResourceNotFound(
                f"dataset {now.dataset_id!r} has no version {ref}: its versions are 0 to "
                f"{now.version}"
            )
        return ref
    labels = now.version_labels()
    if ref not in labels:
        known = ", ".join(f"{k} (v{v})" for k, v in labels.items()) or "none"
        raise ResourceNotFound(
            f"dataset {now.dataset_id!r} has no version labelled {ref!r}; its labels: {known}"
        )
    return labels[ref]


def parse_as_of(text: str, field: str = "as_of") -> int:
    """An instant: epoch milliseconds, or an ISO 8601 datetime (naive = UTC)."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        at = int(text)
        if not _EARLIEST_MS <= at <= _LATEST_MS:
            raise InvalidParameter(f"{field} {at} ms is out of range", field=field)
        return at
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            f"{field} must be epoch milliseconds or an ISO 8601 datetime, got {text!r}",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
