"""Command line of the local run (used by the Makefile)."""

from __future__ import annotations

import argparse
import sys

from analytics.config import ConfigError
from stack import airflow, cluster, frontend, jars, lifecycle, settings
from stack.postgres import PostgresError
from stack.schema import apply_schema, demo_token_file
from stack.supervisor import SupervisorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack")
    parser.add_argument("--cluster", action="store_true",
                        help="the cluster profile: 3 Kafka brokers, 3 Cassandra nodes and a "
                             "Spark master with 2 workers, in .state-cluster (stack/cluster.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="resolve the JVM pieces from Maven Central")
    for name in ("start", "stop", "restart"):
        cmd = sub.add_parser(name, help=f"{name} services (all by default)")
        cmd.add_argument("services", nargs="*")
    cmd = sub.add_parser("settings", help="the settings file, what differs from the "
                         "defaults, and what each running service was started with")
    cmd.add_argument("services", nargs="*")
    sub.add_parser("status", help="state, readiness and address of each service")
    sub.add_parser("schema", help="create Kafka topics and apply Cassandra migrations")
    sub.add_parser("run", help="setup, start everything, apply the schema, print addresses")
    args = parser.parse_args(argv)
    if args.cluster:
        cluster.apply()
    try:
        config = settings.load()
        return COMMANDS[args.command](config, args)
    except (ConfigError, lifecycle.StackError, jars.ResolveError, SupervisorError,
            PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _setup(config, args) -> int:
    jars.resolve_all(config)
    print(f"jars ready in {config.jars_dir}")
    print(frontend.build_dashboard())
    return 0


def _start(config, args) -> int:
    jars.resolve_all(config)
    lifecycle.start(config, args.services or None)
    return 0


def _restart(config, args) -> int:
    jars.resolve_all(config)
    lifecycle.restart(config, args.services or None)
    return 0


def _settings(config, args) -> int:
    print(f"settings file: {config.settings_file}")
    print("differs from the defaults:")
    for name, value in sorted(settings.changed_from_defaults(config).items()):
        print(f"  {name}={value}")
    svcs = lifecycle.services(config)
    for row in lifecycle.status(config):
        if args.services and row.name not in args.services:
            continue
        if row.state != "RUNNING":
            print(f"{row.name}: not running")
            continue
        started = lifecycle.started_with(config, row.name) or {}
        env = started.get("environment", {})
        news = svcs[row.name].environment
        if row.stale_settings:
            print(f"{row.name}: started with other settings; apply with "
                  f"`python -m stack restart {row.name}`:")
            for name in row.stale_settings:
                if name == "command":
                    print("  (its command line changed)")
                    continue
                print(f"  {name}: running {settings.mask(name, env.get(name, '(unset)'))}"
                      f" -> now {settings.mask(name, news.get(name, '(unset)'))}")
        else:
            print(f"{row.name}: running with the current settings")
    return 0


def _stop(config, args) -> int:
    lifecycle.stop(config, args.services or None)
    return 0


def _status(config, args) -> int:
    rows = lifecycle.status(config)
    print(f"{'service':<22}{'state':<10}{'pid':>8}  {'ready':<6}{'address':<34}log")
    for row in rows:
        print(f"{row.name:<22}{row.state:<10}{row.pid or '-':>8}  "
              f"{'yes' if row.ready else 'no':<6}{row.address:<34}{row.log}")
    stale = [r.name for r in rows if r.stale_settings]
    if stale:
        print(f"\nsettings changed since these started: {', '.join(stale)} "
              f"(`python -m stack settings` shows what; `python -m stack restart "
              f"{' '.join(stale)}` applies it)")
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
    from stack import demo_data  # demo traffic, closed days and login, once
    demo_data.seed(config)
    print(f"\nStop it with `make {'stop-cluster' if config.local_nodes > 1 else 'stop'}`.")
    return 0


COMMANDS = {"setup": _setup, "start": _start, "stop": _stop, "restart": _restart,
            "status": _status, "settings": _settings, "schema": _schema, "run": _run}

if __name__ == "__main__":
    sys.exit(main())
