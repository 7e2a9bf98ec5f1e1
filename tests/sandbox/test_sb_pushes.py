"""Push delivery: retries on non-success answers and slow platforms, records, async, wall-clock timestamps."""

import time

PUSHES = "/sandbox/pushes"


def test_retries_until_success_and_records_answers(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    receiver.fail_first = 2
    api.call("/sandbox/push-ticket", {"component_appid": platform.appid, "wait": True})
    push = api.call(PUSHES, method="GET", type="component_verify_ticket")["pushes"][-1]
    assert push["state"] == "success"
    assert [a["answer"] for a in push["attempts"]] == ["error", "error", "success"]
    assert len(receiver.events("component_verify_ticket")) == 4  # 1 at registration + 3 attempts


def test_gives_up_after_three_retries(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    receiver.answer = "fail"
    api.call("/sandbox/push-ticket", {"component_appid": platform.appid, "wait": True})
    push = api.call(PUSHES, method="GET", type="component_verify_ticket")["pushes"][-1]
    assert push["state"] == "failed" and len(push["attempts"]) == 4


def test_slow_platform_times_out_and_is_retried(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    receiver.delay = 0.7  # push_timeout is 0.5 s in these tests
    api.call("/sandbox/push-ticket", {"component_appid": platform.appid, "wait": True})
    push = api.call(PUSHES, method="GET", type="component_verify_ticket")["pushes"][-1]
    assert push["state"] == "failed"
    assert [a["error"] for a in push["attempts"]] == ["ReadTimeout"] * 4
    receiver.delay = 0


def test_pushes_never_block_the_api_call(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    receiver.delay = 0.7
    appid = platform.new_miniprogram()
    started = time.monotonic()
    platform.authorize(appid, wait=False)
    assert time.monotonic() - started < 0.4
    assert api.call(PUSHES, method="GET", type="authorized")["pushes"][-1]["state"] in ("queued", "delivering")
    receiver.delay = 0


def test_timestamp_stays_wall_clock_when_sandbox_clock_moves(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    api.advance(30 * 86400)
    api.call("/sandbox/push-ticket", {"component_appid": platform.appid, "wait": True})
    last = receiver.requests[-1]
    assert abs(int(last["query"]["timestamp"]) - time.time()) < 5
    assert abs(int(last["xml"]["CreateTime"]) - time.time()) < 5
    clock = api.call("/sandbox/clock", method="GET")
    assert clock["now"] - clock["wall"] > 29 * 86400


def test_periodic_ticket_pushes_follow_the_clock(api, make_platform, receiver):
    make_platform(ticket_interval=100)
    receiver.wait_for("component_verify_ticket")
    api.advance(101)
    tickets = receiver.wait_for("component_verify_ticket", 2)
    assert tickets[0]["ComponentVerifyTicket"] != tickets[1]["ComponentVerifyTicket"]


def test_push_signatures_verify(api, platform, receiver):
    from sandbox.crypto import MessageCrypto, sha1_signature

    receiver.wait_for("component_verify_ticket")
    raw = receiver.requests[0]
    query = raw["query"]
    assert query["signature"] == sha1_signature(platform.token, query["timestamp"], query["nonce"])
    encrypt = raw["body"].split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    crypto = MessageCrypto(platform.token, platform.aes_key, platform.appid)
    assert crypto.verify(query["msg_signature"], query["timestamp"], query["nonce"], encrypt)
    plaintext, appid = crypto.decrypt(encrypt)
    assert appid == platform.appid and "<InfoType><![CDATA[component_verify_ticket]]></InfoType>" in plaintext
