"""search_datasets (API.md §3): the filter grammar, ordering, keyset paging and its errors."""

from __future__ import annotations

import time
from typing import Any

import pytest

from evalledger import Client, errors


@pytest.fixture
def client(client: Client) -> Client:
    """The test's client, already used once: first use creates the Default experiment."""
    client.search_experiments()
    return client


def make(client: Client, *names: str) -> list[Any]:
    """Create datasets in this order, each at a later millisecond than the one before."""
    return make_tagged(client, {name: {} for name in names})


def make_tagged(client: Client, tags_by_name: dict[str, dict[str, str]]) -> list[Any]:
    """Like make(), each dataset with its tags."""
    made = []
    for name, tags in tags_by_name.items():
        made.append(client.create_dataset(name, tags=tags))
        time.sleep(0.003)
    return made


def names(client: Client, filter_string: str | None = None, **kw: Any) -> list[str]:
    return [d.name for d in client.search_datasets(filter_string=filter_string, **kw)]


def name_set(client: Client, filter_string: str | None = None, **kw: Any) -> set[str]:
    found = names(client, filter_string, **kw)
    assert len(found) == len(set(found)), f"duplicates in {found}"
    return set(found)


def collect_pages(client: Client, max_results: int, **kw: Any) -> tuple[list[str], int]:
    """Every page of a search: the dataset ids in page order and the number of pages."""
    ids, token, pages = [], None, 0
    while True:
        page = client.search_datasets(max_results=max_results, page_token=token, **kw)
        pages += 1
        assert len(page) <= max_results
        ids.extend(d.dataset_id for d in page)
        token = page.token
        if token is None:
            return ids, pages


# ----------------------------------------------------------------------------- name


@pytest.fixture
def named(client: Client) -> None:
    make(client, "alpha", "Alpine", "beta", "gamma_1", "gamma-2")


def test_name_equality_and_in_lists_are_exact(client: Client, named: None) -> None:
    assert name_set(client, "name = 'alpha'") == {"alpha"}
    assert name_set(client, 'name = "Alpine"') == {"Alpine"}
    assert name_set(client, "name = 'alpine'") == set()
    assert name_set(client, "name != 'alpha'") == {"Alpine", "beta", "gamma_1", "gamma-2"}
    assert name_set(client, "name IN ('alpha', 'beta', 'ALPINE')") == {"alpha", "beta"}
    assert name_set(client, "name NOT IN ('alpha', 'beta')") == {"Alpine", "gamma_1", "gamma-2"}


def test_name_like_is_case_sensitive(client: Client, named: None) -> None:
    assert name_set(client, "name LIKE 'al%'") == {"alpha"}
    assert name_set(client, "name LIKE 'Al%'") == {"Alpine"}
    assert name_set(client, "name LIKE 'gamma_1'") == {"gamma_1"}
    assert name_set(client, "name LIKE '%a'") == {"alpha", "beta"}


def test_name_ilike_ignores_case(client: Client, named: None) -> None:
    assert name_set(client, "name ILIKE 'AL%'") == {"alpha", "Alpine"}
    assert name_set(client, "name ILIKE '%ETA'") == {"beta"}


def test_filter_values_are_data_not_sql(client: Client, named: None) -> None:
    assert names(client, "name = 'x'' OR ''1''=''1'") == []
    assert names(client, "name = 'alpha; DROP TABLE datasets'") == []
    assert name_set(client, "name LIKE '%'") == {"alpha", "Alpine", "beta", "gamma_1", "gamma-2"}


# ----------------------------------------------------------------------------- times, users


def test_created_time_numeric_comparisons(client: Client) -> None:
    first, second, _ = make(client, "first", "second", "third")
    t = second.created_time
    assert name_set(client, f"created_time = {t}") == {"second"}
    assert name_set(client, f"created_time != {t}") == {"first", "third"}
    assert name_set(client, f"created_time < {t}") == {"first"}
    assert name_set(client, f"created_time <= {t}") == {"first", "second"}
    assert name_set(client, f"created_time > {t}") == {"third"}
    assert name_set(client, f"created_time >= {t}") == {"second", "third"}
    window = f"created_time >= {first.created_time} AND created_time < {t}"
    assert name_set(client, window) == {"first"}


def test_filter_on_created_by(client: Client, db_url: str) -> None:
    make(Client(db_url, user="alice"), "by-alice")
    make(Client(db_url, user="bob"), "by-bob")
    assert name_set(client, "created_by = 'alice'") == {"by-alice"}
    assert name_set(client, "last_updated_by = 'bob'") == {"by-bob"}


# ----------------------------------------------------------------------------- tags


