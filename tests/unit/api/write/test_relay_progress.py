"""The relay's progress read (api/write/relay.py: progress_through) when the progress
topic is missing: it refuses to go on (sending without knowing what Kafka has could send a
batch twice) and says how to make the topic."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.write.relay import ProgressUnknown, progress_through


class NoSuchTopic:
    def list_topics(self, topic, timeout=None):  # what librdkafka answers for an unknown one
        return SimpleNamespace(topics={topic: SimpleNamespace(partitions={})})


def test_a_missing_progress_topic_stops_the_relay_with_a_reason():
    with pytest.raises(ProgressUnknown, match=r"sitelens.spool-progress does not exist.*"
                                              r"python -m stack schema"):
        progress_through(NoSuchTopic(), "sitelens.spool-progress", "abc", 1.0)
