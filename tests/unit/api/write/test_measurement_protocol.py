import pytest

from api.write.measurement_protocol import MeasurementProtocolError, to_envelopes

RECEIVED = 1_800_000_000_000


def test_page_view_engagement_and_custom_events_map_onto_the_envelope():
    body = {"client_id": "c1", "timestamp_micros": 1_799_999_000_000_000, "events": [
        {"name": "page_view", "params": {"page_location": "https://a.example/x",
                                         "page_referrer": "https://b.example/",
                                         "page_title": "X", "session_id": "9"}},
        {"name": "user_engagement", "params": {"page_location": "https://a.example/x",
                                               "engagement_time_msec": 1500}},
        {"name": "purchase", "params": {"page_location": "https://a.example/x",
                                        "value": 9.5, "currency": "EUR"}},
    ]}
    common = {"site_id": "s", "client_id": "c1", "url": "https://a.example/x",
              "created_at": 1_799_999_000_000, "sent_at": RECEIVED}
    assert to_envelopes("s", body, RECEIVED) == [
        {**common, "kind": "pageview", "referrer": "https://b.example/", "title": "X"},
        {**common, "kind": "engagement", "engagement_ms": 1500},
        {**common, "kind": "custom", "name": "purchase",
         "props": {"value": 9.5, "currency": "EUR"}},
    ]


def test_without_timestamp_the_server_clock_decides():
    [envelope] = to_envelopes("s", {"client_id": "c", "events": [{"name": "login"}]}, RECEIVED)
    assert envelope == {"site_id": "s", "client_id": "c", "url": "", "kind": "custom",
                        "name": "login"}


@pytest.mark.parametrize(("body", "message"), [
    ([], "JSON object"),
    ({"events": [{"name": "x"}]}, "client_id"),
    ({"client_id": "c", "events": []}, "non-empty"),
    ({"client_id": "c", "events": [{"name": "x"}] * 26}, "at most 25"),
    ({"client_id": "c", "events": [{"params": {}}]}, "string name"),
    ({"client_id": "c", "events": [{"name": "x", "params": []}]}, "params"),
    ({"client_id": "c", "timestamp_micros": "soon", "events": [{"name": "x"}]}, "integer"),
])
def test_malformed_payloads_say_what_is_wrong(body, message):
    with pytest.raises(MeasurementProtocolError, match=message):
        to_envelopes("s", body, RECEIVED)
