"""`evalledger server`: serve MLflow's REST API and evalledger's own on one port (API.md §10)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from typing import Any

import uvicorn

from evalledger.cli.arguments import positive_int
from evalledger.cli.common import UserError
from evalledger.ledger import load_private_key
from evalledger.server.app import create_app
from evalledger.server.config import DEFAULT_CHECKPOINT_EVERY, ServerConfig

_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(args: argparse.Namespace) -> ServerConfig:
    base = ServerConfig.from_env()
    auth = bool(args.auth) or base.auth
    if not auth and not is_loopback(args.host) and not args.insecure_no_auth:
        raise UserError(
            f"refusing to serve {args.host} without authentication: pass --auth (and add "
            "users with `evalledger users add`), or --insecure-no-auth to serve anyone"
        )
    return ServerConfig(
        uri=args.client.tracking_uri,
        auth=auth,
        max_body_bytes=base.max_body_bytes,
        **_checkpoint_settings(args, base),
    )


def _checkpoint_settings(args: argparse.Namespace, base: ServerConfig) -> dict[str, Any]:
    """--checkpoint-key and --checkpoint-every (else the environment's settings)."""
    key = args.checkpoint_key or base.checkpoint_key
    if args.checkpoint_every is not None and not key:
        raise UserError("--checkpoint-every needs the key to sign with: --checkpoint-key FILE")
    if key:
        key = os.path.abspath(key)  # worker processes may start elsewhere
        load_private_key(key)  # a missing or wrong key fails here, before serving
    every = args.checkpoint_every or base.checkpoint_every
    return {"checkpoint_key": key, "checkpoint_every": every}


def server_command(args: argparse.Namespace) -> int:
    config = _config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    create_app(config)  # opens and upgrades the ledger once, before any worker starts
    mode = "with authentication" if config.auth else "WITHOUT authentication"
    print(
        f"evalledger server on http://{args.host}:{args.port} ({mode}), ledger "
        f"{args.client.tracking_uri}\n"
        f"  MLflow clients: export MLFLOW_TRACKING_URI=http://{args.host}:{args.port}",
        flush=True,
    )
    if config.checkpoint_key:
        print(
            f"  signed checkpoints every {config.checkpoint_every} commits of each worker, "
            f"key {config.checkpoint_key} (logged as evalledger-checkpoint lines)",
            flush=True,
        )
    # Worker processes build their app from the environment (they are new interpreters).
    os.environ["EVALLEDGER_TRACKING_URI"] = config.uri
    os.environ["EVALLEDGER_AUTH"] = "1" if config.auth else "0"
    os.environ["EVALLEDGER_MAX_BODY_BYTES"] = str(config.max_body_bytes)
    os.environ["EVALLEDGER_CHECKPOINT_KEY"] = config.checkpoint_key or ""
    os.environ["EVALLEDGER_CHECKPOINT_EVERY"] = str(config.checkpoint_every)
    uvicorn.run(
        "evalledger.server.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="info",
    )
    return 0


def register(commands: argparse._SubParsersAction, common: list[argparse.ArgumentParser]) -> None:
    server = commands.add_parser(
        "server",
        help="serve MLflow's REST API (for the unchanged MLflow client) and evalledger's own",
        parents=common,
    )
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=positive_int, default=5000, help="port (default 5000)")
    server.add_argument(
        "--workers", type=positive_int, default=1, metavar="N", help="worker processes"
    )
    server.add_argument(
        "--auth",
        action="store_true",
        help="require HTTP Basic or bearer credentials (also EVALLEDGER_AUTH=1)",
    )
    server.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow serving an address other than 127.0.0.1 without authentication",
    )
    server.add_argument(
        "--checkpoint-key",
        metavar="FILE",
        help="sign a checkpoint of the ledger with this private key (`evalledger keygen`) "
        "every N commits (also EVALLEDGER_CHECKPOINT_KEY)",
    )
    server.add_argument(
        "--checkpoint-every",
        type=positive_int,
        metavar="N",
        help="commits of each worker between two checkpoints (default "
        f"{DEFAULT_CHECKPOINT_EVERY}; needs --checkpoint-key)",
    )
    server.set_defaults(handler=server_command)
