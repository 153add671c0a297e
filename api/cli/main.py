"""The `evalledger` command line. Exit 0 on success, 1 on a user error, 2 on usage errors.

A user error (any LedgerError, a file that is missing or unreadable, a database that cannot
be reached) prints one line, ``evalledger: error: ...``, on stderr and no traceback.

This module holds the parser, `main` and the dataset commands that read and move files
(datasets, show, export, import); history.py has history/diff/verify/rebuild, edits.py the
small writes (delete, undelete, restore, label, tag, untag), traces.py the trace commands.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger import __version__
from evalledger.cli import checkpoints as cli_checkpoints
from evalledger.cli import edits, targets
from evalledger.cli import history as cli_history
from evalledger.cli import server as cli_server
from evalledger.cli import traces as cli_traces
from evalledger.cli import users as cli_users
from evalledger.cli.arguments import (
    add_json_option,
    add_name_argument,
    add_snapshot_options,
    batch_size,
    non_negative_int,
    uri_option,
)
from evalledger.cli.common import (
    UserError,
    cell,
    clip_text,
    labels_text,
    plural,
    print_json,
    record_json,
    table,
    tags_text,
    time_text,
)
from evalledger.cli.progress import ProgressBar
from evalledger.client import Client
from evalledger.datasets import reads
from evalledger.datasets.entities import record_from_row
from evalledger.datasets.transfer import export_dataset, format_for, import_records
from evalledger.demo.flows import run_demo
from evalledger.ledger import LedgerError, ResourceNotFound, create_engine, normalize_url
from evalledger.ledger.writer_lock import set_program
from evalledger.migrations.runner import upgrade
from evalledger.projections.schema import dataset_records
from evalledger.tracking import get_tracking_uri
from evalledger.validation import check_id

PREVIEW_ROWS = 5
STDOUT = "-"


# --------------------------------------------------------------------------- helpers


def _shown(uri: str) -> str:
    return normalize_url(uri).render_as_string(hide_password=True)


def _dataset_json(ds: Any, target: targets.Target | None = None) -> dict[str, Any]:
    """The metadata of a dataset (live or snapshot) as --json prints it."""
    deleted_time = ds.deleted_time
    if target is not None and target.deleted:
        deleted_time = target.deleted_time
    return {
        "dataset_id": ds.dataset_id,
        "name": ds.name,
        "version": ds.version,
        "is_snapshot": ds.is_snapshot,
        "deleted": deleted_time is not None,
        "deleted_time": deleted_time,
        "num_records": ds.num_records,
        "digest": ds.digest,
        "created_time": ds.created_time,
        "created_by": ds.created_by,
        "last_update_time": ds.last_update_time,
        "last_updated_by": ds.last_updated_by,
        "experiment_ids": ds.experiment_ids,
        "tags": ds.tags,
    }


# --------------------------------------------------------------------------- commands


def _db_upgrade(args: argparse.Namespace) -> int:
    uri = args.client.tracking_uri
    engine = create_engine(uri)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print(f"schema is current on {_shown(uri)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    run_demo(args.client)
    return 0


def _search_all(args: argparse.Namespace) -> list[Any]:
    found: list[Any] = []
    token = None
    while True:
        page = args.client.search_datasets(
            filter_string=args.filter,
            order_by=["name ASC"],
            max_results=1000,
            page_token=token,
            include_deleted=args.deleted,
        )
        found.extend(page)
        token = page.token
        if token is None:
            return found


def _datasets(args: argparse.Namespace) -> int:
    found = _search_all(args)
    if args.json:
        print_json({"datasets": [_dataset_json(ds) for ds in found]})
        return 0
    if not found:
        print("no datasets" + (" match the filter" if args.filter else ""))
        return 0
    headers = ["name", "id", "version", "records", "last update", "tags"]
    rows = []
    for ds in found:
        row = [
            ds.name,
            ds.dataset_id,
            str(ds.version),
            f"{ds.num_records:,}",
            time_text(ds.last_update_time),
            clip_text(tags_text(ds.tags)),
        ]
        if args.deleted:
            row.insert(5, time_text(ds.deleted_time))
        rows.append(row)
    if args.deleted:
        headers.insert(5, "deleted")
    print(table(headers, rows, right=(2, 3)))
    live = sum(1 for ds in found if ds.deleted_time is None)
    summary = plural(len(found), "dataset")
    if args.deleted:
        summary += f" ({live:,} live, {len(found) - live:,} deleted)"
    print(summary)
    return 0


def _record(client: Client, ds: Any, record_id: str) -> Any:
    """One record of the dataset (as of its version), else an error saying where it is."""
    check_id(record_id, "--record")
    version = ds.version if ds.is_snapshot else None
    query = reads.records_query(ds.dataset_id, version).where(
        dataset_records.c.record_id == record_id
    )
    with client.session.connect() as conn:
        row = conn.execute(query).first()
        if row is not None:
            return record_from_row(ds.dataset_id, row, orjson.loads(row.body))
        last = conn.execute(
            sa.select(dataset_records.c.valid_from, dataset_records.c.valid_to)
            .where(
                dataset_records.c.dataset_id == ds.dataset_id,
                dataset_records.c.record_id == record_id,
            )
            .order_by(dataset_records.c.valid_from.desc())
            .limit(1)
        ).first()
    where = f"dataset {ds.name!r} version {ds.version}"
    if last is None:
        raise ResourceNotFound(
            f"{where} has no record {record_id!r} in any version "
            f"(`evalledger show NAME --rows N` lists record ids)"
        )
    if last.valid_from > ds.version:
        seen = last.valid_from
    else:
        seen = last.valid_to - 1 if last.valid_to is not None else last.valid_from
    raise ResourceNotFound(
        f"{where} has no record {record_id!r}: version {seen} has it (--version {seen})"
    )


def _show(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name, deleted_ok=True)
    ds = targets.open_dataset(args.client, target, args.version, args.as_of)
    if args.record is not None:
        print_json(record_json(_record(args.client, ds, args.record)))
        return 0
    labels = targets.labels(args.client, target)
    records = ds.records[: args.rows] if args.rows else []
    if args.json:
        document = _dataset_json(ds, target)
        document.update(
            labels=labels,
            profile=orjson.loads(ds.profile),
            schema=orjson.loads(ds.schema),
            records=[record_json(r) for r in records],
        )
        print_json(document)
        return 0
    profile = orjson.loads(ds.profile)
    by_source = ", ".join(f"{k} {v:,}" for k, v in profile.get("source_types", {}).items())
    version = f"{ds.version}"
    if target.deleted and ds.version == target.latest:
        version += " (deleted)"
    elif ds.is_snapshot:
        version += " (read-only snapshot)"
    fields = [
        ("name", ds.name),
        ("id", ds.dataset_id),
        ("version", version),
        ("records", f"{ds.num_records:,}" + (f" ({by_source})" if by_source else "")),
        ("digest", ds.digest),
        ("created", f"{time_text(ds.created_time)} by {ds.created_by}"),
        ("last update", f"{time_text(ds.last_update_time)} by {ds.last_updated_by}"),
    ]
    if target.deleted:
        deleted = f"{time_text(target.deleted_time)} by {target.view.last_updated_by}"
        fields.append(("deleted", deleted))
    fields += [
        ("experiments", ", ".join(ds.experiment_ids) or "-"),
        ("tags", tags_text(ds.tags)),
        ("labels", labels_text(labels)),
        ("profile", ds.profile),
        ("schema", ds.schema),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key.ljust(width)}  {value}")
    if not records:
        return 0
    rows = [
        [
            str(i + 1),
            r.dataset_record_id,
            cell(r.inputs),
            cell(r.outputs),
            cell(r.expectations),
            str(r.source_type),
        ]
        for i, r in enumerate(records)
    ]
    print()
    shown = "all" if len(rows) == ds.num_records else f"first {len(rows)} of {ds.num_records:,}"
    print(f"records ({shown}):")
    print(table(["#", "id", "inputs", "outputs", "expectations", "source_type"], rows))
    return 0


def _check_destination(output: str) -> None:
    """A file can be written at `output`: fail early, naming the real problem."""
    path = Path(output)
    if path.is_dir():
        raise UserError(f"cannot write {output}: it is a directory (give a file name)")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UserError(f"cannot write {output}: the directory {parent} {what}")


def _export_to_stdout(ds: Any, fmt: str) -> int:
    """The export on stdout: written to a private file first (the one writer of each
    format), then copied."""
    if fmt == "parquet" and sys.stdout.isatty():
        raise UserError("parquet is binary: redirect the output to a file or a pipe")
    with tempfile.TemporaryDirectory(prefix="evalledger-export-") as tmp:
        path = os.path.join(tmp, f"export.{fmt}")
        count = export_dataset(ds, path, fmt)
        sys.stdout.flush()
        with open(path, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()
    return count


def _print_warning(message: str) -> None:
    print(f"evalledger: warning: {message}", file=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    to_stdout = args.output == STDOUT
    fmt = (args.format or "jsonl") if to_stdout else format_for(args.output, args.format)
    if not to_stdout:
        _check_destination(args.output)
    target = targets.find(args.client, args.name, deleted_ok=True)
    ds = targets.open_dataset(args.client, target, args.version, args.as_of)
    if to_stdout:
        _export_to_stdout(ds, fmt)
        return 0
    try:
        count = export_dataset(ds, args.output, fmt, warn=_print_warning)
    except OSError as exc:  # the temporary file's name would say nothing to the user
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(
        f"exported {plural(count, 'record')} of {targets.describe(ds, target)} "
        f"to {args.output} ({fmt}); digest {ds.digest}"
    )
    return 0


class _PhasedProgress:
    """One progress bar per phase of a long job, each on its own line (terminal only)."""

    def __init__(self, labels: dict[str, str], units: dict[str, str] | None = None) -> None:
        self.labels = labels  # phase -> label
        self.units = units or {}  # phase -> unit (default: records)
        self.phase: str | None = None
        self.bar: ProgressBar | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            unit = self.units.get(phase, "records")
            self.bar = ProgressBar(self.labels.get(phase, phase), unit=unit)
        assert self.bar is not None
        self.bar.update(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> _PhasedProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _import(args: argparse.Namespace) -> int:
    fmt = format_for(args.file, args.format)
    name = args.name
    if targets.is_dataset_id(name):  # an id names an existing dataset: import into it
        name = targets.find(args.client, name).name
    labels = {"checking": "checking", "importing": "importing"}
    units = {"checking": "rows" if fmt == "parquet" else "bytes", "importing": "records"}
    with _PhasedProgress(labels, units) as progress:
        result = import_records(
            args.client.session,
            name,
            args.file,
            fmt,
            batch_size=args.batch_size,
            experiment_id=args.experiment_id,
            progress=progress,
        )
    ds = result.dataset
    created = "created dataset" if result.created else "dataset"
    print(
        f"imported {plural(result.records, 'record')} from {args.file} into {created} "
        f"{ds.name!r}: {result.added:,} added, {result.updated:,} updated"
    )
    print(f"{targets.describe(ds)}: {plural(ds.num_records, 'record')}, digest {ds.digest}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalledger", description="Versioned, auditable evaluation datasets."
    )
    parser.add_argument(
        "--uri",
        help="tracking URI (SQLAlchemy URL, e.g. sqlite:///evalledger.db); "
        "default: $EVALLEDGER_TRACKING_URI or sqlite:///evalledger.db",
    )
    parser.add_argument("--version", action="version", version=f"evalledger {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = [uri_option()]

    db = commands.add_parser("db", help="schema management")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_upgrade = db_commands.add_parser(
        "upgrade", help="create or upgrade the schema", parents=common
    )
    db_upgrade.set_defaults(handler=_db_upgrade)

    cli_history.register_ledger(commands, common)
    cli_checkpoints.register(commands, common)

    datasets = commands.add_parser("datasets", help="list the datasets", parents=common)
    datasets.add_argument(
        "--filter",
        metavar="FILTER",
        help="a search_datasets filter, e.g. \"tags.team = 'support'\"",
    )
    datasets.add_argument(
        "--deleted", action="store_true", help="list the deleted datasets too (with their ids)"
    )
    add_json_option(datasets)
    datasets.set_defaults(handler=_datasets, read_only=True)

    show = commands.add_parser(
        "show", help="a dataset's metadata, profile and first records", parents=common
    )
    add_name_argument(show, deleted=True)
    add_snapshot_options(show)
    show.add_argument(
        "--rows",
        type=non_negative_int,
        default=PREVIEW_ROWS,
        metavar="N",
        help=f"records to preview (default {PREVIEW_ROWS}; 0 for none)",
    )
    show.add_argument(
        "--record", metavar="ID", help="print this one record (dr-...) whole, as JSON"
    )
    add_json_option(show)
    show.set_defaults(handler=_show, read_only=True)

    cli_history.register(commands, common)

    export = commands.add_parser("export", help="write a dataset to a file", parents=common)
    add_name_argument(export, deleted=True)
    add_snapshot_options(export)
    export.add_argument(
        "--format",
        choices=["jsonl", "csv", "parquet"],
        help="file format (default: from the extension of FILE; jsonl for -o -)",
    )
    export.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the file to write; - for stdout"
    )
    export.set_defaults(handler=_export, read_only=True)

    imp = commands.add_parser(
        "import",
        help="merge a file's records into a dataset (created when missing)",
        parents=common,
    )
    imp.add_argument("name", metavar="NAME", help="a dataset name or id")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument(
        "--format",
        choices=["jsonl", "csv", "parquet"],
        help="file format (default: from the extension of FILE)",
    )
    imp.add_argument(
        "--experiment-id",
        action="append",
        metavar="ID",
        help="experiment(s) of a dataset that import creates (default: 0); repeatable",
    )
    imp.add_argument(
        "--batch-size",
        type=batch_size,
        default=10_000,
        metavar="N",
        help="records per commit (each commit is one dataset version; default 10000)",
    )
    imp.set_defaults(handler=_import)

    edits.register(commands, common)
    cli_traces.register(commands, common)
    cli_server.register(commands, common)
    cli_users.register(commands, common)
    commands.add_parser("demo", help="run the seed flows end to end", parents=common).set_defaults(
        handler=_demo
    )
    return parser


# --------------------------------------------------------------------------- main

#: orjson's position inside the one line it parsed ("line 1 column 18 (char 17)") would
#: contradict the file's line number in front of it.
_JSON_POSITION = re.compile(r": line 1 column (\d+) \(char \d+\)\)")


def _error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = _JSON_POSITION.sub(r" at column \1)", text)
    return text or type(exc).__name__


def _file_name(name: object) -> str:
    """A file name as one line shows it: as it is, or quoted when it holds a line break or
    another character that does not print."""
    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    return text if text.isprintable() else repr(text)


def _client(args: argparse.Namespace) -> Client:
    given = getattr(args, "sub_uri", None) or args.uri
    uri = given or get_tracking_uri()
    if "://" not in uri and not re.match(r"[A-Za-z][\w+.-]*:", uri):
        source = "--uri" if given else "EVALLEDGER_TRACKING_URI"
        raise UserError(
            f"{source} {uri!r} is a path, not a URL: for an SQLite file write sqlite:///{uri}"
        )
    if getattr(args, "read_only", False):
        return Client(uri, create=False)
    return Client(uri)


def _command_name(args: argparse.Namespace) -> str:
    """`rebuild`, `db upgrade`, `traces import`, ...: what this run of the CLI does."""
    parts = [args.command]
    for attribute in ("db_command", "traces_command", "users_command"):
        if getattr(args, attribute, None):
            parts.append(getattr(args, attribute))
    return " ".join(str(p) for p in parts)


def main(argv: Sequence[str] | None = None) -> int:
    _print_paths_as_given()
    parser = build_parser()
    args = parser.parse_args(argv)
    set_program(_command_name(args))  # names this process's connections for lock holders
    try:
        args.client = None if getattr(args, "no_ledger", False) else _client(args)
        return args.handler(args)
    except (LedgerError, UserError) as exc:
        print(f"evalledger: error: {_error_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `evalledger datasets | head`: stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:  # a file that is missing, unreadable or unwritable
        where = f"{_file_name(exc.filename)}: " if exc.filename else ""
        reason = exc.strerror or _error_line(exc)
        print(f"evalledger: error: {where}{reason}", file=sys.stderr)
        return 1
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        first = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        reason = first[0] if first else type(exc).__name__
        print(
            f"evalledger: error: cannot use the database at {_safe_uri(args)}: {reason}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("evalledger: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line (EVALLEDGER_DEBUG=1 shows the traceback)
        if os.environ.get("EVALLEDGER_DEBUG"):
            raise
        print(
            f"evalledger: internal error: {type(exc).__name__}: {_error_line(exc)} "
            "(a bug in evalledger; EVALLEDGER_DEBUG=1 prints the traceback)",
            file=sys.stderr,
        )
        return INTERNAL_ERROR


#: The exit status of an error evalledger did not expect (a bug), printed as one line.
INTERNAL_ERROR = 3


def _print_paths_as_given() -> None:
    """A file name that is not UTF-8 reaches Python with its odd bytes as lone surrogates
    (os.fsdecode); printing it then writes those bytes back instead of failing."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", None) == "strict":
        with contextlib.suppress(ValueError, io.UnsupportedOperation):
            reconfigure(errors="surrogateescape")


def _silence_stdout() -> None:
    """After a broken pipe, send what Python flushes at exit to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _safe_uri(args: argparse.Namespace) -> str:
    try:
        return _shown(args.client.tracking_uri)
    except (AttributeError, LedgerError):
        return "(invalid URI)"


if __name__ == "__main__":
    sys.exit(main())
