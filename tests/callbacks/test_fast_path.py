"""The callback URLs' lean path: same answers and guarantees as through Flask's full pipeline (headers,
request id, encrypted payload, dedup, failures stored), a per-process rate limit, no session cookie."""

import os
import time

import pytest
import sqlalchemy as sa
from wechatpy.crypto import WeChatCrypto

from portal.callbacks.ratelimit import SlidingWindowLimiter

TICKET_XML = ("<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{ts}</CreateTime>"
              "<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
              "<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>")
EVENT_XML = ("<xml><ToUserName><![CDATA[gh_000000000001]]></ToUserName><CreateTime>{ts}</CreateTime>"
             "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event></xml>")


@pytest.fixture
def send(platform):
    creds = platform.credentials
    crypto = WeChatCrypto(creds["WECHAT_COMPONENT_TOKEN"], creds["WECHAT_COMPONENT_AES_KEY"], platform.component_appid)
    client = platform.client()

    def seal(inner, ts):
        nonce = "n" + os.urandom(4).hex()
        envelope = crypto.encrypt_message(inner, nonce, ts)
        encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        return (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": signature})

    def post(inner=None, path="/wechat/auth-events", headers=None, ticket="t-fast"):
        ts = str(int(time.time()))
        inner = inner or TICKET_XML.format(appid=platform.component_appid, ts=ts, ticket=ticket)
        body, query = seal(inner, ts)
        return client.post(path, query_string=query, data=body, content_type="text/xml", headers=headers or {}), \
            body, query

    return post


def _rows(platform):
    from portal.extensions import db

    with platform.app.app_context():
        return [dict(r._mapping) for r in db.session.execute(sa.text(
            "SELECT kind, appid, outcome, detail, payload, duplicates, summary FROM callback_events ORDER BY id"))]


def test_ticket_push_answers_success_with_headers_and_no_cookie(platform, send):
    before = len(_rows(platform))  # the sandbox may have pushed a ticket already
    response, _body, _query = send(ticket="ticket-fast-1")
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-Id"]) == 16
    assert "Set-Cookie" not in response.headers and "X-RateLimit-Limit" not in response.headers
    [row] = _rows(platform)[before:]
    assert (row["kind"], row["outcome"], row["detail"]) == ("component_verify_ticket", "applied", "ticket stored")
    assert row["payload"].startswith("enc2:") and "ticket-fast-1" not in row["payload"]
    assert "ticket-fast-1" not in row["summary"]
    from portal.models import ComponentAccount

    with platform.app.app_context():
        account = ComponentAccount.query.filter_by(component_appid=platform.component_appid).one()
        assert account.component_verify_ticket == "ticket-fast-1" and account.ticket_time is not None
    assert send(ticket="ticket-fast-2")[0].status_code == 200
    with platform.app.app_context():
        assert ComponentAccount.query.filter_by(component_appid=platform.component_appid).one() \
            .component_verify_ticket == "ticket-fast-2"


def test_incoming_request_id_is_echoed(platform, send):
    response = send(headers={"X-Request-Id": "abc-123"})[0]
    assert response.headers["X-Request-Id"] == "abc-123"


def test_other_methods_still_go_through_flask(platform):
    client = platform.client()
    assert client.get("/wechat/auth-events").status_code == 405
    assert client.post("/wechat/events/wx1234567890/extra").status_code == 404
    assert client.post("/wechat/events/").status_code == 404


def test_message_push_stored_with_its_outcome_and_appid_checked(platform, send):
    ts, before = str(int(time.time())), len(_rows(platform))
    response = send(EVENT_XML.format(ts=ts, event="some_other_event"), path="/wechat/events/wx1234567890")[0]
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    [row] = _rows(platform)[before:]
    assert (row["kind"], row["appid"], row["outcome"]) == ("some_other_event", "wx1234567890", "ignored")
    assert row["detail"] == "stored, no action needed"


def test_a_push_that_fails_to_apply_is_stored_as_failed_and_its_retry_counted(platform, send, monkeypatch):
    from portal.services.pushes import store as service

    def broken(*args):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(service, "_store_ticket", broken)
    before = len(_rows(platform))
    response, body, query = send(ticket="never-stored")
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    again = platform.client().post("/wechat/auth-events", query_string=query, data=body, content_type="text/xml")
    assert again.status_code == 200 and again.get_data(as_text=True) == "success"
    [row] = _rows(platform)[before:]
    assert row["outcome"] == "failed" and "database hiccup" in row["detail"] and row["duplicates"] == 1
    from portal.models import ComponentAccount

    with platform.app.app_context():
        account = ComponentAccount.query.filter_by(component_appid=platform.component_appid).one_or_none()
        assert account is None or account.component_verify_ticket != "never-stored"


def test_an_unexpected_error_answers_503_not_500(platform, send, monkeypatch):
    from portal.services import pushes

    def boom(*args, **kwargs):
        raise RuntimeError("no database")

    monkeypatch.setattr(pushes, "receive", boom)
    response = send()[0]
    assert response.status_code == 503 and response.headers["X-Frame-Options"] == "DENY"


def test_rate_limit_per_address_and_url(platform, send):
    platform.app.config["CALLBACK_RATE_LIMIT"] = "3 per minute"
    before = len(_rows(platform))
    codes = [send(ticket=f"t{i}")[0].status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert len(_rows(platform)) == before + 3
    ts = str(int(time.time()))
    other_url = send(EVENT_XML.format(ts=ts, event="x"), path="/wechat/events/wx1234567890")[0]
    assert other_url.status_code == 200


def test_sliding_window_limiter():
    now = [0.0]
    limiter = SlidingWindowLimiter(10, 60, clock=lambda: now[0])
    assert all(limiter.hit("a") for _ in range(10))
    assert not limiter.hit("a") and limiter.hit("b")
    now[0] = 90.0  # half of the previous window still counts: 10 * 0.5 = 5 of 10 used
    assert [limiter.hit("a") for _ in range(6)] == [True] * 5 + [False]
    now[0] = 200.0  # two windows later: nothing counts any more
    assert all(limiter.hit("a") for _ in range(10))
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 60)
    assert SlidingWindowLimiter.from_string("600 per minute").amount == 600
