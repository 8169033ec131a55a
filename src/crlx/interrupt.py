"""Stopping safely: SIGINT (Ctrl-C) and SIGTERM (what schedulers send) ask the host loop to stop.

    with StopRequest() as stop:
        for epoch in ...:
            stop.doing = "finishing epoch 3 of 50 (about 40 s), then saving a checkpoint"
            ...
            if stop.signum is not None:
                save a checkpoint; raise Interrupted(...)

The first signal only sets `stop.signum` and prints one line saying what the run finishes first (an
epoch is one compiled call: it cannot be cut short). Its handler then gives the signal back to the
handler it replaced, so a second one aborts at once (SIGINT: KeyboardInterrupt; SIGTERM: the
process ends). Leaving the block restores the previous handlers. Outside the main thread Python
cannot install handlers, and the block does nothing.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from pathlib import Path

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""exit status of a run stopped by each signal (128 + the signal's number, as shells report it)"""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM at an epoch boundary, after writing a checkpoint.

    `signal` ("SIGINT" / "SIGTERM"), `exit_code` (130 / 143), `run_dir`, `checkpoint` (the checkpoint
    written, or None when nothing was trained yet); the message says how to resume.
    """

    def __init__(self, message: str, signum: int, run_dir: Path, checkpoint: Path | None):
        super().__init__(message)
        self.signal = signal.Signals(signum).name
        self.exit_code = EXIT_CODES[signum]
        self.run_dir = Path(run_dir)
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        return str(self.args[0])


class StopRequest:
    """Catches SIGINT and SIGTERM inside a `with` block; `signum` is the first one caught, else None."""

    def __init__(self, doing: str = "stopping after the current epoch, with a checkpoint"):
        self.signum: int | None = None
        self.doing = doing
        """what the run does before it stops, shown when a signal arrives"""
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:  # a second request: do what the replaced handler does
            self._give_back(signum)
            signal.raise_signal(signum)
            return
        self.signum = signum
        self._give_back(signum)
        name = signal.Signals(signum).name
        again = "Ctrl-C" if signum == signal.SIGINT else name
        print(f"crlx: {name} received: {self.doing} ({again} again stops at once, without a checkpoint).",
              file=sys.stderr, flush=True)

    def _give_back(self, signum: int) -> None:
        previous = self._previous.get(signum)
        signal.signal(signum, signal.SIG_DFL if previous is None else previous)

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for signum in EXIT_CODES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()


def resume_command(run_dir: Path, module: str = "crlx.train") -> str:
    """The command that continues the run in `run_dir`."""
    return f"python -m {module} --resume {shlex.quote(str(run_dir))}"


def stopped_before_training(stop: StopRequest, run_dir: Path, resume_at: int | None, module: str = "crlx.train") -> None:
    """Raise Interrupted when a signal came while the run compiled or prefilled (nothing new to save)."""
    if stop.signum is None:
        return
    name = signal.Signals(stop.signum).name
    if resume_at is None:
        message = f"stopped by {name} before training started: nothing was trained or saved."
    else:
        message = (f"stopped by {name} before training went on: the checkpoint at env step {resume_at:,} is as it "
                   f"was; continue with: {resume_command(run_dir, module)}")
    raise Interrupted(message, stop.signum, run_dir, None)


def interrupted(stop: StopRequest, run_dir: Path, where: str, saved: Path | None, shown: Path | None = None,
                module: str = "crlx.train") -> Interrupted:
    """The Interrupted of a run stopped by a signal `where` (e.g. "after epoch 3 of 8 (env step 480)"),
    with the checkpoint `saved` (shown as `shown`, e.g. a pattern over seed dirs), or None if none."""
    name = signal.Signals(stop.signum).name
    if saved is None:
        return Interrupted(f"stopped by {name} {where} without a checkpoint (checkpoint.every=0): the run cannot be "
                           "resumed.", stop.signum, run_dir, None)
    return Interrupted(f"stopped by {name} {where}; checkpoint {shown or saved}; continue with: "
                       f"{resume_command(run_dir, module)}", stop.signum, run_dir, saved)
