"""Write a file so that it appears complete or not at all, even across a power loss.

`write_atomically(target, write)` has `write` fill a temporary file in the target's
directory, named ``.<target name>.evalledger-tmp-<host>-<pid>-<random>``, then fsyncs it,
renames it over the target and fsyncs the directory, so the rename itself is on disk.

A process killed while writing leaves its temporary file behind. The next write to the
same target removes such leftovers when they were made on this host by a process that is
no longer running, and reports the others (another host's, a running process's, one it
could not remove) through `warn`, naming each file.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["TEMP_MARKER", "Leftover", "clean_leftovers", "leftovers", "write_atomically"]

#: What every temporary file's name carries after the target's name.
TEMP_MARKER = ".evalledger-tmp-"
Warn = Callable[[str], None]
#: Errors of fsync on a directory from file systems that cannot sync one (nothing to do).
_CANNOT_SYNC_DIRECTORY = frozenset((errno.EINVAL, errno.ENOTSUP, errno.EBADF))
#: The temporary files this process is writing now (its other threads' are not leftovers).
_writing: set[Path] = set()
_writing_lock = threading.Lock()


def _host_tag() -> str:
    """This host's name as it goes into a file name (letters, digits and dots only)."""
    return re.sub(r"[^A-Za-z0-9.]", "", socket.gethostname())[:40] or "host"


def temp_path(target: Path) -> Path:
    """A new temporary file name next to `target`, unique to this process and call."""
    name = f".{target.name}{TEMP_MARKER}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return target.with_name(name)


@dataclass(frozen=True)
class Leftover:
    """A temporary file of an earlier write to the same target."""

    path: Path
    host: str
    pid: int

    def writer_is_gone(self) -> bool:
        """True when the process that wrote it ran on this host and is not running now."""
        return self.host == _host_tag() and not _process_is_running(self.pid)


def leftovers(target: Path) -> list[Leftover]:
    """The temporary files that writes to `target` left in its directory (none while
    the directory cannot be listed)."""
    prefix = re.escape(f".{target.name}{TEMP_MARKER}")
    pattern = re.compile(prefix + r"(?P<host>[A-Za-z0-9.]+)-(?P<pid>\d+)-[0-9a-f]{8}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        match = pattern.fullmatch(name)
        if match is not None:
            found.append(Leftover(target.with_name(name), match["host"], int(match["pid"])))
    return found


def clean_leftovers(target: Path, warn: Warn) -> list[Path]:
    """Remove the leftovers of writers that are gone; report the others. Returns the
    files removed."""
    removed = []
    for leftover in leftovers(target):
        if leftover.pid == os.getpid() and leftover.host == _host_tag():
            with _writing_lock:
                if leftover.path in _writing:
                    continue  # another thread of this process is writing it right now
            # else an earlier process that had this process's id left it
        elif not leftover.writer_is_gone():
            who = (
                f"process {leftover.pid} is still running"
                if leftover.host == _host_tag()
                else f"it was written on host {leftover.host!r}"
            )
            warn(f"left {leftover.path} in place: {who}; remove it once no export is running")
            continue
        try:
            leftover.path.unlink()
        except FileNotFoundError:
            continue  # another export removed it first
        except OSError as exc:
            warn(f"could not remove {leftover.path}: {exc.strerror or exc}")
            continue
        removed.append(leftover.path)
    return removed


def write_atomically(target: Path, write: Callable[[IO[bytes]], None], warn: Warn) -> None:
    """Have `write` fill a temporary file, then make it `target`, durably.

    On any error (or interrupt) the temporary file is removed and `target` is untouched.
    The file gets the mode the umask gives (not tempfile's private 0600).
    """
    clean_leftovers(target, warn)
    tmp = temp_path(target)
    with _writing_lock:
        _writing.add(tmp)
    try:
        with open(tmp, "xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        with _writing_lock:
            _writing.discard(tmp)
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Put a directory's entries (a rename into it) on disk, where the system can."""
    if os.name != "posix":
        return  # Windows cannot open a directory to sync it
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _CANNOT_SYNC_DIRECTORY:
            raise
    finally:
        os.close(fd)


def _process_is_running(pid: int) -> bool:
    """True when a process with this id exists on this host (it may be another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True  # cannot tell: keep the file
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """True for a process that has exited but was not reaped yet (Linux; False elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
