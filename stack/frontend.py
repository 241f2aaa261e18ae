"""The dashboard's front-end build, run by ``make setup`` (``python -m stack setup``).

``npm ci`` runs only when ``dashboard/node_modules`` is missing or the lockfile changed
since it last ran (a stamp in ``node_modules`` holds the lockfile's hash); ``npm run
build`` runs only when a source file is newer than the built ``dist/index.html``. npm
fetches from its public registry; ``stack/install_system.sh`` installs Node and npm.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from analytics.config import REPO_ROOT
from stack.lifecycle import StackError

DASHBOARD = REPO_ROOT / "dashboard"
STAMP = ".sitelens-lockfile-sha256"
SOURCES = ("src", "scripts", "package.json", "package-lock.json")


class FrontendError(StackError):
    """The dashboard could not be installed or built; the message says why."""


def lock_hash(root: Path) -> str:
    return hashlib.sha256((root / "package-lock.json").read_bytes()).hexdigest()


def needs_install(root: Path) -> bool:
    stamp = root / "node_modules" / STAMP
    return not stamp.exists() or stamp.read_text().strip() != lock_hash(root)


def newest_source(root: Path) -> float:
    times = []
    for name in SOURCES:
        path = root / name
        if path.is_dir():
            times += [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
        elif path.exists():
            times.append(path.stat().st_mtime)
    return max(times, default=0.0)


def needs_build(root: Path) -> bool:
    index = root / "dist" / "index.html"
    return not index.exists() or newest_source(root) > index.stat().st_mtime


def _npm(root: Path, *args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise FrontendError("npm is not installed: run `bash stack/install_system.sh`")
    done = subprocess.run([npm, *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise FrontendError(f"`npm {' '.join(args)}` failed in {root}:\n{tail}")


def build_dashboard(root: Path = DASHBOARD) -> str:
    """Install and build the dashboard if needed; what was done, as one line."""
    done = []
    if needs_install(root):
        _npm(root, "ci", "--no-audit", "--no-fund")
        (root / "node_modules" / STAMP).write_text(lock_hash(root) + "\n")
        done.append("npm ci")
    if needs_build(root):
        _npm(root, "run", "build")
        done.append("npm run build")
    what = " + ".join(done) if done else "up to date"
    return f"dashboard {what}: {root / 'dist'}"


if __name__ == "__main__":  # python -m stack.frontend: rebuild after editing dashboard/src
    print(build_dashboard())
