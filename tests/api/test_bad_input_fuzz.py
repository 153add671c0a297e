"""Generated bad input, on every backend: each call of the public API succeeds or raises a
LedgerError (never another exception, and never one whose message a server could not
send), and a call that fails leaves the ledger as it was: the event count, the head hash,
every dataset's version and digest and the row counts of the projections. The CLI, run
in-process on generated argument vectors, exits 0, 1 or 2, prints no traceback, and a
failed command changes nothing.

Every target runs a fixed number of derandomized examples, so CI sees the same inputs on
every run (EVALLEDGER_FUZZ_EXAMPLES changes the number; EVALLEDGER_FUZZ_RANDOM=1 draws new
inputs each run, to explore). Each target prints its counts, tried and clean; with
EVALLEDGER_FUZZ_REPORT=FILE they are appended to FILE (bench/fuzz_count.py prints them).
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bad_inputs as bad
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalledger import Client, EvaluationDataset
from evalledger.cli.main import main
from evalledger.datasets.transfer import import_records
from evalledger.errors import ResourceNotFound

#: Strategies for long filters make long reprs; hypothesis warns of that, needlessly here.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
EXAMPLES = int(os.environ.get("EVALLEDGER_FUZZ_EXAMPLES", "200"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("EVALLEDGER_FUZZ_RANDOM"),  # explore: set it to 1
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

Op = Callable[[st.DataObject], Callable[[], Any]]


@dataclass(frozen=True)
class Seed:
    """What the generated calls aim at: a dataset with records, tags and a label; a trace
    with a tag, metadata and an expectation; an experiment."""

    dataset: EvaluationDataset
    trace_id: str
    span_id: str
    experiment_id: str
    trace_dict: dict[str, Any]


def seed(client: Client) -> Seed:
    experiment_id = client.create_experiment("exp")
    ds = client.create_dataset("base", experiment_id=experiment_id, tags={"k": "v"})
    ds.merge_records([{"inputs": {"q": i}, "expectations": {"a": i}} for i in range(3)])
    ds.label_version("gold")
    trace = client.log_trace({"q": 1}, {"a": 1}, tags={"k": "v"}, metadata={"m": "1"})
    trace_id = trace.info.trace_id
    client.log_expectation(trace_id, "answer", 1)
    return Seed(
        ds,
        trace_id,
        trace.data.spans[0].span_id,
        experiment_id,
        client.get_trace(trace_id).to_dict(),
    )


def probe(client: Client, db_url: str, target: str) -> bad.Probe:
    backend = sa.make_url(db_url).get_backend_name().replace("mysql", "mariadb")
    return bad.Probe(target, backend, client.store.engine)


def run_ops(
    client: Client, db_url: str, target: str, ops: dict[str, Op], *, writes: bool = True
) -> bad.Probe:
    """Each example picks one operation, which draws its arguments and returns the call
    (`writes=False`: every operation is a read, which must change nothing)."""
    checked = probe(client, db_url, target)

    @fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(ops)), label="operation")
        checked.call(ops[name](data), writes=writes)

    run()
    checked.report()
    bad.assert_ledger_sound(client.store)
    return checked


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


# --------------------------------------------------------------------------- records


def test_merging_generated_records_is_clean(client: Client, db_url: str) -> None:
    s = seed(client)
    checked = probe(client, db_url, "records")

    @fuzz
    @given(records=bad.records)
    def run(records: Any) -> None:
        checked.call(lambda: s.dataset.merge_records(records))

    run()
    checked.report()
    bad.assert_ledger_sound(client.store)
    assert checked.rejected > checked.tried // 2  # the strategies aim at bad input


# --------------------------------------------------------------------------- datasets


def dataset_ops(client: Client, s: Seed) -> dict[str, Op]:
    ds, real_id = s.dataset, s.dataset.dataset_id
    some_id = st.one_of(st.just(real_id), bad.ids)
    versions = st.one_of(st.integers(0, 3), bad.version)

    def create(d: st.DataObject) -> Callable[[], Any]:
        name = d.draw(st.one_of(bad.odd_text, bad.value))
        experiments = d.draw(maybe(st.one_of(st.just(s.experiment_id), bad.ids, st.lists(bad.ids))))
        tags = d.draw(maybe(bad.tags))
        return lambda: client.create_dataset(name, experiment_id=experiments, tags=tags)

    def get(d: st.DataObject) -> Callable[[], Any]:
        name = d.draw(maybe(st.one_of(st.just("base"), bad.ids)))
        dataset_id = d.draw(maybe(some_id))
        version, as_of = d.draw(maybe(versions)), d.draw(bad.as_of)
        return lambda: client.get_dataset(name, dataset_id, version=version, as_of=as_of)

    def set_tags(d: st.DataObject) -> Callable[[], Any]:
        dataset_id, tags = d.draw(some_id), d.draw(bad.tags)
        return lambda: client.set_dataset_tags(dataset_id, tags)

    def delete_tag(d: st.DataObject) -> Callable[[], Any]:
        dataset_id, key = d.draw(some_id), d.draw(st.one_of(st.just("k"), bad.ids))
        return lambda: client.delete_dataset_tag(dataset_id, key)

    def label(d: st.DataObject) -> Callable[[], Any]:
        name, version = d.draw(st.one_of(bad.odd_text, bad.value)), d.draw(maybe(versions))
        return lambda: ds.label_version(name, version)

    def diff(d: st.DataObject) -> Callable[[], Any]:
        a, b = d.draw(versions), d.draw(maybe(versions))
        return lambda: ds.diff(a, b)

    def restore(d: st.DataObject) -> Callable[[], Any]:
        version = d.draw(versions)
        return lambda: ds.restore(version)

    def history_of(d: st.DataObject) -> Callable[[], Any]:
        record_id = d.draw(bad.ids)
        return lambda: ds.record_history(record_id)

    def labels(d: st.DataObject) -> Callable[[], Any]:
        at = d.draw(bad.as_of)
        return lambda: ds.version_labels(at)

    def delete_records(d: st.DataObject) -> Callable[[], Any]:
        record_ids = d.draw(st.one_of(st.lists(bad.ids, max_size=3), bad.value))
        return lambda: ds.delete_records(record_ids)

    def delete(d: st.DataObject) -> Callable[[], Any]:
        dataset_id, name = (
            d.draw(maybe(bad.ids)),
            d.draw(maybe(bad.ids.filter(lambda n: n != "base"))),
        )
        return lambda: client.delete_dataset(dataset_id, name)

    def undelete(d: st.DataObject) -> Callable[[], Any]:
        dataset_id = d.draw(some_id)
        return lambda: client.undelete_dataset(dataset_id)

    def link(d: st.DataObject) -> Callable[[], Any]:
        dataset_id = d.draw(some_id)
        experiments = d.draw(st.one_of(st.just(s.experiment_id), bad.ids, st.lists(bad.ids)))
        unlink = d.draw(st.booleans())
        call = (
            client.remove_dataset_from_experiments if unlink else client.add_dataset_to_experiments
        )
        return lambda: call(dataset_id, experiments)

    def experiment(d: st.DataObject) -> Callable[[], Any]:
        name, tags = d.draw(st.one_of(bad.odd_text, bad.value)), d.draw(maybe(bad.tags))
        return lambda: client.create_experiment(name, tags)

    def find_experiment(d: st.DataObject) -> Callable[[], Any]:
        key, by_name = d.draw(st.one_of(st.just(s.experiment_id), bad.ids)), d.draw(st.booleans())
        return lambda: (client.get_experiment_by_name if by_name else client.get_experiment)(key)

    return {
        "create_dataset": create,
        "get_dataset": get,
        "set_dataset_tags": set_tags,
        "delete_dataset_tag": delete_tag,
        "label_version": label,
        "diff": diff,
        "restore": restore,
        "record_history": history_of,
        "version_labels": labels,
        "delete_records": delete_records,
        "delete_dataset": delete,
        "undelete_dataset": undelete,
        "link_experiments": link,
        "create_experiment": experiment,
        "get_experiment": find_experiment,
    }


def test_generated_dataset_arguments_are_clean(client: Client, db_url: str) -> None:
    s = seed(client)
    checked = run_ops(client, db_url, "dataset arguments", dataset_ops(client, s))
    assert checked.rejected > checked.tried // 2


# --------------------------------------------------------------------------- searches


def one_fuzzed(d: st.DataObject, normal: dict[str, Any], odd: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call: the usual ones, with at most one of them drawn odd."""
    chosen = d.draw(st.sampled_from([None, *odd]), label="odd argument")
    return {**normal, chosen: d.draw(odd[chosen])} if chosen else dict(normal)


