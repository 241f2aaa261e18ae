"""Compatible collectors: the wire protocols of trackers people already run, mapped onto
the one event envelope (``analytics/schemas/event``) and then handled exactly like the
tracker's own events by :class:`api.write.intake.Intake` (schema, site and origin checks,
the enrichment pipeline, Kafka or the spool, refusals counted and kept).

- :mod:`api.write.collectors.plausible`: Plausible's Events API (its script, its npm
  package and server-side callers), at ``Config.plausible_path``.
- :mod:`api.write.collectors.umami`: Umami's ``/api/send`` (its script and
  ``@umami/node``), at ``Config.umami_path``.
- :mod:`api.write.collectors.matomo`: Matomo's Tracking HTTP API (``matomo.js``,
  ``matomo-tracker`` and Matomo's other clients; GET and POST), and
  :mod:`api.write.collectors.matomo_bulk` its bulk requests, at ``Config.matomo_path``
  (and ``piwik.php`` beside it).
- :mod:`api.write.collectors.snowplow`: Snowplow's tracker protocol (its browser, Python
  and other trackers): one event by GET at ``Config.snowplow_get_path`` (``/i``), and
  :mod:`api.write.collectors.snowplow_tp2` the batches POSTed at ``Config.snowplow_path``
  (``tp2``).
- :mod:`api.write.collectors.resources`: their Falcon resources (Snowplow's in
  :mod:`api.write.collectors.snowplow_resources`).

The mapping modules import no Falcon. ``docs/collectors.md`` says how to point an existing
script at Sitelens and what is mapped where.
"""
