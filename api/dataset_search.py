"""search_datasets: the filter grammar compiled to bound SQL, with keyset paging."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledger import InvalidParameter
from projections.schema import dataset_experiments, dataset_tags, datasets

from . import dataset_reads as reads
from . import paging
from .evaluation_dataset import EvaluationDataset
from .filters import Comparison, compare, compile_filter, parse_filter, parse_order_by
from .sql_numbers import as_number
from .tracking import store_for
from .validation import check_id_list

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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


def _resolve(cmp: Comparison) -> sa.ColumnElement[bool]:
    key = cmp.field.key
    if cmp.field.kind == "attribute":
        if key in _STRING_ATTRIBUTES:
            if cmp.value is not None and not all(isinstance(v, str) for v in _values(cmp.value)):
                raise InvalidParameter(
                    f"filter: {key} is a string attribute; compare it with a quoted string"
                )
            return compare(_STRING_ATTRIBUTES[key], cmp.op, cmp.value)
        if key in _NUMBER_ATTRIBUTES:
            if cmp.op in ("LIKE", "ILIKE") or (
                cmp.value is not None and not all(_is_number(v) for v in _values(cmp.value))
            ):
                raise InvalidParameter(
                    f"filter: {key} is a number (epoch ms); compare it with a number"
                )
            return compare(_NUMBER_ATTRIBUTES[key], cmp.op, cmp.value)
        allowed = ", ".join([*_STRING_ATTRIBUTES, *_NUMBER_ATTRIBUTES, "tags.<key>"])
        raise InvalidParameter(f"filter: unknown attribute {key!r}; use one of {allowed}")
    if cmp.field.kind != "tag":
        raise InvalidParameter(f"filter: datasets have no {cmp.field.kind} fields (use tags.<key>)")
    has_tag = sa.and_(
        dataset_tags.c.dataset_id == datasets.c.dataset_id, compare(dataset_tags.c.key, "=", key)
    )
    if cmp.op == "IS NULL":
        return ~sa.exists().where(has_tag)
    if cmp.op == "IS NOT NULL":
        return sa.exists().where(has_tag)
    values = _values(cmp.value)
    if all(_is_number(v) for v in values):
        condition = compare(as_number(dataset_tags.c.value), cmp.op, cmp.value)
    else:
        value = (
            tuple(str(v) for v in values) if isinstance(cmp.value, tuple | list) else str(cmp.value)
        )
        condition = compare(dataset_tags.c.value, cmp.op, value)
    return sa.exists().where(has_tag, condition)


def search_datasets(
    experiment_ids: str | list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    page_token: str | None = None,
) -> paging.PagedList:
    """Live datasets matching a filter, one page at a time (`.token` for the next page)."""
    limit = paging.check_max_results(max_results, MAX_RESULTS_DEFAULT, MAX_RESULTS_LIMIT)
    condition = compile_filter(parse_filter(filter_string), _resolve)
    order = parse_order_by(order_by, _ORDER_KEYS, [(datasets.c.created_time, True)])
    order.append((datasets.c.dataset_id, False))
    experiments = (
        None if experiment_ids is None else check_id_list(experiment_ids, "experiment_ids")
    )
    query_id = paging.fingerprint(filter_string, order_by, experiments)
    key = paging.decode_token(page_token, query_id)

    query = sa.select(datasets).where(datasets.c.deleted.is_(False), condition)
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
    store = store_for()
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    page = rows[:limit]
    token = None
    if len(rows) > limit:
        last = page[-1]
        token = paging.encode_token(query_id, [getattr(last, c.name) for c, _ in order])
    return paging.PagedList([EvaluationDataset(store, reads.from_row(r)) for r in page], token)
