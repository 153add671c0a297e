"""The two servers of the server comparison, each a subprocess on a free port of 127.0.0.1.

evalledger's is the console script beside the bench's Python; MLflow's (mlflow==3.17.2) lives
in its own virtualenv, which `make bench` creates and names in EVALLEDGER_BENCH_MLFLOW.
Everything either server writes (databases, artifacts, logs) stays in the given directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
#: Where `make bench` installs MLflow's server (overridden by EVALLEDGER_BENCH_MLFLOW).
DEFAULT_MLFLOW = REPOSITORY / ".venv-mlflow-server" / "bin" / "mlflow"
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 20.0


class ServerFailed(Exception):
    """A server did not start; the message says why in one line."""


def mlflow_command() -> Path:
    """MLflow's `mlflow` console script, from its own virtualenv."""
    return Path(os.environ.get("EVALLEDGER_BENCH_MLFLOW") or DEFAULT_MLFLOW)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment() -> dict[str, str]:
    """The bench's environment without its Python settings, and no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


@contextmanager
def serve_evalledger(directory: Path) -> Iterator[str]:
    """`evalledger server` on a new SQLite ledger in `directory`; yields its base URL."""
    command = Path(sys.executable).parent / "evalledger"
    port = free_port()
    argv = [str(command), "server", "--uri", f"sqlite:///{directory / 'e.db'}"]
    argv += ["--port", str(port)]
    with _serving(argv, port, directory, "evalledger-server.log", server_environment()) as url:
        yield url


@contextmanager
def serve_mlflow(directory: Path) -> Iterator[str]:
    """MLflow's own tracking server, one worker, SQLite and artifacts in `directory`.

    Its job runner (background scorer jobs, which no workload uses) is switched off: it
    would only take CPU from the server on a 2-core machine.
    """
    command = mlflow_command()
    if not command.exists():
        raise ServerFailed(
            f"MLflow's server is not installed at {command}: `make bench` creates "
            ".venv-mlflow-server/ (or set EVALLEDGER_BENCH_MLFLOW to an `mlflow` script)"
        )
    port = free_port()
    argv = [str(command), "server", "--backend-store-uri", f"sqlite:///{directory / 'm.db'}"]
    argv += ["--artifacts-destination", str(directory / "artifacts")]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = server_environment() | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with _serving(argv, port, directory, "mlflow-server.log", env) as url:
        yield url


@contextmanager
def _serving(
    argv: list[str], port: int, directory: Path, log_name: str, env: dict[str, str]
) -> Iterator[str]:
    """Run `argv` in its own process group (cwd `directory`) until the block ends."""
    log_path = directory / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        _stop(process)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(
                f"the server exited with status {process.returncode}: {_last_line(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise ServerFailed(f"no answer on {url}/health after {START_TIMEOUT_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process it started (its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):  # workers that outlived their parent
        os.killpg(process.pid, signal.SIGKILL)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"
