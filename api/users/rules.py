"""What a user name, a role, a permission and a password may be (InvalidParameter if not)."""

from __future__ import annotations

import re
from typing import Any

from evalledger.ledger import InvalidParameter
from evalledger.projections.users_fold import NO_PERMISSION

#: A user's permission on every experiment: reader reads, editor reads and writes, admin
#: does everything, users included.
ROLES = ("reader", "editor", "admin")
DEFAULT_ROLE = "reader"
#: What a grant gives on one experiment (MLflow basic-auth's names); "none" withdraws it.
PERMISSIONS = ("read", "edit", "manage")

MAX_NAME = 128
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
#: Letters, digits and ``. _ @ + -`` (an e-mail address fits); no ':' (HTTP Basic splits
#: on it) and no white space.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")


def is_user_name(name: Any) -> bool:
    """Whether `name` could name a user (what a login may be looked up by)."""
    return isinstance(name, str) and len(name) <= MAX_NAME and bool(_NAME.fullmatch(name))


def check_user_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidParameter(
            f"name: a user name is a non-empty string, got {name!r}", field="name"
        )
    if len(name) > MAX_NAME:
        raise InvalidParameter(
            f"name: a user name is at most {MAX_NAME} characters, got {len(name)}",
            field="name",
        )
    if not _NAME.fullmatch(name):
        raise InvalidParameter(
            f"name: {name!r} is not a user name (letters, digits and . _ @ + -, "
            "starting with a letter or digit)",
            field="name",
        )
    return name


def check_role(role: Any) -> str:
    if role not in ROLES:
        raise InvalidParameter(
            f"role: {role!r} is not a role (one of {', '.join(ROLES)})", field="role"
        )
    return str(role)


def check_permission(permission: Any) -> str:
    if permission not in (*PERMISSIONS, NO_PERMISSION):
        raise InvalidParameter(
            f"permission: {permission!r} is not a permission "
            f"(one of {', '.join(PERMISSIONS)}, or {NO_PERMISSION} to withdraw a grant)",
            field="permission",
        )
    return str(permission)


def check_password(password: Any) -> str:
    """A password of 8 to 1024 characters (never repeated in the message)."""
    if not isinstance(password, str):
        raise InvalidParameter("password: a password is a string", field="password")
    if len(password) < MIN_PASSWORD:
        raise InvalidParameter(
            f"password: a password has at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidParameter(
            f"password: a password has at most {MAX_PASSWORD} characters", field="password"
        )
    if "\x00" in password:
        raise InvalidParameter("password: a password cannot contain NUL", field="password")
    return password
