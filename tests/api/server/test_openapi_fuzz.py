"""Schemathesis generates requests from /openapi.json against a running server: none of
them may get a 500 (the MLflow client would retry it for four minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests
from processes import server_process

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_generated_requests_never_get_a_server_error(db_url: str, tmp_path: Path) -> None:
    with server_process(db_url, log=tmp_path / "server.log") as url:
        schema = requests.get(url + "/openapi.json", timeout=30).json()
        assert len(schema["paths"]) >= 15
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                url + "/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "12",
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",
                "--seed",
                "20261201",
                "--no-color",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its report directory goes there, not into the repository
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
    assert " 500 " not in (tmp_path / "server.log").read_text()
