"""The data-quality rule: 0 <= batch - speed <= late, for pageviews and custom events."""

from datetime import date

from analytics.quality import DayCheck, compare


def counts(pageviews: int, custom: int) -> dict[str, int]:
    return {"pageviews": pageviews, "custom_events": custom}


def test_equal_layers_agree():
    assert compare(counts(10, 2), counts(10, 2), counts(0, 0)) == ()


def test_a_gap_that_late_events_explain_is_fine():
    assert compare(counts(10, 2), counts(7, 2), counts(3, 0)) == ()
    # a late copy of an event the batch dedups: late may exceed the gap
    assert compare(counts(10, 2), counts(9, 2), counts(2, 1)) == ()


def test_a_gap_larger_than_the_late_events_is_a_mismatch():
    assert compare(counts(10, 2), counts(7, 2), counts(2, 0)) == (
        "the batch layer has 3 more pageviews than the speed layer; late events explain 2",)


def test_the_speed_layer_counting_more_is_a_mismatch():
    assert compare(counts(10, 2), counts(10, 3), counts(0, 5)) == (
        "the speed layer has 1 more custom_events than the batch layer",)


def test_describe_names_the_site_day_and_every_number():
    check = DayCheck("shop", date(2026, 11, 25), batch=counts(10, 2), speed=counts(7, 2),
                     late=counts(2, 0), problems=compare(counts(10, 2), counts(7, 2),
                                                         counts(2, 0)))
    assert not check.ok
    assert check.describe() == (
        "shop 2026-11-25: MISMATCH (pageviews batch 10 speed 7 late 2; custom_events batch "
        "2 speed 2 late 0) the batch layer has 3 more pageviews than the speed layer; late "
        "events explain 2")