def search_ops(client: Client, s: Seed) -> dict[str, Op]:
    experiments = st.one_of(st.just(s.experiment_id), bad.ids, st.lists(bad.ids))

    def datasets(d: st.DataObject) -> Callable[[], Any]:
        odd = {
            "experiment_ids": experiments,
            "max_results": bad.limits,
            "order_by": bad.order_by,
            "page_token": bad.ids,
            "include_deleted": st.one_of(st.booleans(), bad.value),
        }
        args = one_fuzzed(d, {"filter_string": d.draw(bad.filter_string)}, odd)
        return lambda: client.search_datasets(**args)

    def next_page(d: st.DataObject) -> Callable[[], Any]:
        first = client.search_datasets(max_results=1)
        filter_string = d.draw(bad.filter_string)
        return lambda: client.search_datasets(filter_string=filter_string, page_token=first.token)

    def traces(d: st.DataObject) -> Callable[[], Any]:
        odd = {
            "experiment_ids": experiments,
            "max_results": bad.limits,
            "order_by": bad.order_by,
            "extract_fields": bad.extract_fields,
            "return_type": st.one_of(st.sampled_from(["pandas", "list"]), bad.value),
        }
        args = one_fuzzed(d, {"filter_string": d.draw(bad.filter_string)}, odd)
        return lambda: client.search_traces(**args)

    return {"search_datasets": datasets, "search_datasets_page": next_page, "search_traces": traces}


