import pytest

from analytics.config import Config
from analytics.storage.migrate import (
    Migration,
    MigrationError,
    _replication_map,
    load_migrations,
    split_statements,
)


def test_split_statements_on_line_end_semicolons_and_drops_comments():
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x int PRIMARY KEY);
    CREATE TABLE b (
        y map<text, text>
    ) WITH compaction = {'class': 'X'};
    """
    assert split_statements(script) == [
        "CREATE TABLE a (x int PRIMARY KEY)",
        "CREATE TABLE b (\n        y map<text, text>\n    ) WITH compaction = {'class': 'X'}",
    ]


def test_unterminated_statement_is_an_error():
    with pytest.raises(MigrationError, match="without a closing"):
        split_statements("CREATE TABLE a (x int PRIMARY KEY)")


def test_keyspace_is_substituted():
    migration = Migration(7, "t", "CREATE TABLE ${keyspace}.t (k int PRIMARY KEY);\n")
    assert migration.statements("ks1") == ["CREATE TABLE ks1.t (k int PRIMARY KEY)"]


def test_shipped_migrations_are_numbered_and_parse():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert migrations[0].version == 1
    for migration in migrations:
        assert migration.statements("ks"), migration.name


def test_bad_file_names_and_duplicates_are_refused(tmp_path):
    (tmp_path / "1_bad.cql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="NNNN_description"):
        load_migrations(tmp_path)
    (tmp_path / "1_bad.cql").unlink()
    (tmp_path / "0001_a.cql").write_text("SELECT 1;\n")
    (tmp_path / "0001_b.cql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="duplicate"):
        load_migrations(tmp_path)


def test_replication_map_matches_what_cassandra_reports():
    assert _replication_map(Config()) == {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}
