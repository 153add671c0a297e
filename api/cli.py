"""The `evalledger` command line. Exit 0 on success, 1 on a user error, 2 on usage errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ledger import LedgerError, upgrade, verify_chain
from ledger.engine import create_engine

from .progress import ProgressBar
from .tracking import get_tracking_uri, set_tracking_uri, store_for

Command = Callable[[argparse.Namespace], int]


def _db_upgrade(args: argparse.Namespace) -> int:
    uri = get_tracking_uri()
    engine = create_engine(uri)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print(f"schema is current on {_shown(uri)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    store = store_for()
    with ProgressBar("verify") as bar:
        report = verify_chain(store.engine, progress=bar.update)
    if not report.ok:
        raise LedgerError(
            f"verify failed at position {report.first_bad_position}: {report.problem}"
        )
    print(
        f"ok: {report.events_checked:,} events, hash chain intact; "
        f"head position {report.head_position}, head hash {report.head_hash}"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo()
    return 0


def _shown(uri: str) -> str:
    from ledger import normalize_url

    return normalize_url(uri).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalledger", description="Versioned, auditable evaluation datasets."
    )
    parser.add_argument(
        "--uri",
        help="tracking URI (SQLAlchemy URL); default: $EVALLEDGER_TRACKING_URI or sqlite:///evalledger.db",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="schema management")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_upgrade = db_commands.add_parser("upgrade", help="create or upgrade the schema")
    db_upgrade.add_argument(
        "--uri", dest="sub_uri", help="tracking URI (overrides the global --uri)"
    )
    db_upgrade.set_defaults(handler=_db_upgrade)

    commands.add_parser("verify", help="check the hash chain").set_defaults(handler=_verify)
    commands.add_parser("demo", help="run the seed flows end to end").set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    uri = getattr(args, "sub_uri", None) or args.uri
    if uri:
        set_tracking_uri(uri)
    try:
        return args.handler(args)
    except LedgerError as exc:
        print(f"evalledger: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("evalledger: interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