def test_generated_filters_and_searches_are_clean(client: Client, db_url: str) -> None:
    s = seed(client)
    checked = run_ops(client, db_url, "filters and searches", search_ops(client, s), writes=False)
    assert checked.rejected > checked.tried // 3


# --------------------------------------------------------------------------- traces

_TRACE_PATHS = [
    ("info", "trace_id"),
    ("info", "request_time"),
    ("info", "execution_duration_ms"),
    ("info", "state"),
    ("info", "tags"),
    ("info", "trace_metadata"),
    ("info", "assessments"),
    ("info", "trace_location"),
    ("data", "spans"),
    ("data", "spans", 0, "name"),
    ("data", "spans", 0, "span_id"),
    ("data", "spans", 0, "attributes"),
    ("data", "spans", 0, "start_time_unix_nano"),
]


def changed(trace: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    """A copy of an exported trace with the value at `path` replaced."""
    out = copy.deepcopy(trace)
    inner: Any = out
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = new
    return out


def trace_ops(client: Client, s: Seed) -> dict[str, Op]:
    trace_ids = st.one_of(st.just(s.trace_id), bad.ids)
    span = st.fixed_dictionaries(
        {"name": st.one_of(bad.odd_text, bad.value)},
        optional={
            "span_id": bad.ids,
            "parent_id": bad.ids,
            "inputs": bad.value,
            "attributes": bad.tags,
            "start_time_ns": bad.numbers,
            "end_time_ns": bad.numbers,
            "status": bad.odd_text,
            "span_type": bad.ids,
            "extra": bad.value,
        },
    )

    def log(d: st.DataObject) -> Callable[[], Any]:
        inputs, outputs = d.draw(bad.value), d.draw(bad.value)
        odd = {
            "name": st.one_of(bad.odd_text, bad.value),
            "experiment_id": st.one_of(st.just(s.experiment_id), bad.ids),
            "tags": bad.tags,
            "metadata": bad.tags,
            "status": st.one_of(bad.odd_text, bad.value),
            "timestamp_ms": st.one_of(bad.numbers, bad.numpy_pandas),
            "execution_time_ms": bad.numbers,
            "spans": st.one_of(st.lists(span, max_size=2), bad.value),
            "trace_id": bad.ids,
        }
        options = one_fuzzed(d, {}, odd)
        return lambda: client.log_trace(inputs, outputs, **options)

    def tag(d: st.DataObject) -> Callable[[], Any]:
        trace_id, key, value = d.draw(trace_ids), d.draw(bad.ids), d.draw(bad.value)
        delete = d.draw(st.booleans())
        if delete:
            return lambda: client.delete_trace_tag(trace_id, key)
        return lambda: client.set_trace_tag(trace_id, key, value)

    def assess(d: st.DataObject) -> Callable[[], Any]:
        trace_id, name, value = d.draw(trace_ids), d.draw(bad.ids), d.draw(bad.value)
        source = d.draw(maybe(st.one_of(bad.source, bad.odd_text)))
        metadata = d.draw(maybe(bad.tags))
        if d.draw(st.booleans()):
            span_id = d.draw(maybe(st.one_of(st.just(s.span_id), bad.ids)))
            return lambda: client.log_expectation(trace_id, name, value, source, metadata, span_id)
        rationale = d.draw(maybe(st.one_of(bad.odd_text, bad.value)))
        return lambda: client.log_feedback(trace_id, name, value, source, rationale, metadata)

    def get(d: st.DataObject) -> Callable[[], Any]:
        trace_id = d.draw(trace_ids)
        return lambda: client.get_trace(trace_id)

    def import_(d: st.DataObject) -> Callable[[], Any]:
        edited = st.builds(
            lambda path, new: changed(s.trace_dict, path, new),
            st.sampled_from(_TRACE_PATHS),
            st.one_of(bad.value, bad.ids),
        )
        source = d.draw(
            st.one_of(
                edited,
                st.lists(edited, max_size=2),
                bad.value,
                bad.file_json.map(lambda v: bad.jsonl_text([v]).strip()),
            )
        )
        experiment = d.draw(maybe(st.one_of(st.just(s.experiment_id), bad.ids)))
        return lambda: client.import_traces(source, experiment)

    return {
        "log_trace": log,
        "trace_tag": tag,
        "assessment": assess,
        "get_trace": get,
        "import_traces": import_,
    }


def test_generated_trace_arguments_are_clean(client: Client, db_url: str) -> None:
    s = seed(client)
    checked = run_ops(client, db_url, "trace arguments", trace_ops(client, s))
    assert checked.rejected > checked.tried // 2


# --------------------------------------------------------------------------- import


def test_importing_generated_files_is_clean(client: Client, db_url: str, tmp_path: Path) -> None:
    s = seed(client)
    checked = probe(client, db_url, "import files")
    counter = iter(range(1_000_000))

    @fuzz
    @given(
        content=st.one_of(
            bad.jsonl_file.map(lambda t: ("jsonl", t)), bad.csv_file.map(lambda t: ("csv", t))
        ),
        name=st.one_of(st.sampled_from(["base", "new"]), bad.odd_text),
        batch_size=st.sampled_from([1, 2, 10_000]),
        experiment=maybe(st.one_of(st.just(s.experiment_id), bad.ids)),
    )
    def run(content: tuple[str, str], name: Any, batch_size: int, experiment: Any) -> None:
        fmt, text = content
        path = tmp_path / f"in{next(counter)}.{fmt}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        checked.call(
            lambda: import_records(
                client.session, name, path, batch_size=batch_size, experiment_id=experiment
            )
        )

    run()
    checked.report()
    bad.assert_ledger_sound(client.store)
    assert checked.rejected > checked.tried // 3


