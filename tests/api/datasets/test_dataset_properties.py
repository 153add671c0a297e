"""Properties of datasets on every backend (DESIGN.md invariants 1, 2 and 5): the digest
depends on content only, merging a batch again changes nothing (and makes no version), every
version is a real change, and the projections always equal a fresh replay of the ledger's
events."""

from __future__ import annotations

import itertools
import math
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalledger import Client
from evalledger.ledger import EventStore, create_engine
from evalledger.migrations.runner import upgrade
from evalledger.projections import fold
from evalledger.projections.schema import PROJECTION_TABLES

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_names = itertools.count()

# ----------------------------------------------------------------------------- strategies

text = st.text(st.characters(codec="utf-8"), max_size=6)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
json_dict = st.dictionaries(text, json_value, max_size=3)
sources = st.builds(
    lambda kind, sid: {
        "source_type": kind,
        "source_data": {} if sid is None else {"source_id": sid},
    },
    st.sampled_from(["HUMAN", "CODE", "DOCUMENT", "UNSPECIFIED", "human"]),
    st.none() | st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=8),
)


@st.composite
def records(draw: st.DrawFn, inputs: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A record dict; each optional field is either absent or drawn."""
    record: dict[str, Any] = {"inputs": draw(inputs)}
    for key, strategy in (
        ("outputs", json_value),
        ("expectations", json_dict),
        ("tags", json_dict),
        ("source", sources),
    ):
        if draw(st.booleans()):
            record[key] = draw(strategy)
    return record


#: Few distinct inputs, so that records often match and merge.
colliding_inputs = st.fixed_dictionaries({"q": st.integers(0, 4)}) | st.just({})
colliding_records = records(colliding_inputs)
any_records = records(json_dict)


def inputs_key(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record["inputs"], option=orjson.OPT_SORT_KEYS)


def distinct_inputs(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first record of each distinct inputs (so order cannot change the content)."""
    return list({inputs_key(r): r for r in reversed(batch)}.values())[::-1]


tag_keys = st.sampled_from(["env", "owner", "Stage", "n"])
tag_values = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=5)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("merge"), st.lists(colliding_records, max_size=4)),
        st.tuples(st.just("delete_records"), st.lists(st.integers(0, 9), max_size=3)),
        st.tuples(st.just("set_tags"), st.dictionaries(tag_keys, tag_values, min_size=1)),
        st.tuples(st.just("delete_tag"), st.integers(0, 9)),
        st.tuples(st.just("restore"), st.integers(0, 9)),
        st.tuples(st.just("delete_and_undelete"), st.none()),
    ),
    max_size=6,
)

# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def client(client: Client) -> Client:
    """The test's client, already used once: first use creates the Default experiment."""
    client.search_experiments()
    return client


def fresh_dataset(client: Client, prefix: str) -> Any:
    return client.create_dataset(f"{prefix}-{next(_names)}")


def comparable_rows(client: Client, dataset: Any) -> list[tuple[Any, ...]]:
    """to_df() rows as tuples, a missing cell (None or NaN) as None."""
    df = client.get_dataset(dataset_id=dataset.dataset_id).to_df()
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in df.itertuples(index=False)
    ]


def content(client: Client, dataset: Any) -> list[bytes]:
    """The dataset's records as canonical JSON of their content, sorted (order-free)."""
    return sorted(
        orjson.dumps(
            {
                "inputs": r.inputs,
                "outputs": r.outputs,
                "expectations": r.expectations,
                "tags": r.tags,
                "source": r.source.to_dict(),
            },
            option=orjson.OPT_SORT_KEYS,
        )
        for r in client.get_dataset(dataset_id=dataset.dataset_id).records
    )


