"""The history commands of the CLI: history, diff, verify (chain and projections), rebuild."""

from __future__ import annotations

import argparse
from typing import Any

from evalledger.cli.progress import ProgressBar
from evalledger.datasets.history import content, value_at
from evalledger.ledger import IntegrityError, verify_chain
from evalledger.projections.rebuild import check_projections
from evalledger.projections.rebuild import rebuild as rebuild_all
from evalledger.text import clip_json

WIDTH = 70


def _short(value: Any) -> str:
    return clip_json(value, WIDTH)


def history(args: argparse.Namespace) -> int:
    frame = args.client.get_dataset(name=args.name).history()
    header = ["version", "time (UTC)".ljust(19), "user".ljust(12), "operation".ljust(18)]
    print("  ".join([header[0].rjust(7), *header[1:], "     +      ~      -   records  digest"]))
    for row in frame.itertuples(index=False):
        source = row.source_version
        operation = row.operation + (f" (from v{source})" if source is not None else "")
        counts = f"{row.records_added:>6} {row.records_updated:>6} {row.records_deleted:>6}"
        when = row.timestamp.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{row.version:>7}  {when}  {row.user[:12]:12}  {operation[:18]:18}  "
            + f"{counts}  {row.num_records:>8}  {row.digest[:12]}"
        )
    return 0


def diff(args: argparse.Namespace) -> int:
    ds = args.client.get_dataset(name=args.name)
    d = ds.diff(args.v1, args.v2)
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
    store = args.client.store
    with ProgressBar("verify chain") as bar:
        report = verify_chain(store.engine, progress=bar.update)
    if not report.ok:
        raise IntegrityError(
            f"verify failed at position {report.first_bad_position}: {report.problem}"
        )
    print(
        f"ok: {report.events_checked:,} events, hash chain intact; "
        f"head position {report.head_position}, head hash {report.head_hash}"
    )
    with ProgressBar("verify projections") as bar:
        projections = check_projections(store, progress=bar.update)
    if not projections.ok:
        raise IntegrityError(f"verify failed: {projections.difference}")
    print(f"ok: projections equal a fresh replay ({projections.rows_compared:,} rows compared)")
    return 0


def rebuild(args: argparse.Namespace) -> int:
    store = args.client.store
    with ProgressBar("rebuild") as bar:
        count = rebuild_all(store, progress=bar.update)
    print(f"rebuilt every projection from {count:,} events")
    return 0


def register(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("history", help="a dataset's versions", parents=common)
    parser.add_argument("name", metavar="NAME")
    parser.set_defaults(handler=history)

    parser = commands.add_parser("diff", help="what changed between two versions", parents=common)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("v1", type=int, metavar="V1")
    parser.add_argument(
        "v2", type=int, nargs="?", default=None, metavar="V2", help="default: latest"
    )
    parser.set_defaults(handler=diff)

    parser = commands.add_parser(
        "rebuild", help="recreate every projection from the events", parents=common
    )
    parser.set_defaults(handler=rebuild)
