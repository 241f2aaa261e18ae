import pytest

from analytics.enrich.user_agent import UaInfo, UserAgentStep, cached_describe, describe

from .samples import (
    CHROME_ANDROID_PHONE,
    CHROME_ANDROID_TABLET,
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    GOOGLEBOT,
    SAFARI_IPAD,
    SAFARI_IPHONE,
    make_ctx,
)

FIELDS = ("browser", "browser_version", "os", "os_version", "device_type")


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, ("Chrome", "126", "Windows", "10", "desktop")),
        (SAFARI_IPHONE, ("Mobile Safari", "17", "iOS", "17", "mobile")),
        (SAFARI_IPAD, ("Mobile Safari", "16", "iOS", "16", "tablet")),
        (CHROME_ANDROID_PHONE, ("Chrome Mobile", "126", "Android", "14", "mobile")),
        (CHROME_ANDROID_TABLET, ("Chrome", "126", "Android", "12", "tablet")),
        (FIREFOX_LINUX, ("Firefox", "127", "Ubuntu", None, "desktop")),
        (GOOGLEBOT, ("Googlebot", "2", None, None, "other")),
        ("curl/8.5.0", ("curl", "8", None, None, "other")),
        ("", (None, None, None, None, None)),
    ],
)
def test_step_sets_browser_os_and_device_type(user_agent, expected):
    step = UserAgentStep(describe)
    out = step({"site_id": "example.com"}, make_ctx(user_agent=user_agent))
    assert tuple(out[f] for f in FIELDS) == expected


@pytest.mark.parametrize(
    ("user_agent", "device_type"),
    [
        ("Mozilla/5.0 (Android 14; Tablet; rv:126.0) Gecko/126.0 Firefox/126.0", "tablet"),
        ("Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0", "mobile"),
        (
            "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/126.1.1 like Chrome/126.0.0.0 Safari/537.36",
            "tablet",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "desktop",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "desktop",
        ),
        (
            "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
            "other",
        ),
        (
            "Mozilla/5.0 (Linux; Android 9; SHIELD Android TV) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "other",
        ),
        ("Mozilla/5.0 (Mobile; rv:48.0; A405DL) Gecko/48.0 Firefox/48.0 KAIOS/2.5", "mobile"),
    ],
)
def test_device_type(user_agent, device_type):
    assert describe(user_agent).device_type == device_type


def test_spider_flag_comes_from_the_device_family():
    assert describe(GOOGLEBOT).is_spider is True
    assert describe(CHROME_WINDOWS).is_spider is False


def test_results_are_cached_per_user_agent_string():
    cached = cached_describe(2)
    first = cached(CHROME_WINDOWS)
    assert cached(CHROME_WINDOWS) is first
    assert first == UaInfo("Chrome", "126", "Windows", "10", "desktop", False)
    info = cached.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (1, 1, 2)
