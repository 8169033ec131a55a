"""One run, one directory: an exclusive lock on the run directory, held while the run lives.

    with RunLock(run_dir, flag="log.run_name"):   # ConfigError before anything compiles if taken
        ...

The lock is `fcntl.flock` on <run dir>/.crlx.lock, an open file held until the run ends: the OS
drops it when the process exits or dies (SIGKILL, OOM), so a lock left by a dead run never blocks
the next one. The file records the holder's pid, host, start time and command for the message a
second run gets. Taking it also proves the run directory writable.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from crlx.config import ConfigError

LOCK_FILE = ".crlx.lock"


class RunDirInUse(ConfigError):
    """The run directory is held by another live run (the message names it)."""


def holder_description(text: str) -> str:
    """'pid 123 on host h since 2026-12-04 20:31:07: python -m crlx.train ...' from a lock file's text."""
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on host {info['host']} since {info['started']}: {info['command']}"
    except (ValueError, KeyError, TypeError):
        return "a process that left no description"


def command_line() -> str:
    """This process's command as a user typed it: `python -m crlx.train --env ...` for crlx's CLIs."""
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    program = f"python -m crlx.{first.stem}" if first.parent.name == "crlx" else str(first)
    return " ".join([program, *sys.argv[1:]])[:500]


class RunLock:
    """Exclusive lock on `run_dir` (created if needed); `flag` names the option the errors point at."""

    def __init__(self, run_dir: str | Path, flag: str = "log.run_name"):
        self.dir = Path(run_dir)
        self.path = self.dir / LOCK_FILE
        self.flag = flag
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        """Take the lock; ConfigError when the dir cannot be written, RunDirInUse when another run holds it."""
        import fcntl

        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ConfigError(
                f"log.run_dir: cannot write the run directory {self.dir} ({err.strerror or err}); "
                "choose a writable --log.run_dir."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = holder_description(os.pread(fd, 1 << 16, 0).decode(errors="replace"))
            os.close(fd)
            hint = "" if self.flag == "--resume" else ", or choose another --log.run_name"
            raise RunDirInUse(
                f"{self.flag}: {self.dir} is in use by another run ({holder}); wait for it to end or stop it{hint}."
            ) from None
        except OSError as err:  # e.g. ENOLCK: a network file system without locks
            os.close(fd)
            raise ConfigError(
                f"log.run_dir: cannot lock the run directory {self.dir} ({err.strerror or err}); use a --log.run_dir "
                "on a file system with file locks (a local disk)."
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": command_line()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            os.fsync(fd)
        except OSError as err:
            os.close(fd)
            raise ConfigError(
                f"log.run_dir: cannot write the run directory {self.dir} ({err.strerror or err}); "
                "choose a writable --log.run_dir."
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (the file stays, emptied: its content only matters while it is held)."""
        if self._fd is None:
            return
        import fcntl

        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
