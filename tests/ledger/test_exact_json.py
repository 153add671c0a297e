"""loads_exact reads every JSON text as the standard library does: no integer rounded, however
its long digit runs sit (numbers, or digits inside strings such as trace ids)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from evalledger.ledger.exact_json import loads_exact

#: Integers on both sides of what orjson keeps exact (-2**63 .. 2**64 - 1).
integers = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.integers(-(10**40), 10**40),
    st.sampled_from([2**64, -(2**63) - 1, 10**19, -(10**19), 10**20 - 1]),
)
#: Strings holding long digit runs, after the characters a number may follow.
digit_strings = st.builds(
    lambda before, digits: before + digits,
    st.sampled_from(["", "tr-", "x:", "[", ",", " ", "id "]),
    st.integers(10**18, 10**30).map(str),
)
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        integers,
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        digit_strings,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=4), digit_strings), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([None, 1, 2]), st.booleans())
def test_loads_exact_reads_what_the_standard_library_reads(
    value: object, indent: int | None, as_bytes: bool
) -> None:
    text = json.dumps(value, indent=indent)
    decoded = loads_exact(text.encode() if as_bytes else text)
    assert decoded == json.loads(text)
    assert json.dumps(decoded) == json.dumps(json.loads(text))  # 10**20 stays an int


def test_a_long_number_at_the_start_or_after_spaces_is_kept_exact() -> None:
    for text in (
        "123456789012345678901234",
        " \n -12345678901234567890",
        "[1,\n\t99999999999999999999]",
    ):
        assert loads_exact(text) == json.loads(text)