# --------------------------------------------------------------------------- the CLI


def cli_files(tmp_path: Path, s: Seed) -> list[str]:
    """Files the generated commands may import: good, bad and odd ones."""
    folder = tmp_path / "files"
    folder.mkdir()
    contents = {
        "ok.jsonl": '{"inputs": {"q": "ok"}}\n',
        "big.jsonl": '{"inputs": {"q": 123456789012345678901234}}\n',
        "nul.jsonl": '{"inputs": {"q": 1}, "source": {"source_type": "HUMAN", '
        '"source_data": {"source_id": "a\\u0000"}}}\n',
        "surrogate.jsonl": '{"inputs": {"q": "\\udc80"}}\n',
        "deep.jsonl": '{"inputs": ' + "[" * 500 + "]" * 500 + "}\n",
        "broken.jsonl": '{"inputs": {"q": 1}}\n{"inputs": \n',
        "empty.jsonl": "",
        "big.csv": bad.csv_text(['{"q": -99999999999999999999999}']),
        "bad.csv": "inputs,extra\n1,2\n",
        "bad.parquet": "not parquet",
        "notes.txt": "hello",
        "trace.jsonl": bad.jsonl_text([s.trace_dict]),
    }
    for name, text in contents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [str(folder / name) for name in contents] + [str(folder), str(folder / "missing.jsonl")]


