"""`evalledger keygen`, `checkpoint` and `verify --key` (API.md §12), on every backend: what
a user sees when the ledger is intact, and when its history was rewritten behind it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cli_helpers import one_line_error, run
from tampering import (
    cut_after,
    delete_and_renumber,
    edit_in_place,
    erase_everything,
    rebuild,
    rewrite_consistently,
)

from evalledger import Client
from evalledger.cli.main import main
from evalledger.ledger import Checkpoint, create_engine, read_checkpoints
from evalledger.ledger.checkpoints import STREAM_ID


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A key pair made with `evalledger keygen`: (private, public) paths."""
    private = str(tmp_path / "signer")
    assert main(["keygen", "-o", private]) == 0
    capsys.readouterr()
    return private, private + ".pub"


def _history(db_url: str) -> None:
    client = Client(db_url, user="tester")
    client.create_experiment("side")
    ds = client.create_dataset("qa")
    ds.merge_records([{"inputs": {"q": i}} for i in range(3)])


def _checkpoint(capsys: pytest.CaptureFixture[str], db_url: str, private: str) -> str:
    code, out, err = run(capsys, db_url, "checkpoint", "--key", private)
    assert code == 0, err
    assert "recorded in the ledger" in err
    line = out.strip()
    assert line.startswith("evalledger-checkpoint:1:") and "\n" not in line
    return line


