"""Every table definition in code, for autogenerate and for the schema-equality test."""

from __future__ import annotations

from evalledger.ledger.schema import metadata as ledger_metadata
from evalledger.projections.schema import metadata as projections_metadata

target_metadata = [ledger_metadata, projections_metadata]