def table_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the projection tables as Python values, sorted by primary key in Python
    (a backend's collation would order text keys its own way)."""
    found = {}
    with engine.connect() as conn:
        for table in PROJECTION_TABLES:
            key = [i for i, c in enumerate(table.columns) if c.primary_key]
            rows = [tuple(row) for row in conn.execute(sa.select(table))]
            found[table.name] = sorted(rows, key=lambda row: [row[i] for i in key])
    return found


def replayed_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The projection rows a fresh replay of every event at `url` gives."""
    source = create_engine(url)
    replay = create_engine("sqlite://")
    try:
        events = list(EventStore(source).iter_all())
        upgrade(replay)
        with replay.begin() as conn:
            fold.apply(conn, events)
        return table_rows(replay)
    finally:
        source.dispose()
        replay.dispose()


def run(client: Client, dataset: Any, operation: tuple[str, Any]) -> None:
    """Apply one operation (deleting a tag when there is none is skipped)."""
    kind, arg = operation
    if kind == "merge":
        dataset.merge_records(arg)
    elif kind == "delete_records":
        ids = [r.dataset_record_id for r in dataset.records]
        chosen = [ids[i % len(ids)] for i in arg] if ids else []
        dataset.delete_records([*chosen, "dr-" + "0" * 32])
    elif kind == "set_tags":
        client.set_dataset_tags(dataset.dataset_id, arg)
    elif kind == "restore":
        dataset.restore(arg % (client.get_dataset(dataset_id=dataset.dataset_id).version + 1))
    elif kind == "delete_and_undelete":
        client.delete_dataset(dataset.dataset_id)
        client.undelete_dataset(dataset.dataset_id)
    else:
        keys = sorted(client.get_dataset(dataset_id=dataset.dataset_id).tags)
        if keys:
            client.delete_dataset_tag(dataset.dataset_id, keys[arg % len(keys)])


# ----------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(
    batch=st.lists(any_records, min_size=1, max_size=6).map(distinct_inputs),
    order=st.randoms(use_true_random=False),
    cuts=st.sets(st.integers(1, 5), max_size=3),
)
def test_digest_does_not_depend_on_record_order_or_batching(
    client: Client, batch: list[dict[str, Any]], order: Any, cuts: set[int]
) -> None:
    together = fresh_dataset(client, "together")
    together.merge_records(batch)

    shuffled = list(batch)
    order.shuffle(shuffled)
    bounds = [0, *sorted(c for c in cuts if c < len(shuffled)), len(shuffled)]
    piecewise = fresh_dataset(client, "piecewise")
    for start, end in itertools.pairwise(bounds):
        piecewise.merge_records(shuffled[start:end])

    assert piecewise.digest == together.digest
    assert content(client, piecewise) == content(client, together)


@PROPERTY_SETTINGS
@given(batch=st.lists(colliding_records, max_size=6))
def test_merging_the_same_batch_again_adds_and_changes_nothing(
    client: Client, batch: list[dict[str, Any]]
) -> None:
    dataset = fresh_dataset(client, "twice")
    dataset.merge_records(batch)
    first_version, first_digest = dataset.version, dataset.digest
    first_rows = comparable_rows(client, dataset)
    first_updates = [r.last_update_time for r in dataset.records]

    events = client.store.head().position
    dataset.merge_records(batch)

    assert dataset.version == first_version  # a merge that changes nothing makes no version
    assert client.store.head().position == events
    assert dataset.digest == first_digest
    assert comparable_rows(client, dataset) == first_rows
    assert [r.last_update_time for r in dataset.records] == first_updates


@PROPERTY_SETTINGS
@given(steps=operations)
def test_projections_equal_a_fresh_replay_after_any_operations(
    client: Client, engine: sa.Engine, steps: list[tuple[str, Any]]
) -> None:
    dataset = fresh_dataset(client, "replay")
    for step in steps:
        before = client.get_dataset(dataset_id=dataset.dataset_id).version
        run(client, dataset, step)
        after = client.get_dataset(dataset_id=dataset.dataset_id).version
        if step[0] == "delete_and_undelete":
            assert after == before + 2
        elif after != before:  # every version is a real change
            assert after == before + 1
            assert not dataset.diff(before, after).is_empty, step
    history = client.get_dataset(dataset_id=dataset.dataset_id).history()
    assert list(history["version"]) == list(range(len(history)))
    assert table_rows(engine) == replayed_rows(client.tracking_uri)