def _verify(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    return run(capsys, db_url, "verify", *args)


def test_keygen_checkpoint_and_verify(
    db_url: str, keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert "BEGIN PUBLIC KEY" in Path(public).read_text()
    _history(db_url)
    line = _checkpoint(capsys, db_url, private)
    kept = tmp_path / "kept.txt"
    kept.write_text(f"# checkpoints of the qa ledger\n{line}\n")
    Client(db_url).get_dataset(name="qa").merge_records([{"inputs": {"q": "later"}}])
    second = _checkpoint(capsys, db_url, private)

    code, out, err = _verify(capsys, db_url, "--key", public, "--checkpoint", str(kept))
    assert code == 0, err
    assert err == ""
    signed = read_checkpoints(second)[0]
    assert (
        f"ok: 2 checkpoints verified with key {signed.key} (2 in the ledger, 1 kept elsewhere); "
        f"the latest signs {signed.describe().removeprefix('checkpoint at ')}"
    ) in out
    assert "projections equal a fresh replay" in out
    # the printed text works as well as a file; without --key, verify is as before
    assert _verify(capsys, db_url, "--key", public, "--checkpoint", line)[0] == 0
    code, out, _ = _verify(capsys, db_url)
    assert code == 0 and "checkpoint" not in out


def test_keygen_refuses_to_overwrite_without_force(
    keys: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    private, _public = keys
    before = Path(private).read_bytes()
    assert main(["keygen", "-o", private]) == 1
    assert "already exists: give --force" in one_line_error(capsys.readouterr().err)
    assert Path(private).read_bytes() == before
    assert main(["keygen", "-o", private, "--force"]) == 0
    assert Path(private).read_bytes() != before


def test_a_payload_edited_in_place_fails_verify(
    db_url: str, keys: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    _checkpoint(capsys, db_url, private)
    engine = create_engine(db_url)
    edit_in_place(engine, 2, lambda p: {**p, "name": "renamed"})
    engine.dispose()
    code, _, err = _verify(capsys, db_url, "--key", public)
    assert code == 1
    assert one_line_error(err).startswith("evalledger: error: verify failed at position 2: ")


def test_a_consistent_rewrite_passes_plain_verify_and_fails_with_the_key(
    db_url: str, keys: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    line = _checkpoint(capsys, db_url, private)
    checkpoint = read_checkpoints(line)[0]
    engine = create_engine(db_url)
    rewrite_consistently(engine, 2, lambda p: {**p, "name": "renamed"})
    rebuild(engine)
    engine.dispose()
    code, out, err = _verify(capsys, db_url)
    assert code == 0, err  # the chain alone is whole again
    assert "projections equal a fresh replay" in out
    code, out, err = _verify(capsys, db_url, "--key", public)
    assert code == 1
    assert one_line_error(err) == (
        f"evalledger: error: verify failed: {checkpoint.describe()}, in the ledger: the event "
        f"at position {checkpoint.position} no longer has the signed hash: the history up to "
        f"position {checkpoint.position} was rewritten"
    )
    assert "hash chain intact" in out


def test_a_deleted_middle_event_fails_verify_with_the_key(
    db_url: str, keys: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    checkpoint = read_checkpoints(_checkpoint(capsys, db_url, private))[0]
    engine = create_engine(db_url)
    delete_and_renumber(engine, lambda row: row["position"] == 2)
    rebuild(engine)
    engine.dispose()
    assert _verify(capsys, db_url)[0] == 0
    code, _, err = _verify(capsys, db_url, "--key", public)
    assert code == 1
    assert checkpoint.describe() in one_line_error(err)


def test_an_erased_ledger_fails_verify_with_a_kept_checkpoint(
    db_url: str, keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    kept = tmp_path / "kept.txt"
    kept.write_text(_checkpoint(capsys, db_url, private) + "\n")
    engine = create_engine(db_url)
    erase_everything(engine)  # TRUNCATE on MariaDB
    rebuild(engine)
    engine.dispose()
    assert _verify(capsys, db_url)[0] == 0
    code, _, err = _verify(capsys, db_url, "--key", public)
    assert code == 0  # nothing left to check against, and it says so
    assert "evalledger: warning: no checkpoint to verify" in err
    code, _, err = _verify(capsys, db_url, "--key", public, "--checkpoint", str(kept))
    assert code == 1
    assert "beyond the ledger head (position 0)" in one_line_error(err)


def test_deleted_checkpoints_are_caught_by_a_kept_copy_and_warned_about(
    db_url: str, keys: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    first = _checkpoint(capsys, db_url, private)
    second = _checkpoint(capsys, db_url, private)
    engine = create_engine(db_url)
    cut_after(engine, read_checkpoints(second)[0].position)  # the second's own event goes
    engine.dispose()
    code, _out, err = _verify(capsys, db_url, "--key", public, "--checkpoint", second)
    assert code == 0
    assert "evalledger: warning: the ledger holds 1 checkpoint(s)" in err
    assert "was number 2: checkpoints were deleted from the ledger" in err
    engine = create_engine(db_url)
    delete_and_renumber(engine, lambda row: row["stream_id"] == STREAM_ID)
    engine.dispose()
    code, _, err = _verify(
        capsys, db_url, "--key", public, "--checkpoint", first, "--checkpoint", second
    )
    assert code == 1
    assert read_checkpoints(second)[0].describe() in err


def test_a_forged_line_or_the_wrong_key_fails(
    db_url: str, keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    genuine = read_checkpoints(_checkpoint(capsys, db_url, private))[0]
    forged = Checkpoint(
        genuine.position + 1, genuine.hash, genuine.time_ms, 1, genuine.key, genuine.signature
    )
    code, _, err = _verify(capsys, db_url, "--key", public, "--checkpoint", forged.to_line())
    assert code == 1
    assert "signature does not verify" in one_line_error(err)
    assert main(["keygen", "-o", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    code, _, err = _verify(capsys, db_url, "--key", str(tmp_path / "other.pub"))
    assert code == 1
    assert f"it was signed by key {genuine.key}, not by the key given" in one_line_error(err)


def test_usage_mistakes_are_one_line_errors(
    db_url: str, keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    _history(db_url)
    line = _checkpoint(capsys, db_url, private)
    cases = [
        (["verify", "--checkpoint", line], "--checkpoint needs the public key"),
        (["verify", "--key", private], "holds a private key"),
        (["checkpoint", "--key", public], "holds a public key"),
        (["verify", "--key", public, "--checkpoint", "nowhere"], "neither a file nor"),
        (["verify", "--key", public, "--checkpoint", line[:-8] + "%%"], "damaged"),
        (["verify", "--key", str(tmp_path / "missing.pub")], "No such file"),
    ]
    for args, message in cases:
        code, _, err = run(capsys, db_url, *args)
        assert code == 1, args
        assert message in one_line_error(err), args
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = run(capsys, missing, "checkpoint", "--key", private)
    assert code == 1 and "there is no evalledger ledger" in one_line_error(err)
    assert not (tmp_path / "none.db").exists()


def test_the_server_refuses_a_bad_checkpoint_key_before_serving(
    keys: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, public = keys
    url = f"sqlite:///{tmp_path / 'served.db'}"
    cases = [
        (["--checkpoint-key", public], "holds a public key: signing needs the private key"),
        (["--checkpoint-every", "5"], "--checkpoint-every needs the key to sign with"),
        (["--checkpoint-key", str(tmp_path / "none")], "No such file"),
    ]
    for args, message in cases:
        code, _, err = run(capsys, url, "server", *args)
        assert code == 1, args
        assert message in one_line_error(err), args
    with pytest.raises(SystemExit) as stopped:
        run(capsys, url, "server", "--checkpoint-every", "0")
    assert stopped.value.code == 2
