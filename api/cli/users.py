"""`evalledger users`: the server's accounts, roles and grants (API.md §10).

The commands work on the database directly (``--uri``), acting as the CLI's user
(EVALLEDGER_USER or the OS user), who is recorded on every event they write. A new token
is printed once, alone on the last line, so ``evalledger users add bob | tail -1`` is it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from evalledger import users
from evalledger.cli.arguments import add_json_option
from evalledger.cli.common import UserError, plural, print_json, table, time_text


def _read_password(args: argparse.Namespace) -> str | None:
    """The password given on stdin (its trailing newline dropped), None without
    --password-stdin. On a terminal it is asked for twice, without echo."""
    if not args.password_stdin:
        return None
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ")
        return password
    text = sys.stdin.read()
    return text[:-1] if text.endswith("\n") else text


def _print_token(token: str) -> None:
    """The token, alone on the last line."""
    print(token, flush=True)


def _add(args: argparse.Namespace) -> int:
    password = _read_password(args)
    token = users.add_user(args.client.session, args.name, args.role, password)
    login = "a password and a token" if password is not None else "a token"
    print(
        f"added user {args.name!r} ({args.role}) with {login}; the token is shown only this once:"
    )
    _print_token(token)
    return 0


def _user_json(user: users.User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "revoked": user.revoked,
        "has_password": user.has_password,
        "grants": user.grants,
        "created_time": user.created_time,
        "created_by": user.created_by,
        "last_update_time": user.last_update_time,
    }


def _list(args: argparse.Namespace) -> int:
    found = users.list_users(args.client.session)
    if args.json:
        print_json({"users": [_user_json(u) for u in found]})
        return 0
    if not found:
        print("no users (add the first admin with `evalledger users add NAME --role admin`)")
        return 0
    rows = [
        [
            u.name,
            u.role,
            "yes" if u.revoked else "no",
            "yes" if u.has_password else "no",
            ", ".join(f"{e}:{p}" for e, p in u.grants.items()) or "-",
            f"{time_text(u.created_time)} by {u.created_by}",
        ]
        for u in found
    ]
    print(table(["name", "role", "revoked", "password", "grants", "created"], rows))
    revoked = sum(1 for u in found if u.revoked)
    print(plural(len(found), "user") + (f" ({revoked:,} revoked)" if revoked else ""))
    return 0


def _set_role(args: argparse.Namespace) -> int:
    if users.set_role(args.client.session, args.name, args.role):
        print(f"user {args.name!r} now has the role {args.role}")
    else:
        print(f"user {args.name!r} has the role {args.role} already: nothing changed")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if users.revoke_user(args.client.session, args.name):
        print(f"revoked user {args.name!r}: their password and token no longer work")
    else:
        print(f"user {args.name!r} is revoked already: nothing changed")
    return 0


def _grant(args: argparse.Namespace) -> int:
    changed = users.grant(args.client.session, args.name, args.experiment_id, args.permission)
    where = f"experiment {args.experiment_id}"
    if not changed:
        print(f"user {args.name!r} has {args.permission} on {where} already: nothing changed")
    elif args.permission == users.NO_PERMISSION:
        print(f"withdrew the grant of user {args.name!r} on {where}")
    else:
        print(f"granted {args.permission} on {where} to user {args.name!r}")
    return 0


def _set_password(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        raise UserError("give the new password on stdin: users set-password NAME --password-stdin")
    users.set_password(args.client.session, args.name, password)
    print(f"set a new password for user {args.name!r}")
    return 0


def _new_token(args: argparse.Namespace) -> int:
    token = users.new_user_token(args.client.session, args.name)
    print(
        f"made a new token for user {args.name!r} (the old one no longer works); "
        "it is shown only this once:"
    )
    _print_token(token)
    return 0


def _password_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--password-stdin", action="store_true", help=help_text)


def register(commands: argparse._SubParsersAction, common: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "users", help="the server's users, roles and grants (evalledger server --auth)"
    )
    sub = parser.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    roles = "|".join(users.ROLES)

    add = sub.add_parser(
        "add", help="add a user; prints their bearer token once, on the last line", parents=common
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", default=users.DEFAULT_ROLE, metavar=roles, help="default: reader")
    _password_option(add, "read a password for HTTP Basic logins from stdin")
    add.set_defaults(handler=_add)

    listing = sub.add_parser("list", help="every user, role and grant", parents=common)
    add_json_option(listing)
    listing.set_defaults(handler=_list, read_only=True)

    set_role = sub.add_parser("set-role", help="give a user another role", parents=common)
    set_role.add_argument("name", metavar="NAME")
    set_role.add_argument("role", metavar=roles)
    set_role.set_defaults(handler=_set_role)

    revoke = sub.add_parser(
        "revoke", help="revoke a user: their password and token stop working", parents=common
    )
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_revoke)

    grant = sub.add_parser(
        "grant",
        help="give a user read, edit or manage on one experiment (none withdraws it)",
        parents=common,
    )
    grant.add_argument("name", metavar="NAME")
    grant.add_argument("experiment_id", metavar="EXPERIMENT_ID")
    grant.add_argument("permission", metavar="|".join((*users.PERMISSIONS, users.NO_PERMISSION)))
    grant.set_defaults(handler=_grant)

    set_password = sub.add_parser(
        "set-password", help="a new password for a user, read from stdin", parents=common
    )
    set_password.add_argument("name", metavar="NAME")
    _password_option(set_password, "read the new password from stdin")
    set_password.set_defaults(handler=_set_password)

    new_token = sub.add_parser(
        "new-token",
        help="a new bearer token for a user (the old one stops working); printed once",
        parents=common,
    )
    new_token.add_argument("name", metavar="NAME")
    new_token.set_defaults(handler=_new_token)