def test_tag_comparisons_including_backticked_keys_with_spaces(client: Client) -> None:
    make_tagged(
        client, {"a": {"env": "prod", "my key": "x y"}, "b": {"env": "dev"}, "c": {"other": "1"}}
    )
    assert name_set(client, "tags.env = 'prod'") == {"a"}
    assert name_set(client, "tags.env != 'prod'") == {"b"}
    assert name_set(client, "tags.env IN ('prod', 'dev')") == {"a", "b"}
    assert name_set(client, "tags.env LIKE 'd%'") == {"b"}
    assert name_set(client, "tags.`my key` = 'x y'") == {"a"}


def test_tag_is_null_and_is_not_null(client: Client) -> None:
    make_tagged(client, {"tagged": {"reviewed": "yes"}, "untagged": {}})
    assert name_set(client, "tags.reviewed IS NULL") == {"untagged"}
    assert name_set(client, "tags.reviewed IS NOT NULL") == {"tagged"}


def test_tag_keys_are_case_sensitive_in_filters(client: Client) -> None:
    make_tagged(client, {"upper": {"ENV": "prod"}, "lower": {"env": "prod"}})
    assert name_set(client, "tags.env = 'prod'") == {"lower"}
    assert name_set(client, "tags.ENV IS NOT NULL") == {"upper"}


def test_a_numeric_tag_comparison_compares_numbers_and_skips_other_values(client: Client) -> None:
    make_tagged(
        client, {"three": {"n": "3"}, "ten": {"n": "10"}, "abc": {"n": "abc"}, "one": {"n": "1"}}
    )
    assert name_set(client, "tags.n > 2") == {"three", "ten"}
    assert name_set(client, "tags.n <= 3") == {"three", "one"}
    assert name_set(client, "tags.n = 10") == {"ten"}


def test_tag_values_that_only_look_partly_numeric_never_match_a_number(client: Client) -> None:
    make_tagged(client, {"range": {"n": "5-7"}, "version": {"n": "1.2.3"}, "exp": {"n": "9e"}})
    assert name_set(client, "tags.n > 0") == set()


def test_and_or_and_parentheses(client: Client) -> None:
    make_tagged(
        client,
        {
            "a1": {"g": "a", "v": "1"},
            "a2": {"g": "a", "v": "2"},
            "b1": {"g": "b", "v": "1"},
            "b2": {"g": "b", "v": "2"},
        },
    )
    assert name_set(client, "tags.g = 'a' AND tags.v = '1'") == {"a1"}
    assert name_set(client, "tags.g = 'a' OR tags.v = '1'") == {"a1", "a2", "b1"}
    assert name_set(client, "tags.g = 'b' AND tags.v = '2' OR name = 'a1'") == {"a1", "b2"}
    assert name_set(client, "tags.g = 'b' AND (tags.v = '2' OR name = 'a1')") == {"b2"}
    assert name_set(client, "(name = 'a1' OR name = 'b1') and tags.v = '1'") == {"a1", "b1"}


# ----------------------------------------------------------------------------- experiments


def test_experiment_ids_restrict_the_search(client: Client) -> None:
    exp_a, exp_b = client.create_experiment("a"), client.create_experiment("b")
    client.create_dataset("in-a", experiment_id=exp_a)
    client.create_dataset("in-b", experiment_id=exp_b)
    client.create_dataset("in-both", experiment_id=[exp_a, exp_b])
    client.create_dataset("in-default")
    assert name_set(client, experiment_ids=[exp_a]) == {"in-a", "in-both"}
    assert name_set(client, experiment_ids=exp_b) == {"in-b", "in-both"}
    assert name_set(client, experiment_ids=["0", exp_a]) == {"in-a", "in-both", "in-default"}
    assert name_set(client) == {"in-a", "in-b", "in-both", "in-default"}
    assert name_set(client, "name LIKE 'in-b%'", experiment_ids=[exp_a]) == {"in-both"}


# ----------------------------------------------------------------------------- order_by


def test_order_by_name(client: Client) -> None:
    make(client, "delta", "alpha", "charlie", "bravo")
    assert names(client, order_by=["name ASC"]) == ["alpha", "bravo", "charlie", "delta"]
    assert names(client, order_by=["name DESC"]) == ["delta", "charlie", "bravo", "alpha"]


def test_order_by_created_time_and_by_default_newest_first(client: Client) -> None:
    make(client, "first", "second", "third")
    assert names(client, order_by=["created_time DESC"]) == ["third", "second", "first"]
    assert names(client, order_by=["created_time ASC"]) == ["first", "second", "third"]
    assert names(client) == ["third", "second", "first"]


def test_order_by_last_update_time(client: Client) -> None:
    first, _, _ = make(client, "first", "second", "third")
    client.set_dataset_tags(first.dataset_id, {"touched": "yes"})
    assert names(client, order_by=["last_update_time DESC"]) == ["first", "third", "second"]
    assert names(client, order_by=["last_update_time ASC"]) == ["second", "third", "first"]