def cli_argv(files: list[str], out: Path) -> st.SearchStrategy[list[str]]:
    text = bad.odd_text
    positional = text.filter(lambda t: not t.startswith("-"))  # never an option (--uri)
    name = st.one_of(st.sampled_from(["base", "new", "d-" + "0" * 32]), positional)
    version = st.one_of(
        st.integers(-2, 5).map(str),
        st.sampled_from(["99999999999999999999", "-99999999999999999999", "gold", "1e999", " 1"]),
        positional,
    )
    instant = st.one_of(
        st.sampled_from(
            [
                "99999999999999999999",
                "-99999999999999999999",
                "-62135596800001",
                "253402300800000",
                "2024-01-01",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-14:00",
                "1e999",
                "nan",
            ]
        ),
        positional,
    )
    count = st.one_of(
        st.integers(-1, 3).map(str), st.sampled_from(["99999999999999999999", "1e3"]), positional
    )
    path = st.one_of(
        st.just("-"),
        st.builds(
            lambda stem, ext: str(out / f"{stem}{ext}"),
            text.filter(lambda t: "/" not in t),
            st.sampled_from([".jsonl", ".csv", ".parquet", ".txt", ""]),
        ),
        st.sampled_from([str(out), str(out / "missing" / "x.jsonl")]),
    )
    files_ = st.one_of(st.sampled_from(files), positional)
    fmt = st.one_of(
        st.sampled_from([[], ["--format", "jsonl"], ["--format", "csv"]]),
        st.just(["--format", "x"]),
    )
    when = st.one_of(
        st.just([]),
        version.map(lambda v: ["--version", v]),
        instant.map(lambda t: ["--as-of", t]),
    )
    filters = st.one_of(bad.filter_string.filter(lambda f: isinstance(f, str)), positional)
    commands = st.one_of(
        st.builds(
            lambda f, o: ["datasets", "--filter", f, *o],
            filters,
            st.sampled_from([[], ["--json"], ["--deleted"]]),
        ),
        st.builds(
            lambda n, w, o: ["show", n, *w, *o],
            name,
            when,
            st.one_of(
                st.just([]),
                st.just(["--json"]),
                count.map(lambda c: ["--rows", c]),
                text.map(lambda r: ["--record", r]),
            ),
        ),
        st.builds(lambda n, o: ["history", n, *o], name, st.sampled_from([[], ["--json"]])),
        st.builds(
            lambda n, a, b: ["diff", n, a, *b],
            name,
            version,
            st.one_of(st.just([]), version.map(lambda v: [v])),
        ),
        st.builds(lambda n, p, w, f: ["export", n, "-o", p, *w, *f], name, path, when, fmt),
        st.builds(
            lambda n, f, b, e, o: ["import", n, f, *b, *e, *o],
            name,
            files_,
            st.one_of(st.just([]), count.map(lambda c: ["--batch-size", c])),
            st.one_of(st.just([]), text.map(lambda e: ["--experiment-id", e])),
            fmt,
        ),
        st.builds(lambda n: ["delete", n], name.filter(lambda n: n != "base")),
        st.builds(lambda n: ["undelete", n], name),
        st.builds(lambda n, v: ["restore", n, v], name, version),
        st.builds(
            lambda n, lab, v: ["label", n, lab, *v],
            name,
            text,
            st.one_of(st.just([]), version.map(lambda v: [v])),
        ),
        st.builds(lambda n, kv: ["tag", n, *kv], name, st.lists(text, min_size=1, max_size=2)),
        st.builds(lambda n, k: ["untag", n, k], name, text),
        st.builds(
            lambda f, o, m, x, j: ["traces", "search", "--filter", f, *o, *m, *x, *j],
            filters,
            st.one_of(st.just([]), text.map(lambda o: ["--order-by", o])),
            st.one_of(st.just([]), count.map(lambda c: ["--max-results", c])),
            st.one_of(st.just([]), text.map(lambda x: ["--extract", x])),
            st.sampled_from([[], ["--json"]]),
        ),
        st.builds(
            lambda f, e: ["traces", "import", f, *e],
            files_,
            st.one_of(st.just([]), text.map(lambda e: ["--experiment-id", e])),
        ),
        st.sampled_from([["verify"], ["db", "upgrade"], ["datasets"]]),
        st.builds(
            lambda c, rest: [c, *rest],
            st.sampled_from(["show", "diff", "tag", "traces", "db", "export", "import", "bogus"]),
            st.lists(positional, max_size=3),
        ),
    )
    return commands


