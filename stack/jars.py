"""Resolve the JVM pieces from Maven Central into the ignored jars folder.

Each bundle is a POM in ``stack/maven``; ``mvn dependency:copy-dependencies`` copies its
runtime closure into ``<jars_dir>/<bundle>``. A stamp with the POM's hash makes the step a
no-op when nothing changed; a half-finished copy is never left in place.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from analytics.config import Config
from analytics.spark_session import connector_jars

MAVEN_DIR = Path(__file__).with_name("maven")

# Spark ships these itself (pyspark's jars/); copying them too would put two versions on
# the classpath.
SPARK_PROVIDED = {
    "excludeGroupIds": "org.apache.hadoop,org.scala-lang,org.slf4j,org.lz4,"
                       "org.xerial.snappy,commons-logging,com.google.code.findbugs,"
                       "com.thoughtworks.paranamer,io.dropwizard.metrics",
    "excludeArtifactIds": "spark-tags_2.12,commons-lang3",
}

BUNDLES = {
    "kafka": {},
    "cassandra": {},
    "spark-connectors": SPARK_PROVIDED,
}


class ResolveError(RuntimeError):
    pass


def pom(bundle: str) -> Path:
    return MAVEN_DIR / f"{bundle}.pom.xml"


def _stamp_value(bundle: str) -> str:
    digest = hashlib.sha256(pom(bundle).read_bytes())
    digest.update(repr(sorted(BUNDLES[bundle].items())).encode())
    return digest.hexdigest()


def is_resolved(config: Config, bundle: str) -> bool:
    stamp = config.jars_dir / bundle / ".resolved"
    return stamp.exists() and stamp.read_text().strip() == _stamp_value(bundle)


def resolve(config: Config, bundle: str, log=print) -> Path:
    target = config.jars_dir / bundle
    if is_resolved(config, bundle):
        return target
    if shutil.which("mvn") is None:
        raise ResolveError("Maven (mvn) is not installed; run `make setup` first")
    log(f"resolving {bundle} jars from Maven Central ...")
    staging = config.jars_dir / f".{bundle}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    args = ["mvn", "-q", "-B", "-f", str(pom(bundle)), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={staging}"]
    args += [f"-D{key}={value}" for key, value in BUNDLES[bundle].items()]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise ResolveError(f"mvn failed for {bundle}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    (staging / ".resolved").write_text(_stamp_value(bundle))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def resolve_all(config: Config, log=print) -> dict[str, Path]:
    return {bundle: resolve(config, bundle, log) for bundle in BUNDLES}


def spark_connector_jars(config: Config) -> list[Path]:
    """The jars to put on ``spark.jars`` for the Kafka source and the Cassandra connector."""
    return connector_jars(config)
