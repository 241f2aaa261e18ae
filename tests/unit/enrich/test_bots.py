import pytest

from analytics.enrich.bots import BotStep, crawler_check
from analytics.enrich.user_agent import cached_describe

from .samples import (
    CHROME_ANDROID_PHONE,
    CHROME_WINDOWS,
    CURL,
    FIREFOX_LINUX,
    GOOGLEBOT,
    HEADLESS_CHROME,
    PINGDOM,
    PYTHON_REQUESTS,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    UPTIME_ROBOT,
    make_ctx,
)


@pytest.fixture
def step():
    return BotStep(cached_describe(100), crawler_check(100))


@pytest.mark.parametrize(
    "user_agent",
    [GOOGLEBOT, HEADLESS_CHROME, CURL, PYTHON_REQUESTS, UPTIME_ROBOT, PINGDOM, "", "   "],
    ids=["googlebot", "headless", "curl", "python-requests", "uptimerobot", "pingdom",
         "empty", "blank"],
)
def test_bots_are_flagged_not_refused(step, user_agent):
    event = {"site_id": "example.com", "kind": "pageview"}
    out = step(event, make_ctx(user_agent=user_agent))
    assert out is event
    assert out["is_bot"] is True


@pytest.mark.parametrize(
    "user_agent", [CHROME_WINDOWS, SAFARI_IPHONE, SAFARI_IPAD, CHROME_ANDROID_PHONE, FIREFOX_LINUX]
)
def test_browsers_are_not_bots(step, user_agent):
    assert step({}, make_ctx(user_agent=user_agent))["is_bot"] is False


def test_spider_device_family_alone_makes_a_bot():
    step = BotStep(cached_describe(10), lambda user_agent: False)
    assert step.is_bot(GOOGLEBOT) is True
    assert step.is_bot(CHROME_WINDOWS) is False


def test_crawler_answers_are_cached_per_user_agent():
    check = crawler_check(10)
    assert [check(CURL), check(CURL), check(CHROME_WINDOWS)] == [True, True, False]
    info = check.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (1, 2, 10)


def test_server_integrations_are_never_flagged_as_bots():
    from types import SimpleNamespace

    from analytics.enrich.bots import BotStep
    from tests.unit.enrich.samples import PYTHON_REQUESTS, make_ctx

    step = BotStep(lambda ua: SimpleNamespace(is_spider=False), lambda ua: True)
    for source in ("mp", "api"):
        assert step({}, make_ctx(user_agent=PYTHON_REQUESTS, source=source)) == \
            {"is_bot": False}
    assert step({}, make_ctx(user_agent=PYTHON_REQUESTS, source="pixel")) == {"is_bot": True}
