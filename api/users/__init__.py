"""Server users (API.md §10): accounts, roles and per-experiment grants, kept as events in
the ledger, with passwords and tokens stored only as salted slow hashes."""

from evalledger.users.commands import (
    add_user,
    grant,
    new_user_token,
    revoke_user,
    set_password,
    set_role,
)
from evalledger.users.reads import Account, User, get_user, grants_of, list_users
from evalledger.users.rules import DEFAULT_ROLE, NO_PERMISSION, PERMISSIONS, ROLES
from evalledger.users.verification import VERIFIED, VerifiedSecrets, check_login, check_token

__all__ = [
    "DEFAULT_ROLE",
    "NO_PERMISSION",
    "PERMISSIONS",
    "ROLES",
    "VERIFIED",
    "Account",
    "User",
    "VerifiedSecrets",
    "add_user",
    "check_login",
    "check_token",
    "get_user",
    "grant",
    "grants_of",
    "list_users",
    "new_user_token",
    "revoke_user",
    "set_password",
    "set_role",
]
