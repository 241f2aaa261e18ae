"""Process groups a supervised program leaves behind.

supervisord starts each program in a process group of its own and, on stop, signals the
whole group. But when a program dies unexpectedly (``kill -9`` of Airflow's scheduler),
its children (the LocalExecutor's task processes, the log server) stay in the old group,
reparented to init, and rename themselves (``setproctitle``), so nothing on their command
line or in their environment says whose they are. A program that may leave such children
records its group when it starts (:func:`record`); its next start and ``make stop`` end
what is left of the recorded group (:func:`end_recorded`) with SIGKILL: they are orphans
whose work (a task) Airflow resets and runs again.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def record(pgid_file: Path) -> list[str]:
    """End what is left of the group recorded in ``pgid_file`` (an earlier run of this
    program), then record this process's group. Returns notes on what was ended."""
    notes = end_recorded(pgid_file)
    pgid_file.parent.mkdir(parents=True, exist_ok=True)
    pgid_file.write_text(str(os.getpgrp()))
    return notes


def end_recorded(pgid_file: Path, wait_s: float = 5.0) -> list[str]:
    """SIGKILL what is left of the recorded group (unless it is ours): orphans of a part
    that was killed, whose work Airflow resets and retries anyway. The record is removed
    once the group is gone."""
    try:
        pgid = int(pgid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return []
    if pgid == os.getpgrp():
        return []
    notes = []
    if _alive(pgid):
        _signal(pgid, signal.SIGKILL)
        deadline = time.monotonic() + wait_s
        while _alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        notes.append(f"ended process group {pgid} left by an earlier run ({pgid_file.stem})")
    if not _alive(pgid):
        pgid_file.unlink(missing_ok=True)
    return notes


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
