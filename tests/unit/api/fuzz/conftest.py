"""Fuzzing of both services in-process (``falcon.testing`` on in-memory collaborators).

Every test is reproducible: hypothesis runs derandomized (the examples follow from the
test's name), with no example database and no deadline. The requests sent are counted
and the total printed at the end of the run."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings

from tests.unit.api.fuzz.answers import OUTCOMES, TALLY

settings.register_profile("fuzz", deadline=None, derandomize=True, database=None,
                          print_blob=False, suppress_health_check=[
                              HealthCheck.too_slow, HealthCheck.filter_too_much,
                              HealthCheck.data_too_large, HealthCheck.large_base_example,
                              HealthCheck.function_scoped_fixture])


def fuzz(max_examples: int) -> settings:
    return settings(settings.get_profile("fuzz"), max_examples=max_examples)


def pytest_terminal_summary(terminalreporter):
    if TALLY:
        terminalreporter.write_line(
            f"fuzz: {sum(TALLY.values()):,} generated requests in {len(TALLY)} tests "
            "(every answer a 2xx or a 4xx with a reason)")
        per_file = Counter()
        for test, count in TALLY.items():
            per_file[test.split("::")[0].rsplit("/", 1)[-1]] += count
        terminalreporter.write_line("fuzz per file: " + ", ".join(
            f"{name} {count:,}" for name, count in sorted(per_file.items())))
        terminalreporter.write_line("fuzz answers: " + ", ".join(
            f"{outcome} x{count}" for outcome, count in OUTCOMES.most_common(40)))