def run_cli(db_url: str, argv: list[str]) -> tuple[int, str]:
    """main() in-process, with stdout and stderr as a real process has them."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["--uri", db_url, *argv])
        except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
            code = exc.code if isinstance(exc.code, int) else 2
        out.flush()
        err.flush()
    return code, err.buffer.getvalue().decode("utf-8", "replace")  # type: ignore[attr-defined]


def test_generated_command_lines_are_clean(client: Client, db_url: str, tmp_path: Path) -> None:
    s = seed(client)
    files = cli_files(tmp_path, s)
    out = tmp_path / "out"
    out.mkdir()
    checked = probe(client, db_url, "command lines")

    @fuzz
    @given(argv=cli_argv(files, out))
    def run(argv: list[str]) -> None:
        before = bad.ledger_state(checked.engine)
        code, err = run_cli(db_url, argv)
        assert code in (0, 1, 2), (code, err)
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 1:
            lines = [
                line for line in err.splitlines() if not line.startswith("evalledger: warning:")
            ]
            assert len(lines) == 1 and lines[0].startswith("evalledger: error: "), err
        if code == 0:
            checked.accepted += 1
            return
        assert bad.ledger_state(checked.engine) == before, f"{argv!r} failed ({err!r}) and wrote"
        checked.failed()

    run()
    checked.report()
    bad.assert_ledger_sound(client.store)
    assert checked.rejected > checked.tried // 3


def test_a_failed_first_batch_leaves_no_new_dataset(client: Client, tmp_path: Path) -> None:
    """The import that creates a dataset creates it in the commit of its first batch: when
    that commit fails (here: an experiment that does not exist), there is no dataset."""
    path = tmp_path / "ok.jsonl"
    path.write_text('{"inputs": {"q": 1}}\n{"inputs": {"q": 2}}\n', encoding="utf-8")
    before = client.store.head()
    with pytest.raises(ResourceNotFound, match="'404'"):
        import_records(client.session, "fresh", path, experiment_id="404")
    assert client.store.head() == before
    assert client.search_datasets(include_deleted=True) == []
    result = import_records(client.session, "fresh", path, batch_size=1)
    assert result.created and result.batches == 2 and result.dataset.num_records == 2
    assert result.dataset.version == 2  # version 1 is the first batch: creation and records
