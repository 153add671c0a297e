"""search_datasets: the filter grammar compiled to bound SQL, with keyset paging."""

from __future__ import annotations

import sqlalchemy as sa

from evalledger.datasets import reads as reads
from evalledger.datasets.dataset import EvaluationDataset
from evalledger.ledger import InvalidParameter
from evalledger.projections.schema import dataset_experiments, dataset_tags, datasets
from evalledger.query import paging
from evalledger.query.filters import (
    Comparison,
    compare_attribute,
    compare_key_value,
    compile_filter,
    parse_filter,
    parse_order_by,
)
from evalledger.session import Session
from evalledger.validation import check_id_list, shown

_STRING_ATTRIBUTES = {
    "name": datasets.c.name,
    "created_by": datasets.c.created_by,
    "last_updated_by": datasets.c.last_updated_by,
    "dataset_id": datasets.c.dataset_id,
}
_NUMBER_ATTRIBUTES = {
    "created_time": datasets.c.created_time,
    "last_update_time": datasets.c.last_update_time,
}
_ORDER_KEYS = {
    "name": datasets.c.name,
    "created_time": datasets.c.created_time,
    "last_update_time": datasets.c.last_update_time,
}
MAX_RESULTS_DEFAULT, MAX_RESULTS_LIMIT = 1000, 50_000


def _resolve(cmp: Comparison) -> sa.ColumnElement[bool]:
    key = cmp.field.key
    if cmp.field.kind == "attribute":
        condition = compare_attribute(cmp, _STRING_ATTRIBUTES, _NUMBER_ATTRIBUTES, key)
        if condition is not None:
            return condition
        allowed = ", ".join([*_STRING_ATTRIBUTES, *_NUMBER_ATTRIBUTES, "tags.<key>"])
        raise InvalidParameter(f"filter: unknown attribute {key!r}; use one of {allowed}")
    if cmp.field.kind != "tag":
        raise InvalidParameter(f"filter: datasets have no {cmp.field.kind} fields (use tags.<key>)")
    owner = dataset_tags.c.dataset_id == datasets.c.dataset_id
    return compare_key_value(owner, dataset_tags.c.key, dataset_tags.c.value, cmp)


def search_datasets(
    session: Session,
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> paging.PagedList:
    """Live datasets matching a filter, one page at a time (`.token` for the next page).

    `include_deleted` lists deleted datasets too: read-only handles whose `deleted_time`
    is set (writes on them raise ResourceNotFound until `undelete_dataset`).
    """
    if not isinstance(include_deleted, bool):
        raise InvalidParameter(
            f"include_deleted must be True or False, got {shown(include_deleted)}"
        )
    limit = paging.check_max_results(max_results, MAX_RESULTS_DEFAULT, MAX_RESULTS_LIMIT)
    condition = compile_filter(parse_filter(filter_string), _resolve)
    order = parse_order_by(order_by, _ORDER_KEYS, [(datasets.c.created_time, True)])
    order.append((datasets.c.dataset_id, False))
    experiments = (
        None if experiment_ids is None else check_id_list(experiment_ids, "experiment_ids")
    )
    parts = (filter_string, order_by, experiments) + (("deleted",) if include_deleted else ())
    query_id = paging.fingerprint(*parts)
    key = paging.decode_token(page_token, query_id)

    query = sa.select(datasets).where(condition)
    if not include_deleted:
        query = query.where(datasets.c.deleted.is_(False))
    if experiments is not None:
        query = query.where(
            sa.exists().where(
                dataset_experiments.c.dataset_id == datasets.c.dataset_id,
                dataset_experiments.c.experiment_id.in_(experiments),
            )
        )
    if key is not None:
        query = query.where(paging.after(order, key))
    query = query.order_by(*[c.desc() if d else c.asc() for c, d in order]).limit(limit + 1)
    with session.connect() as conn:
        rows = conn.execute(query).all()
    page = rows[:limit]
    token = None
    if len(rows) > limit:
        last = page[-1]
        token = paging.encode_token(query_id, [getattr(last, c.name) for c, _ in order])
    return paging.PagedList([EvaluationDataset(session, reads.from_row(r)) for r in page], token)
