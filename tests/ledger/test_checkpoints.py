"""Signed checkpoints (API.md §12) through the Python API, on every backend: a checkpoint
anchors the chain outside the database, so every rewrite of the history before it is
caught, even one that leaves the chain whole (tampering.py does the rewrites)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from tampering import (
    cut_after,
    delete_and_renumber,
    edit_in_place,
    erase_everything,
    rebuild,
    rewrite_consistently,
)

from evalledger import Client
from evalledger.ledger import (
    Checkpoint,
    InvalidParameter,
    LedgerError,
    create_checkpoint,
    load_private_key,
    load_public_key,
    read_checkpoints,
    verify_chain,
    verify_checkpoints,
    write_key_pair,
)
from evalledger.ledger.checkpoints import STREAM_ID, STREAM_TYPE, fingerprint
from evalledger.ledger.schema import events
from evalledger.projections.rebuild import check_projections


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signer"
    write_key_pair(path)
    return path


def _history(client: Client) -> None:
    """Experiment "0", an experiment "side" (its own stream), a dataset, a merge, a tag."""
    client.create_experiment("side")
    ds = client.create_dataset("qa")
    ds.merge_records([{"inputs": {"q": i}, "expectations": {"a": i}} for i in range(3)])
    client.set_dataset_tags(ds.dataset_id, {"team": "eval"})


def _position_of(engine: sa.Engine, event_type: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.min(events.c.position)).where(events.c.event_type == event_type)
        ).scalar_one()


def _side_experiment(row: dict) -> bool:
    return row["event_type"] == "ExperimentCreated" and b'"side"' in row["payload"].encode()


def _renamed(payload: dict) -> dict:
    return {**payload, "name": "renamed"}


def _signed_history(client: Client, key_file: Path) -> Checkpoint:
    """The history, a checkpoint of it, and one more write after the checkpoint."""
    _history(client)
    checkpoint = create_checkpoint(client.store, load_private_key(key_file), user="auditor")
    client.get_dataset(name="qa").merge_records([{"inputs": {"q": "later"}}])
    return checkpoint


def test_a_checkpoint_signs_the_head_and_verifies(client: Client, key_file: Path) -> None:
    _history(client)
    head = client.store.head()
    first = create_checkpoint(client.store, load_private_key(key_file), user="auditor")
    assert (first.position, first.hash, first.checkpoints_before) == (head.position, head.hash, 0)
    assert first.key == fingerprint(load_public_key(f"{key_file}.pub"))
    stored = client.store.read_stream(STREAM_ID)
    assert [(e.position, e.stream_type, e.event_type) for e in stored] == [
        (head.position + 1, STREAM_TYPE, "CheckpointSigned")
    ]
    assert stored[0].payload == first.to_payload()
    assert stored[0].metadata["user"] == "auditor"
    second = create_checkpoint(client.store, load_private_key(key_file))
    assert (second.position, second.checkpoints_before) == (head.position + 1, 1)
    # the text line reads back as the same checkpoint, alone or among other text
    assert read_checkpoints(first.to_line()) == [first]
    assert read_checkpoints(f"kept 2026-01-02: {first.to_line()} (ticket 7)") == [first]

    report = verify_checkpoints(client.store.engine, load_public_key(f"{key_file}.pub"))
    assert report.ok and report.problem is None and report.warnings == ()
    assert (report.in_ledger, report.given, report.checked) == (2, 0, 2)
    assert report.latest == second
    # checkpoints are part of the chain, and no projection minds them
    assert verify_chain(client.store.engine).ok
    assert check_projections(client.store).ok
    rebuild(client.store.engine)
    assert check_projections(client.store).ok
    assert client.get_dataset(name="qa").num_records == 3


def test_a_payload_edited_in_place_is_caught_by_the_chain(client: Client, key_file: Path) -> None:
    _signed_history(client, key_file)
    engine = client.store.engine
    position = _position_of(engine, "ExperimentCreated") + 1  # "side"
    edit_in_place(engine, position, _renamed)
    chain = verify_chain(engine)
    assert not chain.ok and chain.first_bad_position == position
    assert "content does not match its hash" in (chain.problem or "")


def test_a_consistent_rewrite_passes_the_chain_but_not_the_checkpoint(
    client: Client, key_file: Path
) -> None:
    checkpoint = _signed_history(client, key_file)
    engine = client.store.engine
    public = load_public_key(f"{key_file}.pub")
    assert verify_checkpoints(engine, public).ok
    rewrite_consistently(engine, _position_of(engine, "ExperimentCreated") + 1, _renamed)
    rebuild(engine)
    assert client.get_experiment_by_name("renamed") is not None  # the rewrite took
    assert verify_chain(engine).ok  # the chain alone cannot tell
    assert check_projections(client.store).ok
    report = verify_checkpoints(engine, public, [checkpoint.to_line()])
    assert not report.ok
    assert report.failures[0].checkpoint == checkpoint
    assert report.problem == (
        f"{checkpoint.describe()}, in the ledger and kept elsewhere: the event at position "
        f"{checkpoint.position} no longer has the signed hash: the history up to position "
        f"{checkpoint.position} was rewritten"
    )


def test_a_middle_event_deleted_and_the_rest_renumbered_is_caught(
    client: Client, key_file: Path
) -> None:
    checkpoint = _signed_history(client, key_file)
    engine = client.store.engine
    assert delete_and_renumber(engine, _side_experiment) == [2]
    rebuild(engine)
    assert client.get_experiment_by_name("side") is None
    assert verify_chain(engine).ok and check_projections(client.store).ok
    report = verify_checkpoints(engine, load_public_key(f"{key_file}.pub"))
    assert not report.ok
    assert report.failures[0].checkpoint == checkpoint
    assert "no longer has the signed hash" in (report.problem or "")


def test_everything_erased_is_caught_by_a_kept_checkpoint(client: Client, key_file: Path) -> None:
    checkpoint = _signed_history(client, key_file)
    engine = client.store.engine
    public = load_public_key(f"{key_file}.pub")
    erase_everything(engine)
    rebuild(engine)
    assert verify_chain(engine).ok and check_projections(client.store).ok
    alone = verify_checkpoints(engine, public)  # the checkpoints went with the events
    assert alone.ok and alone.in_ledger == 0
    assert alone.warnings == (
        "no checkpoint to verify: the ledger holds none and none was given "
        "(make one with `evalledger checkpoint --key FILE`)",
    )
    kept = verify_checkpoints(engine, public, [checkpoint])
    assert not kept.ok and kept.head_position == 0
    assert kept.problem == (
        f"{checkpoint.describe()}, kept elsewhere: its position is beyond the ledger head "
        f"(position 0): events up to position {checkpoint.position} were removed"
    )


def test_checkpoints_deleted_from_the_ledger_are_caught_by_a_kept_copy(
    client: Client, key_file: Path
) -> None:
    engine = client.store.engine
    first = _signed_history(client, key_file)
    second = create_checkpoint(client.store, load_private_key(key_file))
    public = load_public_key(f"{key_file}.pub")
    delete_and_renumber(engine, lambda row: row["stream_id"] == STREAM_ID)
    rebuild(engine)
    assert verify_chain(engine).ok
    # the first checkpoint's position is before any deleted event: it still holds
    assert verify_checkpoints(engine, public, [first]).ok
    report = verify_checkpoints(engine, public, [first, second])
    assert not report.ok
    assert [f.checkpoint for f in report.failures] == [second]
    assert report.warnings == (
        f"the ledger holds 0 checkpoint(s), but the {first.describe()} was number 1: "
        "checkpoints were deleted from the ledger",
    )


def test_fewer_checkpoints_in_the_ledger_than_claimed_is_a_warning(
    client: Client, key_file: Path
) -> None:
    engine = client.store.engine
    _signed_history(client, key_file)
    second = create_checkpoint(client.store, load_private_key(key_file))
    cut_after(engine, second.position)  # the tail after it, its own event with it, is gone
    report = verify_checkpoints(engine, load_public_key(f"{key_file}.pub"), [second])
    assert report.ok and report.in_ledger == 1 and report.latest == second
    assert report.warnings == (
        f"the ledger holds 1 checkpoint(s), but the {second.describe()} was number 2: "
        "checkpoints were deleted from the ledger",
    )


def _forged(checkpoint: Checkpoint, **fields: object) -> str:
    body = orjson.dumps({**checkpoint.to_payload(), **fields}, option=orjson.OPT_SORT_KEYS)
    return "evalledger-checkpoint:1:" + base64.urlsafe_b64encode(body).rstrip(b"=").decode()


def test_an_altered_checkpoint_line_does_not_verify(client: Client, key_file: Path) -> None:
    checkpoint = _signed_history(client, key_file)
    engine = client.store.engine
    public = load_public_key(f"{key_file}.pub")
    later = client.store.head()
    forged = _forged(checkpoint, position=later.position, hash=later.hash)
    report = verify_checkpoints(engine, public, [forged])
    assert not report.ok
    assert report.failures[0].position == later.position
    assert (report.problem or "").startswith(f"checkpoint at position {later.position} (")
    assert (report.problem or "").endswith(
        f"kept elsewhere: its signature does not verify with key {checkpoint.key}: the "
        "checkpoint was altered or forged"
    )
    # a damaged line is refused with the field named, before anything is checked
    with pytest.raises(InvalidParameter, match="field 'hash' must be 64 lowercase hex") as info:
        read_checkpoints(_forged(checkpoint, hash="x" * 64))
    assert info.value.field == "hash"
    with pytest.raises(InvalidParameter, match="damaged"):
        read_checkpoints(checkpoint.to_line()[:-20] + "!!!")
    with pytest.raises(InvalidParameter, match="format 2 is not known"):
        read_checkpoints(checkpoint.to_line().replace(":1:", ":2:"))


def test_a_checkpoint_signed_with_another_key_fails(
    client: Client, key_file: Path, tmp_path: Path
) -> None:
    checkpoint = _signed_history(client, key_file)
    other = write_key_pair(tmp_path / "other")
    report = verify_checkpoints(client.store.engine, load_public_key(other.public))
    assert not report.ok
    assert report.problem == (
        f"{checkpoint.describe()}, in the ledger: it was signed by key {checkpoint.key}, not by "
        f"the key given ({other.fingerprint})"
    )
    # both keys given (a key replaced): each checkpoint is checked with its own
    both = [load_public_key(other.public), load_public_key(f"{key_file}.pub")]
    assert verify_checkpoints(client.store.engine, both).ok


def test_keygen_writes_a_private_file_and_never_overwrites(tmp_path: Path) -> None:
    files = write_key_pair(tmp_path / "k")
    assert stat.S_IMODE(os.stat(files.private).st_mode) == 0o600
    assert files.public == tmp_path / "k.pub"
    assert fingerprint(load_private_key(files.private)) == files.fingerprint
    before = files.private.read_bytes()
    with pytest.raises(InvalidParameter, match="already exists: give --force"):
        write_key_pair(tmp_path / "k")
    assert files.private.read_bytes() == before
    again = write_key_pair(tmp_path / "k", force=True)
    assert again.fingerprint != files.fingerprint
    assert stat.S_IMODE(os.stat(again.private).st_mode) == 0o600
    with pytest.raises(InvalidParameter, match="holds a public key: signing needs the private"):
        load_private_key(files.public)
    with pytest.raises(InvalidParameter, match="holds a private key: verifying needs only"):
        load_public_key(files.private)
    (tmp_path / "junk").write_text("not a key")
    with pytest.raises(InvalidParameter, match="is not a PEM private key"):
        load_private_key(tmp_path / "junk")
    with pytest.raises(InvalidParameter, match=r"directory .* does not exist"):
        write_key_pair(tmp_path / "missing" / "k")


def test_bad_arguments_are_refused_cleanly(client: Client, key_file: Path, tmp_path: Path) -> None:
    engine = client.store.engine
    with pytest.raises(InvalidParameter, match="Ed25519 public keys, not Ed25519PrivateKey"):
        verify_checkpoints(engine, load_private_key(key_file))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="needs at least one public key"):
        verify_checkpoints(engine, [])
    with pytest.raises(InvalidParameter, match="neither a file nor a checkpoint line"):
        read_checkpoints(tmp_path / "nowhere")
    (tmp_path / "empty.txt").write_text("nothing here\n")
    with pytest.raises(InvalidParameter, match="holds no checkpoint line"):
        read_checkpoints(tmp_path / "empty.txt")
    with pytest.raises(InvalidParameter, match="an Ed25519 private key, not str"):
        create_checkpoint(client.store, "key")  # type: ignore[arg-type]


def test_an_empty_ledger_has_nothing_to_sign(store: object, key_file: Path) -> None:
    with pytest.raises(LedgerError, match="the ledger is empty"):
        create_checkpoint(store, load_private_key(key_file))  # type: ignore[arg-type]
