"""The receivers that stand in for an operator's systems, and the user messages the sandbox pushes to the
message URL of an authorized account."""

import time
from concurrent.futures import ThreadPoolExecutor

import requests


def _post(api, name, body=b'{"a":"1"}', **headers):
    return requests.post(f"{api.base}/sandbox/receiver/{name}", data=body, timeout=10,
                         headers={"Content-Type": "application/json", **headers})


def test_a_receiver_records_fails_and_recovers(api):
    api.call("/sandbox/receivers/ops", {"fail_first": 2, "fail_status": 503})
    answers = [_post(api, "ops", b'{"n":"%d"}' % i, **{"X-Portal-Push-Id": str(i)}).status_code for i in range(3)]
    assert answers == [503, 503, 200]
    got = api.call("/sandbox/receivers/ops", method="GET")
    assert [(r["status"], r["outcome"]) for r in got["received"]] == [(503, "failed"), (503, "failed"),
                                                                      (200, "accepted")]
    assert got["received"][2]["body"] == '{"n":"2"}' and got["received"][2]["headers"]["X-Portal-Push-Id"] == "2"
    assert got["config"]["fail_first"] == 0


def test_a_receiver_hangs_then_answers_504(api):
    api.call("/sandbox/receivers/slow", {"hang_first": 1, "hang_seconds": 0.5})
    started = time.monotonic()
    assert _post(api, "slow").status_code == 504
    assert time.monotonic() - started >= 0.5
    assert _post(api, "slow").status_code == 200
    assert [r["outcome"] for r in api.call("/sandbox/receivers/slow", method="GET")["received"]] == ["hung", "accepted"]


def test_a_slow_receiver_answers_200_late_and_records_what_overlapped(api):
    api.call("/sandbox/receivers/late", {"delay_seconds": 0.3})
    assert _post(api, "late").status_code == 200
    with ThreadPoolExecutor(max_workers=2) as pool:
        # the second is sent once the first is being held: it finds one request in flight
        first = pool.submit(_post, api, "late")
        _wait_until(lambda: len(api.call("/sandbox/receivers/late", method="GET")["received"]) == 2)
        second = pool.submit(_post, api, "late")
        assert (first.result().status_code, second.result().status_code) == (200, 200)
    got = api.call("/sandbox/receivers/late", method="GET")["received"]
    assert [(r["outcome"], r["in_flight"]) for r in got] == [("accepted", 0), ("accepted", 0), ("accepted", 1)]
    assert all(r["answered_at"] - r["at"] >= 0.3 for r in got)
    assert api.post("/sandbox/receivers/late", {"delay_seconds": -1}).status_code == 400


def _wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_receiver_settings_are_checked_and_reset_forgets_them(api):
    assert api.post("/sandbox/receivers/x", {"fail_frist": 1}).status_code == 400
    assert api.post("/sandbox/receivers/x", {"fail_status": 200}).status_code == 400
    _post(api, "x")
    api.call("/sandbox/reset", {})
    assert api.call("/sandbox/receivers/x", method="GET")["received"] == []


def test_user_messages_reach_the_message_url_of_an_authorized_account(api, platform, receiver):
    appid, _info = platform.authorized_miniprogram()
    account = api.call(f"/sandbox/miniprograms/{appid}", method="GET")["miniprogram"]
    for msg_type in ("text", "image", "event"):
        api.call("/sandbox/messages", {"appid": appid, "msg_type": msg_type, "content": "hi", "wait": True})
    pushes = api.call("/sandbox/pushes", method="GET", appid=appid)["pushes"][-3:]
    assert [p["kind"] for p in pushes] == ["message"] * 3 and all(p["state"] == "success" for p in pushes)
    assert all(p["url"].endswith(f"/wechat/msg/{appid}") for p in pushes)
    assert [p["push_type"] for p in pushes] == ["text", "image", "user_enter_tempsession"]
    assert f"<ToUserName><![CDATA[{account['user_name']}]]>" in pushes[0]["plaintext"]
    assert "<Content><![CDATA[hi]]></Content>" in pushes[0]["plaintext"]
    assert "<MediaId>" in pushes[1]["plaintext"] and "<SessionFrom><![CDATA[hi]]>" in pushes[2]["plaintext"]


def test_no_user_message_for_an_account_that_has_not_authorized(api, platform):
    appid = platform.new_miniprogram()
    answer = api.post("/sandbox/messages", {"component_appid": platform.appid, "appid": appid})
    assert answer.status_code == 400 and "has not authorized" in answer.json()["error"]
    assert api.post("/sandbox/messages", {"appid": appid, "msg_type": "video"}).status_code == 400
