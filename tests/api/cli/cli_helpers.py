"""What the CLI tests share: run the command line, and read its one-line errors."""

from __future__ import annotations

import pytest

from evalledger.cli.main import main


def run(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    """Run the CLI on db_url: (exit status, stdout, stderr)."""
    code = main(["--uri", db_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The one error line a user error prints (and no traceback)."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("evalledger: error: "), err
    assert "Traceback" not in err
    return lines[0]
