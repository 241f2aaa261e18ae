"""Command line of the local run (used by the Makefile)."""

from __future__ import annotations

import argparse
import sys

from analytics.config import Config, ConfigError
from stack import airflow, jars, lifecycle
from stack.schema import apply_schema, demo_token_file
from stack.supervisor import SupervisorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="resolve the JVM pieces from Maven Central")
    for name in ("start", "stop"):
        cmd = sub.add_parser(name, help=f"{name} services (all by default)")
        cmd.add_argument("services", nargs="*")
    sub.add_parser("status", help="state, readiness and address of each service")
    sub.add_parser("schema", help="create Kafka topics and apply Cassandra migrations")
    sub.add_parser("run", help="setup, start everything, apply the schema, print addresses")
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
        return COMMANDS[args.command](config, args)
    except (ConfigError, lifecycle.StackError, jars.ResolveError, SupervisorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _setup(config, args) -> int:
    jars.resolve_all(config)
    print(f"jars ready in {config.jars_dir}")
    return 0


def _start(config, args) -> int:
    jars.resolve_all(config)
    lifecycle.start(config, args.services or None)
    return 0


def _stop(config, args) -> int:
    lifecycle.stop(config, args.services or None)
    return 0


def _status(config, args) -> int:
    rows = lifecycle.status(config)
    print(f"{'service':<12}{'state':<10}{'pid':>8}  {'ready':<6}{'address':<32}log")
    for row in rows:
        print(f"{row.name:<12}{row.state:<10}{row.pid or '-':>8}  "
              f"{'yes' if row.ready else 'no':<6}{row.address:<32}{row.log}")
    return 0 if all(r.ready for r in rows) else 3


def _schema(config, args) -> int:
    apply_schema(config)
    return 0


def _run(config, args) -> int:
    jars.resolve_all(config)
    lifecycle.start(config)
    print("\nThe local stack is up:")
    _status(config, args)
    base = f"http://{config.write_api_host}:{config.write_api_port}"
    print(f"\ntracker script : {base}{config.script_path}")
    print(f"collect events : POST {base}{config.collect_path}   (GA4 MP: POST {base}/mp/collect)")
    if config.serve_demo:
        print(f"demo page      : {base}/demo   (site demo.local)")
    print(f"metrics        : {base}/metrics   health: {base}/healthz")
    read = f"http://{config.read_api_host}:{config.read_api_port}"
    print(f"read API       : {read}/api/v1/openapi.json   (token for demo.local in "
          f"{demo_token_file(config)})")
    print(f"tableau        : {read}/tableau   (Web Data Connector; extracts: "
          f"{read}/api/v1/extract.hyper?site_id=...)")
    print(f"airflow UI     : {airflow.ui_url(config)}   (user admin, password in "
          f"{airflow.AirflowApi(config).password_file})")
    print("\nStop it with `make stop`.")
    return 0


COMMANDS = {"setup": _setup, "start": _start, "stop": _stop, "status": _status,
            "schema": _schema, "run": _run}

if __name__ == "__main__":
    sys.exit(main())
