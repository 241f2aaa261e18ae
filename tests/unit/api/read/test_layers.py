"""The seam between the layers: closed days from the batch layer, the rest from the speed
layer's minutes, in the site's zone; visitors from merged sketches."""

from datetime import UTC, date, datetime

import datasketches

from api.read.layers import BATCH, SPEED, DaySource, plan_days
from api.read.sketches import estimate, union_sketch


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_closed_days_come_from_the_batch_layer_and_today_from_the_speed_layer():
    now = utc(2026, 11, 26, 20, 30)  # 02:15 on the 27th in Kathmandu
    plan = plan_days(date(2026, 11, 25), date(2026, 11, 28), "Asia/Kathmandu",
                     closed={date(2026, 11, 25)}, now=now)
    assert plan == [
        DaySource(date(2026, 11, 25), BATCH, utc(2026, 11, 24, 18, 15), utc(2026, 11, 25, 18, 15)),
        DaySource(date(2026, 11, 26), SPEED, utc(2026, 11, 25, 18, 15), utc(2026, 11, 26, 18, 15)),
        DaySource(date(2026, 11, 27), SPEED, utc(2026, 11, 26, 18, 15), now),
    ]  # the 28th has not begun there


def test_the_seam_neither_overlaps_nor_leaves_a_gap_across_a_dst_change():
    plan = plan_days(date(2024, 11, 2), date(2024, 11, 4), "America/New_York",
                     closed={date(2024, 11, 2)}, now=utc(2024, 11, 5))
    assert [p.layer for p in plan] == [BATCH, SPEED, SPEED]
    for before, after in zip(plan, plan[1:], strict=False):
        assert before.utc_end == after.utc_start
    # 2024-11-03, the day clocks went back, is 25 hours long
    assert (plan[1].utc_end - plan[1].utc_start).total_seconds() == 25 * 3600


def sketch(ids) -> bytes:
    s = datasketches.hll_sketch(14)
    for i in ids:
        s.update(i)
    return s.serialize_compact()


def test_visitors_over_a_range_are_a_union_not_a_sum():
    monday, tuesday = sketch(["a", "b", "c"]), sketch(["b", "c", "d"])
    assert estimate(union_sketch([monday, tuesday, None], 14)) == 4
    assert estimate(union_sketch([None], 14)) == 0
