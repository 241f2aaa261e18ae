"""The speed layer: Spark Structured Streaming from the raw-events topic into Cassandra.

``streaming/job.py`` is what ``spark-submit`` runs; ``tables`` shapes rows for the
Cassandra tables (pure), ``sinks`` writes each micro-batch, ``progress`` records what the
queries did.
"""
