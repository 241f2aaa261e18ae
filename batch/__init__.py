"""The batch layer: Spark batch jobs that recompute closed site-local days (job.py)."""
