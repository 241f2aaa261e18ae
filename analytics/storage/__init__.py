"""Cassandra: sessions and the versioned schema migrations."""
