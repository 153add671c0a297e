"""check_projections compares tables by sums of row digests: it still names the row that
differs (changed, missing or extra), in a table big enough to fill many buckets."""

from __future__ import annotations

import sqlalchemy as sa

from evalledger import Client
from evalledger.projections.compare import BUCKETS
from evalledger.projections.rebuild import check_projections, rebuild
from evalledger.projections.schema import dataset_records, dataset_tags

RECORDS = 3 * BUCKETS


def _filled(client: Client) -> str:
    ds = client.create_dataset("many", tags={"team": "a"})
    ds.merge_records([{"inputs": {"q": f"q{i}"}, "expectations": {"a": i}} for i in range(RECORDS)])
    return ds.dataset_id


def _row_key(conn: sa.Connection, dataset_id: str, n: int) -> tuple:
    row = conn.execute(
        sa.select(dataset_records.c.record_id, dataset_records.c.valid_from)
        .where(dataset_records.c.dataset_id == dataset_id)
        .order_by(dataset_records.c.seq)
        .offset(n)
        .limit(1)
    ).one()
    return (dataset_id, row.record_id, row.valid_from)


def test_a_changed_row_is_named_by_table_and_key(client: Client) -> None:
    dataset_id = _filled(client)
    report = check_projections(client.store)
    assert report.ok and report.rows_compared > RECORDS
    with client.store.engine.begin() as conn:
        key = _row_key(conn, dataset_id, RECORDS - 7)
        conn.execute(
            dataset_records.update()
            .where(dataset_records.c.record_id == key[1])
            .values(created_by="mallory")
        )
    report = check_projections(client.store)
    assert not report.ok
    assert report.difference == (
        f"table dataset_records: row {key} differs from a fresh replay of the events"
    )
    rebuild(client.store)
    assert check_projections(client.store).ok


def test_a_missing_and_an_extra_row_are_named(client: Client) -> None:
    dataset_id = _filled(client)
    with client.store.engine.begin() as conn:
        key = _row_key(conn, dataset_id, 11)
        conn.execute(dataset_records.delete().where(dataset_records.c.record_id == key[1]))
    report = check_projections(client.store)
    assert report.difference == f"table dataset_records: row {key} is missing from the database"
    rebuild(client.store)
    with client.store.engine.begin() as conn:
        conn.execute(dataset_tags.insert().values(dataset_id=dataset_id, key="forged", value="1"))
    report = check_projections(client.store)
    assert report.difference == (
        f"table dataset_tags: row {(dataset_id, 'forged')} is in the database but not in a "
        "fresh replay"
    )
