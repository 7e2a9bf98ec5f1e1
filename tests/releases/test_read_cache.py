"""A mini-program's tabs show what WeChat answered a short while ago (WECHAT_READ_CACHE_SECONDS) instead of
asking on every view, and say when that was; the portal's own changes show at once; "refresh from WeChat"
asks again, within the merchant's WeChat rate limits."""

import re
import time

from tests.conftest import post_form
from tests.releases.test_pipeline import _html, upload

TABS = ("", "domains", "testers", "privacy", "audit", "release")


def _wechat_calls(env):
    """{endpoint: calls} the sandbox saw for the app, tokens aside."""
    counts = env.api.calls(appid=env.appid, limit=0).get("counts", {})
    return {name: n for name, n in counts.items() if n and not name.startswith("api_")}


def _bind_elsewhere(env, wechatid):
    """A tester bound outside the portal (the mp console, another tool): WeChat's API, not the portal's pages."""
    from portal.services.wechat import get_client

    with env.app.app_context():
        get_client().miniprogram(env.appid).testers.bind_tester(wechatid)


def _as_of(response):
    found = re.search(r"<span data-as-of>(.*?)</span>", _html(response), re.S)
    return found and found.group(1)


def test_a_second_view_of_each_tab_asks_wechat_nothing(code_env):
    env = code_env
    upload(env)  # code on WeChat: every tab's reads have an answer
    env.api.advance(31)  # the privacy scan ends
    for tab in TABS:
        before = _wechat_calls(env)
        first = env.get(tab)
        assert first.status_code == 200 and _as_of(first), tab
        assert "微信" in _as_of(first) and "<time" in _as_of(first), tab
        asked = _wechat_calls(env)
        assert asked != before, tab
        again = env.get(tab)
        assert again.status_code == 200 and _as_of(again) == _as_of(first), tab
        assert _wechat_calls(env) == asked, tab


def test_the_portals_own_changes_show_at_once(code_env):
    env = code_env
    assert "tester01" not in _html(env.get("testers"))
    assert env.post("testers/bind", {"wechatid": "tester01"}).status_code == 302
    assert "tester01" in _html(env.get("testers"))
    assert env.api.count("memberauth", env.appid) == 2

    assert "api.localhost" not in _html(env.get("domains"))
    saved = env.post("domains/server", {"action": "add", "requestdomain": "api.localhost"})
    assert saved.status_code == 302, _html(saved)
    page = _html(env.get("domains"))
    assert "api.localhost" in page.split('id="current-domains"')[1]
    assert env.api.count("modify_domain", env.appid) == 3  # get, add, get


def test_a_change_made_elsewhere_shows_after_refresh_which_is_rate_limited(code_env):
    env = code_env
    env.app.config.update(MERCHANT_WECHAT_RATE_LIMIT="2 per minute")
    assert 'name="userstr"' not in _html(env.get("testers"))
    _bind_elsewhere(env, "outsider1")
    assert env.api.count("memberauth", env.appid) == 1
    assert 'name="userstr"' not in _html(env.get("testers")) and env.api.count("memberauth", env.appid) == 1

    refreshed = env.post("refresh/testers", follow_redirects=True)
    assert refreshed.status_code == 200 and env.api.count("memberauth", env.appid) == 2
    assert len(re.findall(r'name="userstr"', _html(refreshed))) == 1

    assert env.post("refresh/testers").status_code == 302
    limited = env.post("refresh/testers")
    assert limited.status_code == 429 and "请稍等一分钟后再试" in _html(limited)
    assert env.api.count("memberauth", env.appid) == 2


def test_an_unknown_tab_and_a_missing_token_are_refused(code_env):
    env = code_env
    assert env.post("refresh/nothing").status_code == 400
    assert env.client.post(env.url("refresh/testers")).status_code == 400
    assert post_form(env.client, env.url("refresh/testers"), {}, token_from="/dashboard").status_code == 302


def test_nothing_is_kept_when_the_setting_is_zero(code_env):
    env = code_env
    env.app.config.update(WECHAT_READ_CACHE_SECONDS=0)
    env.get("testers")
    env.get("testers")
    assert env.api.count("memberauth", env.appid) == 2


def test_a_read_under_way_during_a_change_keeps_nothing(code_env, login_as):
    """WeChat answered a tab's read before the merchant's change, but the answer arrives after it: showing it
    once is fine (it says when WeChat gave it); keeping it would hide the change for the cache's lifetime."""
    import threading

    env = code_env
    reader = env.platform.client()
    login_as("owner@example.com", test_client=reader)
    env.api.faults(endpoint="memberauth", appid=env.appid, latency_ms=1500, after_call=True, count=1)
    slow = threading.Thread(target=lambda: reader.get(env.url("testers")))
    slow.start()
    while env.api.in_flight("memberauth", env.appid) == 0 and slow.is_alive():
        time.sleep(0.02)
    assert env.api.count("memberauth", env.appid) == 0, "the read was answered before the change"
    assert env.post("testers/bind", {"wechatid": "tester02"}).status_code == 302
    slow.join(10)
    assert "tester02" in _html(env.get("testers"))
    assert env.api.count("memberauth", env.appid) == 2
