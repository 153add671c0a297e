"""The server's checkpointer: every N commits this process made, a signed checkpoint of the
head, written in the background so no request waits for it or fails because of it.

Each worker process counts its own commits (its event store hears of each one). With W
workers, each writes a checkpoint after N of its commits, so the ledger gets about one
checkpoint per N commits overall, not one exactly every N. Commits made by other processes
(the CLI, the Python API) are not counted, but the next checkpoint signs them too: it
signs the head, whoever wrote it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evalledger.ledger import EventStore, Head, create_checkpoint

_log = logging.getLogger("evalledger.server.checkpoints")
#: The user recorded on the checkpoint events the server writes.
SERVER_USER = "evalledger-server"


class Checkpointer:
    """Counts the commits of one event store and checkpoints after every `every` of them."""

    def __init__(self, store: EventStore, key: Ed25519PrivateKey, every: int) -> None:
        self.store = store
        self.key = key
        self.every = every
        self._lock = threading.Lock()
        self._commits = 0
        self._pending = False
        self._own = threading.local()  # set while this checkpointer writes: not a user commit
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")

    def install(self) -> Checkpointer:
        """Listen to the store's commits, in place of any checkpointer installed before (a
        process that builds its app twice must not count every commit twice)."""
        listeners = self.store.commit_listeners
        listeners[:] = [f for f in listeners if not _is_checkpointer(f)]
        listeners.append(self.committed)
        return self

    def committed(self, head: Head) -> None:
        """A commit up to `head` happened in this process: count it, checkpoint when due."""
        if getattr(self._own, "writing", False):
            return
        with self._lock:
            self._commits += 1
            if self._commits < self.every or self._pending:
                return
            self._commits, self._pending = 0, True
        try:
            self._executor.submit(self._write)
        except RuntimeError:  # the executor shut down: the process is exiting
            self._pending = False

    def _write(self) -> None:
        self._own.writing = True
        try:
            signed = create_checkpoint(self.store, self.key, user=SERVER_USER)
        except Exception:
            _log.exception(
                "could not write a checkpoint; the next one is tried after %d more commits",
                self.every,
            )
        else:
            _log.info("checkpoint %s", signed.to_line())
        finally:
            self._own.writing = False
            with self._lock:
                self._pending = False

    def close(self, *, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait)


def _is_checkpointer(listener: object) -> bool:
    return isinstance(getattr(listener, "__self__", None), Checkpointer)
