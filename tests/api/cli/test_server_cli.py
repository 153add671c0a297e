"""`evalledger server`'s arguments: it refuses to serve other hosts without authentication.
(A running server process: tests/api/server/test_server_process.py.)"""

from __future__ import annotations

import pytest
from cli_helpers import one_line_error, run

from evalledger.cli.server import is_loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_another_host_without_auth_is_refused(
    capsys: pytest.CaptureFixture[str], db_url: str, host: str
) -> None:
    code, _, err = run(capsys, db_url, "server", "--host", host)
    assert code == 1
    line = one_line_error(err)
    assert "--auth" in line and "--insecure-no-auth" in line


def test_loopback_addresses_are_recognised() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.1", "::", "evil.example"))


def test_a_bad_port_or_worker_count_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    for args in (["--port", "0"], ["--port", "x"], ["--workers", "0"]):
        with pytest.raises(SystemExit) as stopped:
            run(capsys, db_url, "server", *args)
        assert stopped.value.code == 2
