"""The `evalledger` command line. Exit 0 on success, 1 on a user error, 2 on usage errors.

A user error (any LedgerError, a file that is missing or unreadable, a database that cannot
be reached) prints one line, ``evalledger: error: ...``, on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from evalledger import __version__
from evalledger.cli import history as cli_history
from evalledger.cli.progress import ProgressBar
from evalledger.client import Client
from evalledger.datasets.transfer import export_dataset, format_for, import_records
from evalledger.demo.flows import run_demo
from evalledger.ledger import LedgerError, create_engine, normalize_url
from evalledger.migrations.runner import upgrade
from evalledger.text import clip

PREVIEW_ROWS = 5
CELL_WIDTH = 60


# --------------------------------------------------------------------------- formatting


def _shown(uri: str) -> str:
    return normalize_url(uri).render_as_string(hide_password=True)


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clip(text: str, width: int = CELL_WIDTH) -> str:
    return clip(text, width)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


# --------------------------------------------------------------------------- argument types


def _version_arg(text: str) -> int | str:
    """A dataset version: an int, or a version label."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if not text:
        raise argparse.ArgumentTypeError("a version is a number or a label")
    return text


def _as_of_arg(text: str) -> datetime | int:
    """An instant: epoch milliseconds, or an ISO 8601 datetime (naive = UTC)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither epoch milliseconds nor an ISO 8601 datetime "
            "(e.g. 2025-01-31T12:00:00Z)"
        ) from None


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _dataset_arg(args: argparse.Namespace) -> Any:
    """The dataset NAME names: current, or the snapshot --version/--as-of asks for."""
    return args.client.get_dataset(
        name=args.name,
        version=getattr(args, "version", None),
        as_of=getattr(args, "as_of", None),
    )


def _describe(ds: Any) -> str:
    kind = " (snapshot)" if ds.is_snapshot else ""
    return f"dataset {ds.name!r} version {ds.version}{kind}"


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


def _datasets(args: argparse.Namespace) -> int:
    found: list[Any] = []
    token = None
    while True:
        page = args.client.search_datasets(
            filter_string=args.filter,
            order_by=["name ASC"],
            max_results=1000,
            page_token=token,
        )
        found.extend(page)
        token = page.token
        if token is None:
            break
    if not found:
        print("no datasets" + (" match the filter" if args.filter else ""))
        return 0
    rows = [
        [
            ds.name,
            ds.dataset_id,
            str(ds.version),
            f"{ds.num_records:,}",
            _time(ds.last_update_time),
            _clip(_tags(ds.tags)),
        ]
        for ds in found
    ]
    print(_table(["name", "id", "version", "records", "last update", "tags"], rows))
    print(f"{len(found)} dataset{'s' if len(found) != 1 else ''}")
    return 0


def _show(args: argparse.Namespace) -> int:
    ds = _dataset_arg(args)
    profile = orjson.loads(ds.profile)
    by_source = ", ".join(f"{k} {v:,}" for k, v in profile.get("source_types", {}).items())
    fields = [
        ("name", ds.name),
        ("id", ds.dataset_id),
        ("version", f"{ds.version}" + (" (read-only snapshot)" if ds.is_snapshot else "")),
        ("records", f"{ds.num_records:,}" + (f" ({by_source})" if by_source else "")),
        ("digest", ds.digest),
        ("created", f"{_time(ds.created_time)} by {ds.created_by}"),
        ("last update", f"{_time(ds.last_update_time)} by {ds.last_updated_by}"),
        ("experiments", ", ".join(ds.experiment_ids) or "-"),
        ("tags", _tags(ds.tags)),
        ("profile", ds.profile),
        ("schema", ds.schema),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key.ljust(width)}  {value}")
    if args.rows == 0 or ds.num_records == 0:
        return 0
    # the first rows of to_df(), from ds.records (already loaded for the schema)
    rows = [
        [
            str(i + 1),
            _clip(_json(r.inputs)),
            _clip(_json(r.outputs)),
            _clip(_json(r.expectations)),
            str(r.source_type),
        ]
        for i, r in enumerate(ds.records[: args.rows])
    ]
    print()
    shown = "all" if len(rows) == ds.num_records else f"first {len(rows)} of {ds.num_records:,}"
    print(f"records ({shown}):")
    print(_table(["#", "inputs", "outputs", "expectations", "source_type"], rows))
    return 0


def _export(args: argparse.Namespace) -> int:
    fmt = format_for(args.output, args.format)
    ds = _dataset_arg(args)
    count = export_dataset(ds, args.output, fmt)
    print(
        f"exported {count:,} record{'s' if count != 1 else ''} of {_describe(ds)} "
        f"to {args.output} ({fmt}); digest {ds.digest}"
    )
    return 0


class _PhasedProgress:
    """One progress bar per phase of a long job, each on its own line (terminal only)."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.phase: str | None = None
        self.bar: ProgressBar | None = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = ProgressBar(self.labels.get(phase, phase))
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
    with _PhasedProgress({"checking": "checking", "importing": "importing"}) as progress:
        result = import_records(
            args.client.session,
            args.name,
            args.file,
            fmt,
            batch_size=args.batch_size,
            experiment_id=args.experiment_id,
            progress=progress,
        )
    ds = result.dataset
    created = "created dataset" if result.created else "dataset"
    print(
        f"imported {result.records:,} record{'s' if result.records != 1 else ''} from "
        f"{args.file} into {created} {ds.name!r}: {result.added:,} added, "
        f"{result.updated:,} updated"
    )
    print(f"{_describe(ds)}: {ds.num_records:,} records, digest {ds.digest}")
    return 0


