"""The history commands of the CLI: history, diff, verify (chain, checkpoints with --key,
projections), rebuild."""

from __future__ import annotations

import argparse
from typing import Any

from evalledger.cli import checkpoints as cli_checkpoints
from evalledger.cli import targets
from evalledger.cli.arguments import add_json_option, add_name_argument, version_arg
from evalledger.cli.common import plural, print_json, record_json, timestamp_ms
from evalledger.cli.progress import ProgressBar
from evalledger.datasets.history import content, value_at
from evalledger.ledger import IntegrityError, verify_chain
from evalledger.ledger.writer_lock import engine_timeout_s
from evalledger.projections.rebuild import check_projections
from evalledger.projections.rebuild import rebuild as rebuild_all
from evalledger.text import clip_json

WIDTH = 70


def _short(value: Any) -> str:
    return clip_json(value, WIDTH)


def _version_rows(frame: Any, labels: dict[str, int]) -> list[dict[str, Any]]:
    by_version: dict[int, list[str]] = {}
    for label, version in labels.items():
        by_version.setdefault(version, []).append(label)
    return [
        {
            "version": int(row.version),
            "timestamp": timestamp_ms(row.timestamp),
            "user": row.user,
            "operation": row.operation,
            "source_version": None if row.source_version is None else int(row.source_version),
            "records_added": int(row.records_added),
            "records_updated": int(row.records_updated),
            "records_deleted": int(row.records_deleted),
            "num_records": int(row.num_records),
            "digest": row.digest,
            "labels": by_version.get(int(row.version), []),
        }
        for row in frame.itertuples(index=False)
    ]


def history(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name, deleted_ok=True)
    ds = targets.open_dataset(args.client, target)
    frame = ds.history()
    labels = targets.labels(args.client, target)
    rows = _version_rows(frame, labels)
    if args.json:
        print_json(
            {
                "dataset_id": ds.dataset_id,
                "name": ds.name,
                "deleted": target.deleted,
                "versions": rows,
            }
        )
        return 0
    header = ["version", "time (UTC)".ljust(19), "user".ljust(12), "operation".ljust(18)]
    counts_header = "     +      ~      -   records  digest        labels"
    print("  ".join([header[0].rjust(7), *header[1:], counts_header]))
    for row, data in zip(frame.itertuples(index=False), rows, strict=True):
        source = data["source_version"]
        operation = row.operation + (f" (from v{source})" if source is not None else "")
        counts = f"{row.records_added:>6} {row.records_updated:>6} {row.records_deleted:>6}"
        when = row.timestamp.strftime("%Y-%m-%d %H:%M:%S")
        line = (
            f"{row.version:>7}  {when}  {row.user[:12]:12}  {operation[:18]:18}  "
            f"{counts}  {row.num_records:>8}  {row.digest[:12]}  {', '.join(data['labels'])}"
        )
        print(line.rstrip())
    return 0


def _diff_json(ds: Any, d: Any) -> dict[str, Any]:
    changed = [change.to_dict() for change in d.changed]
    return {
        "dataset_id": ds.dataset_id,
        "name": ds.name,
        "from_version": d.from_version,
        "to_version": d.to_version,
        "added": [record_json(r) for r in d.added],
        "removed": [record_json(r) for r in d.removed],
        "changed": changed,
        "tags_changed": {k: {"before": o, "after": n} for k, (o, n) in d.tags_changed.items()},
    }


def diff(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name, deleted_ok=True)
    v1 = targets.version_number(args.client, target, args.v1)
    v2 = target.latest if args.v2 is None else targets.version_number(args.client, target, args.v2)
    ds = targets.open_dataset(args.client, target)
    d = ds.diff(v1, v2)
    if args.json:
        print_json(_diff_json(ds, d))
        return 0
    print(
        f"dataset {ds.name!r}: version {d.from_version} -> {d.to_version}: "
        f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed"
    )
    for record in d.added:
        print(f"+ {record.dataset_record_id}  inputs {_short(record.inputs)}")
    for record in d.removed:
        print(f"- {record.dataset_record_id}  inputs {_short(record.inputs)}")
    for change in d.changed:
        print(f"~ {change.record_id}  inputs {_short(change.after.inputs)}")
        before, after = content(change.before), content(change.after)
        for path in change.fields:
            print(
                f"    {path}: {_short(value_at(before, path))} -> {_short(value_at(after, path))}"
            )
    for key, (old, new) in d.tags_changed.items():
        print(f"tag {key}: {_short(old)} -> {_short(new)}")
    return 0


def verify(args: argparse.Namespace) -> int:
    """The hash chain, then the projections against a fresh replay of the events."""
    signed = cli_checkpoints.prepare(args)  # --key and --checkpoint read before the walk
    store = args.client.store
    with ProgressBar("verify chain", unit="events") as bar:
        report = verify_chain(store.engine, progress=bar.update)
    if not report.ok:
        raise IntegrityError(
            f"verify failed at position {report.first_bad_position}: {report.problem}"
        )
    print(
        f"ok: {plural(report.events_checked, 'event')}, hash chain intact; "
        f"head position {report.head_position}, head hash {report.head_hash}"
    )
    if signed is not None:
        cli_checkpoints.check(store, signed)
    with ProgressBar("verify projections", unit="events") as bar:
        projections = check_projections(store, progress=bar.update)
    if not projections.ok:
        raise IntegrityError(f"verify failed: {projections.difference}")
    print(
        "ok: projections equal a fresh replay "
        f"({plural(projections.rows_compared, 'row')} compared)"
    )
    return 0


def rebuild(args: argparse.Namespace) -> int:
    store = args.client.store
    print(
        "rebuild holds the writer lock until it finishes: writes wait meanwhile, each at "
        f"most {engine_timeout_s(store.engine):g} s (the lock timeout), then fail; reads "
        "go on",
        flush=True,
    )
    with ProgressBar("rebuild", unit="events") as bar:
        count = rebuild_all(store, progress=bar.update)
    print(f"rebuilt every projection from {plural(count, 'event')}")
    return 0


HISTORY_HELP = (
    "One line per version of the dataset NAME (a name, or an id: a deleted dataset's "
    "history is read by its id)."
)
DIFF_HELP = (
    "What changed from version V1 to V2 (default: the latest) of the dataset NAME. "
    "A version is a number or a version label."
)


def register(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    """history and diff."""
    parser = commands.add_parser(
        "history", help="a dataset's versions", parents=common, description=HISTORY_HELP
    )
    add_name_argument(parser, deleted=True)
    add_json_option(parser)
    parser.set_defaults(handler=history, read_only=True)

    parser = commands.add_parser(
        "diff", help="what changed between two versions", parents=common, description=DIFF_HELP
    )
    add_name_argument(parser, deleted=True)
    parser.add_argument("v1", type=version_arg, metavar="V1", help="a version number or label")
    parser.add_argument(
        "v2",
        type=version_arg,
        nargs="?",
        default=None,
        metavar="V2",
        help="a version number or label (default: the latest)",
    )
    add_json_option(parser)
    parser.set_defaults(handler=diff, read_only=True)


def register_ledger(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    """verify and rebuild."""
    parser = commands.add_parser(
        "verify", help="check the hash chain and the projections", parents=common
    )
    cli_checkpoints.add_verify_options(parser)
    parser.set_defaults(handler=verify, read_only=True)

    parser = commands.add_parser(
        "rebuild", help="recreate every projection from the events", parents=common
    )
    parser.set_defaults(handler=rebuild)
