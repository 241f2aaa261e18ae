"""Metric logic as pure ``DataFrame -> DataFrame`` functions (docs/metrics.md), shared by
the speed layer (streaming) and the batch layer. No session, read or write happens here: each
job's ``main()`` builds the session, reads, applies these and writes.

- :mod:`analytics.metrics.events`: event time columns, dedup on event_id, bot split.
- :mod:`analytics.metrics.sources`: the source of an event (utm > referrer > direct).
- :mod:`analytics.metrics.realtime`: the speed layer's per-minute views (one aggregation).
- :mod:`analytics.metrics.sessions`: sessions (30-minute gap), engagement, entry/exit pages.
- :mod:`analytics.metrics.channels`: GA4's default channel grouping, session medium.
- :mod:`analytics.metrics.batch_views`: site-local days and hours, the batch layer's
  daily/hourly series, breakdowns, goals and bot events.
"""