# --------------------------------------------------------------------------- parser


def _uri_option() -> argparse.ArgumentParser:
    """`--uri` after the command too (`evalledger datasets --uri ...`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--uri",
        dest="sub_uri",
        default=None,
        metavar="URI",
        help="tracking URI (overrides the global --uri)",
    )
    return common


def _add_snapshot_options(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--version",
        type=_version_arg,
        metavar="N",
        help="read this version (a number or a version label)",
    )
    when.add_argument(
        "--as-of",
        type=_as_of_arg,
        metavar="T",
        help="read the dataset as it was at T (ISO 8601 datetime, naive = UTC, or epoch ms)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalledger", description="Versioned, auditable evaluation datasets."
    )
    parser.add_argument(
        "--uri",
        help="tracking URI (SQLAlchemy URL); default: $EVALLEDGER_TRACKING_URI or sqlite:///evalledger.db",
    )
    parser.add_argument("--version", action="version", version=f"evalledger {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = [_uri_option()]

    db = commands.add_parser("db", help="schema management")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_upgrade = db_commands.add_parser(
        "upgrade", help="create or upgrade the schema", parents=common
    )
    db_upgrade.set_defaults(handler=_db_upgrade)

    commands.add_parser(
        "verify", help="check the hash chain and the projections", parents=common
    ).set_defaults(handler=cli_history.verify)
    cli_history.register(commands, common)
    commands.add_parser("demo", help="run the seed flows end to end", parents=common).set_defaults(
        handler=_demo
    )

    datasets = commands.add_parser("datasets", help="list the live datasets", parents=common)
    datasets.add_argument(
        "--filter",
        metavar="FILTER",
        help="a search_datasets filter, e.g. \"tags.team = 'support'\"",
    )
    datasets.set_defaults(handler=_datasets)

    show = commands.add_parser(
        "show", help="a dataset's metadata, profile and first records", parents=common
    )
    show.add_argument("name", metavar="NAME")
    _add_snapshot_options(show)
    show.add_argument(
        "--rows",
        type=_non_negative_int,
        default=PREVIEW_ROWS,
        metavar="N",
        help=f"records to preview (default {PREVIEW_ROWS}; 0 for none)",
    )
    show.set_defaults(handler=_show)

    export = commands.add_parser("export", help="write a dataset to a file", parents=common)
    export.add_argument("name", metavar="NAME")
    _add_snapshot_options(export)
    export.add_argument(
        "--format",
        choices=["jsonl", "csv", "parquet"],
        help="file format (default: from the extension of FILE)",
    )
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    export.set_defaults(handler=_export)

    imp = commands.add_parser(
        "import",
        help="merge a file's records into a dataset (created when missing)",
        parents=common,
    )
    imp.add_argument("name", metavar="NAME")
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
        type=_batch_size,
        default=10_000,
        metavar="N",
        help="records per commit (each commit is one dataset version; default 10000)",
    )
    imp.set_defaults(handler=_import)
    return parser


def _batch_size(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("the batch size must be at least 1")
    return value


def _error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    uri = getattr(args, "sub_uri", None) or args.uri
    try:
        args.client = Client(uri or None)
        return args.handler(args)
    except LedgerError as exc:
        print(f"evalledger: error: {_error_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `evalledger datasets | head`: stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:  # a file that is missing, unreadable or unwritable
        where = f"{exc.filename}: " if exc.filename else ""
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
