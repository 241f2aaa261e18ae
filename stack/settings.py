"""The local run's settings file: ``<state_dir>/settings.env``.

Every command of the local run reads its config with :func:`load`: the file, with the
environment on top. The file is created on first use, listing every setting with its
default (commented out) and holding the secrets the local run generates (the PostgreSQL
password, Airflow's signing secret, the key client ids are hashed with; a file made before
the key existed gets one added once). A setting given in the environment of a stack command
(``ANALYTICS_TRUST_FORWARDED_FOR=true make run``) is written into the file, so a later
``python -m stack start write-api`` without it keeps it; ``python -m stack restart``
(and ``make run`` again) restarts the services whose settings changed.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from analytics.config import PREFIX, Config, ConfigError, read_settings_file

STATE_DIR_VARIABLE = f"{PREFIX}STATE_DIR"
GENERATED = {
    f"{PREFIX}POSTGRES_PASSWORD": "PostgreSQL password of the local run (Airflow's metadata)",
    f"{PREFIX}AIRFLOW_SECRET": "signs Airflow's API tokens and UI sessions",
    f"{PREFIX}CLIENT_ID_HASH_KEY": "key of the hash that turns client ids into visitor ids "
                                   "(never change it: returning visitors would get new ids)",
}
ADDED_WHEN_MISSING = (f"{PREFIX}CLIENT_ID_HASH_KEY",)
"""Generated secrets an existing settings file gets when it has none (the others were
there from the start: a new PostgreSQL password would lock the local run out of its
cluster)."""

HEADER = """\
# Settings of the Sitelens local run (read by `make run`, `python -m stack ...` and
# `python -m api.manage`). One ANALYTICS_NAME=value per line; the environment of a stack
# command overrides a line and is written back here. After editing, apply with
#     .venv/bin/python -m stack restart [service ...]      (or `make run` again)
# and see what each running service uses with `python -m stack settings`.
# README.md (Configuration) says what each setting does.
"""


def _defaults() -> dict[str, str]:
    return Config(state_dir=Path("/"), jars_dir=Path("/")).to_env()


def template(generated: Mapping[str, str]) -> str:
    lines = [HEADER, "# -- generated for this machine (keep them: data depends on them) --"]
    for name, value in generated.items():
        lines += [f"# {GENERATED[name]}", f"{name}={value}"]
    lines += ["", "# -- everything else, at its default --"]
    skip = {STATE_DIR_VARIABLE, f"{PREFIX}JARS_DIR", *generated}
    defaults = _defaults()
    for name in Config.env_names():
        if name not in skip:
            lines.append(f"# {name}={defaults.get(name, '')}")
    return "\n".join(lines) + "\n"


def state_dir(environ: Mapping[str, str]) -> Path:
    return Config.from_env({k: v for k, v in environ.items() if k == STATE_DIR_VARIABLE}
                           ).state_dir


def load(environ: Mapping[str, str] | None = None,
         log: Callable[[str], None] | None = print) -> Config:
    """The config of the local run (creating the settings file on first use and writing
    the environment's settings into it)."""
    environ = os.environ if environ is None else environ
    say = log or (lambda _text: None)
    path = state_dir(environ) / "settings.env"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        generated = {name: _generate() for name in GENERATED}
        path.write_text(template(generated))
        path.chmod(0o600)
        say(f"settings: created {path}")
    in_file = read_settings_file(path)
    known = set(Config.env_names())
    unknown = sorted(k for k in in_file if k not in known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    missing = {name: _generate() for name in ADDED_WHEN_MISSING
               if name not in in_file and not environ.get(name)}
    if missing:
        write(path, missing)
        in_file.update(missing)
        say(f"settings: generated {', '.join(sorted(missing))} into {path}")
    # what the file and the defaults make of each setting; only a value that differs is
    # written (an environment that merely repeats the settings, such as the output of
    # `python -m stack.airflow env`, changes nothing); an empty value never erases a
    # generated secret (a process started before the secret was generated has it empty)
    current = Config.from_env({**in_file, STATE_DIR_VARIABLE: str(path.parent)}).to_env()
    given = {k: v for k, v in environ.items()
             if k in known and k != STATE_DIR_VARIABLE and current.get(k) != v
             and (v or k not in GENERATED)}
    if given:
        write(path, given)
        say(f"settings: wrote {', '.join(sorted(given))} from the environment into {path}")
    return Config.load(environ)


def _generate() -> str:
    return secrets.token_urlsafe(24)


def write(path: Path, values: Mapping[str, str]) -> None:
    """Set ``values`` in the settings file: an existing line (set or commented out) is
    replaced in place, others are appended."""
    lines = path.read_text().splitlines()
    left = dict(values)
    for i, line in enumerate(lines):
        match = re.match(rf"^#?\s*({PREFIX}[A-Z0-9_]+)=", line)
        if match and match.group(1) in left:
            name = match.group(1)
            lines[i] = f"{name}={left.pop(name)}"
    lines += [f"{name}={value}" for name, value in left.items()]
    path.write_text("\n".join(lines) + "\n")


def changed_from_defaults(config: Config) -> dict[str, str]:
    """The settings of ``config`` that are not the defaults (secrets masked)."""
    defaults = _defaults()
    shown = {}
    for name, value in config.to_env().items():
        if name in (STATE_DIR_VARIABLE, f"{PREFIX}JARS_DIR") or defaults.get(name) == value:
            continue
        shown[name] = mask(name, value)
    return shown


def mask(name: str, value: str) -> str:
    secret = any(word in name for word in ("PASSWORD", "SECRET", "KEY"))
    return "********" if secret and value else value


def diff(running: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Names whose value differs between a running service's settings and the current."""
    names = set(running) | set(current)
    return sorted(n for n in names if running.get(n) != current.get(n))
