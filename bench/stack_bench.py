"""Foundation figures: clean clone to passing tests, service readiness, idle memory.

    .venv/bin/python bench/stack_bench.py [--skip-clone]

Runs a private stack (own state folder and ports) so a running `make run` is not
disturbed. Targets (issue 2): Kafka + Cassandra ready in <= 60 s, idle RSS <= 3 GiB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.config import REPO_ROOT, Config  # noqa: E402
from stack import jars, lifecycle  # noqa: E402
from stack.services import services  # noqa: E402
from stack.supervisor import Supervisor  # noqa: E402

READY_TARGET_S = 60.0
RSS_TARGET_GIB = 3.0
BENCH_PORTS = {"kafka_port": 39092, "kafka_controller_port": 39093,
               "cassandra_port": 39042, "cassandra_storage_port": 37000}
STORES = ["kafka", "cassandra"]  # what the targets are about


def stack_rss(config: Config) -> dict[str, int]:
    """Resident memory per service, with every child process counted."""
    sup = Supervisor(config, services(config))
    out = {}
    for row in lifecycle.status(config):
        if not row.pid:
            continue
        main = psutil.Process(row.pid)
        procs = [main, *main.children(recursive=True)]
        out[row.name] = sum(p.memory_info().rss for p in procs)
    pid = sup.pid()
    out["supervisord"] = psutil.Process(pid).memory_info().rss if pid else 0
    return out


def readiness_and_memory(settle_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as state:
        config = Config.from_env().replace(state_dir=Path(state), **BENCH_PORTS)
        jars.resolve_all(config)
        quiet = lambda _msg: None  # noqa: E731
        try:
            began = time.monotonic()
            lifecycle.start(config, STORES, log=quiet)
            first = time.monotonic() - began
            lifecycle.stop(config, log=quiet)
            began = time.monotonic()
            lifecycle.start(config, STORES, log=quiet)
            warm = time.monotonic() - began
            time.sleep(settle_s)
            rss = stack_rss(config)
        finally:
            lifecycle.stop(config, log=quiet)
    total = sum(rss[name] for name in STORES) / 2**30
    print(f"Kafka + Cassandra ready, first boot: {first:6.1f} s   target <= {READY_TARGET_S:.0f} s"
          f"  {'OK' if first <= READY_TARGET_S else 'MISSED'}")
    print(f"Kafka + Cassandra ready, restart   : {warm:6.1f} s   target <= {READY_TARGET_S:.0f} s"
          f"  {'OK' if warm <= READY_TARGET_S else 'MISSED'}")
    for name, value in rss.items():
        print(f"idle RSS {name:<26}: {value / 2**20:7.0f} MiB")
    label = f"idle RSS Kafka + Cassandra ({settle_s:.0f} s)"
    print(f"{label:<35}: {total:6.2f} GiB  target <= "
          f"{RSS_TARGET_GIB:.0f} GiB  {'OK' if total <= RSS_TARGET_GIB else 'MISSED'}")


def clean_clone_to_green() -> None:
    """Clone the committed HEAD into a temp folder and time `make test` there."""
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
        env.update({f"ANALYTICS_{k.upper()}": str(v + 10000) for k, v in BENCH_PORTS.items()
                    if k.endswith("port")})
        env.pop("VIRTUAL_ENV", None)
        began = time.monotonic()
        done = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True,
                              text=True)
        took = time.monotonic() - began
        subprocess.run(["make", "stop"], cwd=clone, env=env, capture_output=True)
        summary = next((ln for ln in reversed(done.stdout.splitlines()) if " in " in ln), "")
        print(f"clean clone -> `make test`         : {took:6.1f} s   exit {done.returncode}  "
              f"{summary.strip('= ')}")
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-clone", action="store_true",
                        help="skip timing a clean clone's `make test`")
    parser.add_argument("--settle", type=float, default=15.0,
                        help="seconds to let the stack idle before measuring memory")
    args = parser.parse_args()
    print("== foundation: local stack")
    readiness_and_memory(args.settle)
    if not args.skip_clone:
        clean_clone_to_green()
    return 0


if __name__ == "__main__":
    sys.exit(main())
