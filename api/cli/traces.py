"""`evalledger traces import` and `evalledger traces search`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evalledger.cli.arguments import add_json_option, positive_int
from evalledger.cli.common import UserError, cell, plural, print_json, table, time_text
from evalledger.client import Client
from evalledger.projections.schema import traces as traces_table

CELL = 40


def _trace_count(client: Client) -> int:
    with client.session.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(traces_table)).scalar_one())


def import_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():  # a string that is no file would be read as JSON text
        reason = "is a directory" if path.is_dir() else "No such file or directory"
        raise UserError(f"{args.file}: {reason}")
    before = _trace_count(args.client)
    ids = args.client.import_traces(args.file, experiment_id=args.experiment_id)
    count = len(dict.fromkeys(ids))
    # concurrent imports could add traces meanwhile: never report more new than were read
    new = min(count, max(0, _trace_count(args.client) - before))
    print(
        f"imported {plural(count, 'trace')} from {args.file}: {new:,} new, "
        f"{count - new:,} already in the ledger"
    )
    return 0


def _trace_json(row: Any, fields: list[str]) -> dict[str, Any]:
    duration = row["execution_duration"]
    return {
        "trace_id": row["trace_id"],
        "request_time": int(row["request_time"]),
        "state": row["state"],
        "execution_duration": None if duration is None else int(duration),
        "request": row["request"],
        "response": row["response"],
        "trace_metadata": row["trace_metadata"],
        "tags": row["tags"],
        "assessments": row["assessments"],
        "extracted": {field: row[field] for field in fields},
    }


def search_command(args: argparse.Namespace) -> int:
    fields = list(dict.fromkeys(args.extract or []))
    frame = args.client.search_traces(
        experiment_ids=args.experiment_id,
        filter_string=args.filter,
        order_by=args.order_by,
        max_results=args.max_results,
        extract_fields=fields or None,
    )
    found = [_trace_json(row, fields) for row in frame.to_dict("records")]
    if args.json:
        print_json({"traces": found})
        return 0
    if not found:
        print("no traces" + (" match the filter" if args.filter else ""))
        return 0
    rows = [
        [
            t["trace_id"],
            time_text(t["request_time"]),
            str(t["state"]),
            "-" if t["execution_duration"] is None else f"{t['execution_duration']:,}",
            cell(t["request"], CELL),
            cell(t["response"], CELL),
            *[cell(t["extracted"][f], CELL) for f in fields],
        ]
        for t in found
    ]
    headers = ["trace_id", "time", "state", "ms", "request", "response", *fields]
    print(table(headers, rows, right=(3,)))
    print(plural(len(found), "trace"))
    return 0


def register(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("traces", help="import and search traces")
    sub = group.add_subparsers(dest="traces_command", required=True, metavar="SUBCOMMAND")

    parser = sub.add_parser(
        "import",
        help="import traces exported by MLflow (.json or .jsonl)",
        parents=common,
        description=(
            "Import the traces of FILE (MLflow Trace JSON: one per line in .jsonl, or a list "
            "in .json). Traces already in the ledger are skipped."
        ),
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--experiment-id",
        metavar="ID",
        help="put every trace in this experiment (default: each trace's own, created when missing)",
    )
    parser.set_defaults(handler=import_command)

    parser = sub.add_parser(
        "search",
        help="list the traces that match a filter",
        parents=common,
        description="Traces newest first (or as --order-by says), one line each.",
    )
    parser.add_argument(
        "--filter",
        metavar="F",
        help='a search_traces filter, e.g. "tag.quality_score < 0.7"',
    )
    parser.add_argument(
        "--order-by",
        action="append",
        metavar="O",
        help="e.g. 'attributes.timestamp_ms ASC' (repeatable; default: newest first)",
    )
    parser.add_argument(
        "--max-results",
        type=positive_int,
        metavar="N",
        help="at most N traces (default: every match)",
    )
    parser.add_argument(
        "--extract",
        action="append",
        metavar="FIELD",
        help="a column per field path, e.g. span.attributes.usage.total_tokens (repeatable)",
    )
    parser.add_argument(
        "--experiment-id",
        action="append",
        metavar="ID",
        help="only traces of this experiment (repeatable; default: every experiment)",
    )
    add_json_option(parser)
    parser.set_defaults(handler=search_command, read_only=True)
