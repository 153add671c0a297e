"""The small writes of the CLI: delete, undelete, restore, label, tag, untag.

Each names the dataset by name or id (undelete: by id), prints what it did and the version
it made, and says so when there was nothing to change (a write that changes nothing makes
no version).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from evalledger.cli import targets
from evalledger.cli.arguments import add_name_argument, version_arg
from evalledger.cli.common import UserError, instant_text, plural, tags_text


def _delete(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name)
    args.client.delete_dataset(dataset_id=target.dataset_id)
    gone = targets.find(args.client, target.dataset_id, deleted_ok=True)
    print(
        f"deleted dataset {target.name!r} ({target.dataset_id}) at version {gone.latest}; "
        f"its history stays readable by id, and `evalledger undelete {target.dataset_id}` "
        "brings it back"
    )
    return 0


def _undelete(args: argparse.Namespace) -> int:
    text = args.id
    if not targets.is_dataset_id(text):
        gone = targets.deleted_named(args.client, text)
        if gone:
            ids = ", ".join(f"{i} (deleted {instant_text(t)})" for i, t in gone)
            hint = f"the deleted datasets named {text!r}: {ids}"
        else:
            hint = "`evalledger datasets --deleted` lists the deleted datasets with their ids"
        raise UserError(f"undelete takes a dataset id (d-...), not a name; {hint}")
    target = targets.find(args.client, text, deleted_ok=True)
    if not target.deleted:
        raise UserError(f"dataset {target.name!r} ({text}) is not deleted: nothing to undelete")
    args.client.undelete_dataset(text)
    ds = args.client.get_dataset(dataset_id=text)
    print(
        f"undeleted dataset {ds.name!r} ({ds.dataset_id}): version {ds.version}, "
        f"{plural(ds.num_records, 'record')}"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name)
    number = targets.version_number(args.client, target, args.version)
    ds = args.client.get_dataset(dataset_id=target.dataset_id)
    before = ds.version
    ds.restore(number)
    if ds.version == before:
        print(
            f"dataset {ds.name!r} version {before} has the content of version {number} "
            "already: nothing changed"
        )
        return 0
    print(
        f"restored dataset {ds.name!r} to the content of version {number}: version "
        f"{ds.version}, {plural(ds.num_records, 'record')}, digest {ds.digest}"
    )
    return 0


def _label(args: argparse.Namespace) -> int:
    if re.fullmatch(r"-?\d+", args.label.strip()):
        raise UserError(
            f"label {args.label!r} is a number, and a number given as a version is read as "
            "a version number: choose a label with a letter in it (e.g. v3, golden-3)"
        )
    target = targets.find(args.client, args.name)
    number = (
        target.latest
        if args.version is None
        else targets.version_number(args.client, target, args.version)
    )
    old = targets.labels(args.client, target).get(args.label)
    ds = args.client.get_dataset(dataset_id=target.dataset_id)
    ds.label_version(args.label, number)
    if old == number:
        print(f"label {args.label!r} of dataset {ds.name!r} is on version {number} already")
        return 0
    moved = "" if old is None else f" (moved from version {old})"
    print(f"label {args.label!r} -> dataset {ds.name!r} version {number}{moved}")
    return 0


def _tag(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name)
    tags = dict(args.tags)
    args.client.set_dataset_tags(target.dataset_id, tags)
    ds = args.client.get_dataset(dataset_id=target.dataset_id)
    if ds.version == target.latest:
        print(f"dataset {ds.name!r} has those tags already: nothing changed")
    else:
        print(f"dataset {ds.name!r} version {ds.version}: tags {tags_text(ds.tags)}")
    return 0


def _untag(args: argparse.Namespace) -> int:
    target = targets.find(args.client, args.name)
    if args.key not in target.view.tags:
        known = ", ".join(sorted(target.view.tags)) or "none"
        print(
            f"dataset {target.name!r} has no tag {args.key!r} (its tags: {known}): nothing changed"
        )
        return 0
    args.client.delete_dataset_tag(target.dataset_id, args.key)
    ds = args.client.get_dataset(dataset_id=target.dataset_id)
    print(f"dataset {ds.name!r} version {ds.version}: tags {tags_text(ds.tags)}")
    return 0


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def register(commands: Any, common: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "delete",
        help="delete a dataset (its history stays; undelete brings it back)",
        parents=common,
    )
    add_name_argument(parser)
    parser.set_defaults(handler=_delete)

    parser = commands.add_parser(
        "undelete", help="bring a deleted dataset back, by its id", parents=common
    )
    parser.add_argument(
        "id", metavar="ID", help="the deleted dataset's id (see `evalledger datasets --deleted`)"
    )
    parser.set_defaults(handler=_undelete)

    parser = commands.add_parser(
        "restore", help="a new version with the content of an old one", parents=common
    )
    add_name_argument(parser)
    parser.add_argument(
        "version", type=version_arg, metavar="VERSION", help="a version number or label"
    )
    parser.set_defaults(handler=_restore)

    parser = commands.add_parser(
        "label", help="point a version label (e.g. golden-v3) at a version", parents=common
    )
    add_name_argument(parser)
    parser.add_argument("label", metavar="LABEL")
    parser.add_argument(
        "version",
        type=version_arg,
        nargs="?",
        default=None,
        metavar="VERSION",
        help="a version number or label (default: the latest)",
    )
    parser.set_defaults(handler=_label)

    parser = commands.add_parser("tag", help="set dataset tags", parents=common)
    add_name_argument(parser)
    parser.add_argument("tags", type=_key_value, nargs="+", metavar="KEY=VALUE", help="tags to set")
    parser.set_defaults(handler=_tag)

    parser = commands.add_parser("untag", help="delete a dataset tag", parents=common)
    add_name_argument(parser)
    parser.add_argument("key", metavar="KEY")
    parser.set_defaults(handler=_untag)
