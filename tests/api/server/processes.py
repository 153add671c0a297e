"""`evalledger server` as a separate process, the way a deployment runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

EVALLEDGER = Path(sys.executable).with_name("evalledger")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(uri: str, *args: str, log: Path) -> Iterator[str]:
    """Run `evalledger --uri URI server --port P ARGS...` until the block ends."""
    port = free_port()
    env = {**os.environ, "EVALLEDGER_AUTO_MIGRATE": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(EVALLEDGER), "--uri", uri, "server", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
                try:
                    if requests.get(url + "/health", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