def test_unknown_order_by_key_is_invalid(client: Client) -> None:
    with pytest.raises(errors.InvalidParameter):
        client.search_datasets(order_by=["digest ASC"])
    with pytest.raises(errors.InvalidParameter):
        client.search_datasets(order_by=["name UP"])


# ----------------------------------------------------------------------------- paging


def test_paging_by_two_visits_seven_datasets_exactly_once(client: Client) -> None:
    created = [client.create_dataset(f"ds-{i}").dataset_id for i in range(7)]
    ids, pages = collect_pages(client, 2)
    assert sorted(ids) == sorted(created)
    assert len(ids) == 7
    assert pages == 4
    assert ids == [d.dataset_id for d in client.search_datasets()]


def test_paging_by_name_visits_each_dataset_once(client: Client) -> None:
    created = [client.create_dataset(name).dataset_id for name in "gfedcba"]
    ids, _ = collect_pages(client, 3, order_by=["name ASC"])
    assert ids == list(reversed(created))


def test_paging_is_stable_when_a_dataset_is_created_between_pages(client: Client) -> None:
    created = {d.dataset_id for d in make(client, *[f"ds-{i}" for i in range(7)])}
    first = client.search_datasets(max_results=2)
    client.create_dataset("late")
    ids = [d.dataset_id for d in first]
    token = first.token
    while token is not None:
        page = client.search_datasets(max_results=2, page_token=token)
        ids.extend(d.dataset_id for d in page)
        token = page.token
    assert len(ids) == len(set(ids))
    assert created <= set(ids)


def test_a_page_token_from_another_search_is_invalid(client: Client) -> None:
    make(client, "a1", "a2", "a3")
    page = client.search_datasets(filter_string="name LIKE 'a%'", max_results=1)
    assert page.token is not None
    with pytest.raises(errors.InvalidParameter):
        client.search_datasets(
            filter_string="name LIKE 'a1%'", max_results=1, page_token=page.token
        )
    with pytest.raises(errors.InvalidParameter):
        client.search_datasets(order_by=["name ASC"], max_results=1, page_token=page.token)
    with pytest.raises(errors.InvalidParameter):
        client.search_datasets(page_token="not-a-token")


def test_max_results_out_of_range_is_invalid(client: Client) -> None:
    make(client, "a")
    for bad in (0, -1, 50_001, "10", 2.5, True):
        with pytest.raises(errors.InvalidParameter):
            client.search_datasets(max_results=bad)
    assert names(client, max_results=1) == ["a"]
    assert names(client, max_results=50_000) == ["a"]


# ----------------------------------------------------------------------------- errors, deletion

MALFORMED = [
    ("name = 'a' AND", "AND"),
    ("name == 'a'", "=="),
    ("name = 'a' extra", "extra"),
    ("name ~ 'a'", "~"),
    ("(name = 'a'", "("),
    ("name = 'unterminated", "unterminated"),
    ("name LIKE 5", "5"),
    ("name IN 'a'", "'a'"),
    ("tags.env IS MAYBE", "MAYBE"),
]


def test_a_malformed_filter_is_invalid_and_names_the_offending_token(client: Client) -> None:
    for text, token in MALFORMED:
        with pytest.raises(errors.InvalidParameter) as caught:
            client.search_datasets(filter_string=text)
        assert token in str(caught.value), (text, str(caught.value))


def test_an_unknown_attribute_or_a_value_of_the_wrong_type_is_invalid(client: Client) -> None:
    for text, token in [("color = 'red'", "color"), ("params.lr = '0.1'", "params")]:
        with pytest.raises(errors.InvalidParameter) as caught:
            client.search_datasets(filter_string=text)
        assert token in str(caught.value)
    for text in ["created_time = 'yesterday'", "name = 5", "created_time LIKE '1%'"]:
        with pytest.raises(errors.InvalidParameter):
            client.search_datasets(filter_string=text)


def test_deleted_datasets_never_appear(client: Client) -> None:
    gone, kept = make_tagged(client, {"gone": {"k": "v"}, "kept": {"k": "v"}})
    client.delete_dataset(dataset_id=gone.dataset_id)
    assert names(client) == ["kept"]
    assert names(client, "name = 'gone'") == []
    assert names(client, "tags.k = 'v'") == ["kept"]
    assert names(client, experiment_ids=["0"]) == ["kept"]
    ids, _ = collect_pages(client, 1)
    assert ids == [kept.dataset_id]


def test_search_results_are_full_datasets(client: Client) -> None:
    (made,) = make_tagged(client, {"full": {"k": "v"}})
    made.merge_records([{"inputs": {"q": 1}}])
    (found,) = client.search_datasets()
    assert found.dataset_id == made.dataset_id
    assert found.tags == {"k": "v"}
    assert found.experiment_ids == ["0"]
    assert found.version == 1
    assert found.digest == made.digest
    assert [r.inputs for r in found.records] == [{"q": 1}]
