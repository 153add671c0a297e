"""A dataset's current-view row as a value the fold changes and writes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger.ledger.encoding import trusted_text
from evalledger.projections import digest
from evalledger.projections.schema import datasets


@dataclass(slots=True)
class DatasetState:
    """A dataset's metadata at one version: the current row, which the fold changes and
    writes back, or a past version's row (read-only; its digest is stored, not its sum)."""

    dataset_id: str
    name: str
    version: int
    created_time: int
    created_by: str
    last_update_time: int
    last_updated_by: str
    digest_sum: int = 0
    num_records: int = 0
    next_seq: int = 0
    source_counts: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    experiment_ids: list[str] = field(default_factory=list)
    deleted: bool = False
    past_digest: str | None = None

    @classmethod
    def load(cls, conn: sa.Connection, dataset_id: str) -> DatasetState | None:
        row = conn.execute(sa.select(datasets).where(datasets.c.dataset_id == dataset_id)).first()
        return None if row is None else cls.from_row(row)

    @classmethod
    def from_row(cls, row: Any, created: Any = None) -> DatasetState:
        """Decode a row of the current-datasets table, or of the versions table together
        with the version-0 row that says who created the dataset and when (`created`)."""
        past = created is not None
        origin = created if past else row
        return cls(
            dataset_id=row.dataset_id,
            name=row.name,
            version=row.version,
            created_time=origin.created_time,
            created_by=origin.created_by,
            last_update_time=row.last_update_time,
            last_updated_by=row.last_updated_by,
            digest_sum=0 if past else int(row.digest_sum, 16),
            num_records=row.num_records,
            next_seq=0 if past else row.next_seq,
            source_counts=orjson.loads(row.source_counts),
            tags=orjson.loads(row.tags),
            experiment_ids=orjson.loads(row.experiment_ids),
            deleted=row.deleted,
            past_digest=row.digest if past else None,
        )

    @property
    def digest(self) -> str:
        return self.past_digest or digest.digest(self.digest_sum)

    def row(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "digest_sum": digest.to_hex(self.digest_sum),
            "num_records": self.num_records,
            "next_seq": self.next_seq,
            "source_counts": trusted_text(self.source_counts),
            "tags": trusted_text(self.tags),
            "experiment_ids": trusted_text(self.experiment_ids),
            "created_time": self.created_time,
            "last_update_time": self.last_update_time,
            "created_by": self.created_by,
            "last_updated_by": self.last_updated_by,
            "deleted": self.deleted,
        }
