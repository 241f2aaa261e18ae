"""Enrichment of incoming events: a named pipeline of small steps (pure Python).

    pipeline = build_pipeline(config, salts)
    enriched = pipeline.run(payload, RequestContext(...))   # or raises Refused

No Falcon, no Kafka here; the write service calls the pipeline and decides what to do
with a :class:`Refused` (count it by reason, keep the payload on the invalid topic).
"""

from analytics.enrich.context import RequestContext, SiteSettings
from analytics.enrich.defaults import build_pipeline
from analytics.enrich.pipeline import Pipeline, Refused, Step
from analytics.enrich.salts import InMemoryRotatingSalts, SaltProvider, StaticSaltProvider

__all__ = [
    "InMemoryRotatingSalts",
    "Pipeline",
    "Refused",
    "RequestContext",
    "SaltProvider",
    "SiteSettings",
    "StaticSaltProvider",
    "Step",
    "build_pipeline",
]
