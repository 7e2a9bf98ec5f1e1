"""WeChatHTTP over real HTTP: errcode -> exception, transport retries, timeouts, the single token refresh,
binary bodies, UTF-8 JSON, observer records and log hygiene."""

from __future__ import annotations

import logging
import socket
import threading
import traceback

import pytest
import requests

from portal.wechat import http as wechat_http
from portal.wechat.errors import (
    APIError,
    AppNotAuthorized,
    AuditInProgress,
    InvalidRequest,
    InvalidResponse,
    PermissionDenied,
    PrivacyScanRunning,
    RateLimited,
    RefreshTokenInvalid,
    ReviewError,
    SystemBusy,
    TicketError,
    TokenError,
    TransportError,
)
from tests.wechat.testkit import Reply

MP = "wxa1b2c3d4e5f60708"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def err(code, msg="error"):
    return {"errcode": code, "errmsg": msg}


@pytest.mark.parametrize("code,cls", [
    (45009, RateLimited), (-1, SystemBusy), (61023, RefreshTokenInvalid), (61003, AppNotAuthorized),
    (40097, InvalidRequest), (85009, AuditInProgress), (61039, PrivacyScanRunning), (61004, PermissionDenied),
    (61005, TicketError), (41001, TokenError), (99999, APIError),
])
def test_errcode_becomes_typed_exception(server, client, code, cls):
    server.on("/wxa/get_category", err(code, "wechat says no"))
    with pytest.raises(APIError) as info:
        client.miniprogram(MP).code.get_category()
    exc = info.value
    assert type(exc) is cls
    assert (exc.errcode, exc.errmsg, exc.api) == (code, "wechat says no", "get_category")
    assert exc.response == {"errcode": code, "errmsg": "wechat says no"}
    assert exc.human("zh") and exc.human("en")
    assert len(server.seen("/wxa/get_category")) == 1  # API errors are never resent by the transport


def test_json_served_as_text_plain_is_still_parsed(server, client):
    server.on("/wxa/get_page", Reply({"errcode": 0, "page_list": ["pages/index/index"]},
                                     content_type="text/plain"))
    assert client.miniprogram(MP).code.get_page() == ["pages/index/index"]


def test_5xx_is_retried_with_backoff_then_succeeds(server, client, sleeps, calls):
    server.on("/wxa/get_page", Reply(status=502, body="bad gateway", content_type="text/html"),
              Reply(status=503, body="busy", content_type="text/html"), {"errcode": 0, "page_list": []})
    assert client.miniprogram(MP).code.get_page() == []
    assert len(server.seen("/wxa/get_page")) == 3
    assert len(sleeps) == 2 and all(0 < s <= 0.05 for s in sleeps)
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert [c.http_status for c in calls] == [502, 503, 200]


def test_5xx_exhausts_retries_then_transport_error(server, make_client, sleeps):
    client = make_client(max_retries=3, backoff_base=0.01, backoff_max=0.02)
    server.on("/wxa/get_page", *[Reply(status=500, body="oops", content_type="text/plain")] * 5)
    with pytest.raises(TransportError) as info:
        client.miniprogram(MP).code.get_page()
    assert info.value.http_status == 500 and info.value.retryable and info.value.errcode is None
    assert len(server.seen("/wxa/get_page")) == 4
    assert len(sleeps) == 3 and max(sleeps) <= 0.02  # bounded by backoff_max


def test_backoff_grows_exponentially_with_jitter():
    sender = wechat_http.WeChatHTTP(requests.Session(), "http://127.0.0.1:9", backoff_base=1.0, backoff_max=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = {sender._backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1


@pytest.mark.parametrize("status", [400, 403, 404, 429])
def test_4xx_is_not_retried(server, client, status, sleeps):
    server.on("/wxa/get_page", Reply(status=status, body="no", content_type="text/plain"))
    with pytest.raises(TransportError) as info:
        client.miniprogram(MP).code.get_page()
    assert info.value.http_status == status
    assert len(server.seen("/wxa/get_page")) == 1 and sleeps == []


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_then_transport_error(make_client, sleeps, calls):
    client = make_client(api_base=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(TransportError) as info:
        client.component.create_preauthcode()
    assert info.value.retryable and info.value.http_status is None
    assert len(sleeps) == 2 and [c.attempt for c in calls] == [1, 2, 3]
    assert all(c.error == "TransportError" and c.errcode is None for c in calls)


def test_reset_after_sending_is_not_resent(make_client, sleeps):
    """A connection dropped after the request went out may have been acted on: no blind resend."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        client = make_client(api_base=f"http://127.0.0.1:{listener.getsockname()[1]}")
        with pytest.raises(TransportError) as info:
            client.miniprogram(MP).audit.submit_audit(version_desc="v1")
        assert len(accepted) == 1 and sleeps == [] and info.value.maybe_sent
    finally:
        listener.close()


def test_read_timeout_is_transport_error_and_not_resent(server, make_client, sleeps):
    client = make_client(read_timeout=0.2)
    server.on("/wxa/release", Reply(delay=0.6))
    with pytest.raises(TransportError, match="ReadTimeout"):
        client.miniprogram(MP).release.release()
    assert len(server.seen("/wxa/release")) == 1 and sleeps == []


def test_5xx_on_a_write_is_not_resent_and_says_it_may_have_reached_wechat(server, client, sleeps):
    """WeChat may have acted on a submit answered by a 5xx: sending it again could submit twice."""
    server.on("/wxa/submit_audit", Reply(status=502, body="bad gateway", content_type="text/html"),
              {"errcode": 0, "auditid": 1234})
    with pytest.raises(TransportError) as info:
        client.miniprogram(MP).audit.submit_audit(version_desc="v1")
    assert info.value.maybe_sent and info.value.http_status == 502 and "may have reached WeChat" in str(info.value)
    assert "可能已到达微信" in info.value.human("zh")
    assert len(server.seen("/wxa/submit_audit")) == 1 and sleeps == []


def test_a_read_is_retried_after_a_read_timeout(server, make_client, sleeps):
    """A read changes nothing at WeChat, so a timeout or a dropped answer is simply asked again."""
    client = make_client(read_timeout=0.2)
    server.on("/wxa/get_latest_auditstatus", Reply(delay=0.6),
              {"errcode": 0, "auditid": 7, "status": 2, "reason": "", "ScreenShot": ""})
    assert client.miniprogram(MP).audit.get_latest_audit_status().auditid == 7
    assert len(server.seen("/wxa/get_latest_auditstatus")) == 2 and len(sleeps) == 1


def test_a_post_that_only_reads_is_retried_after_a_5xx(server, client):
    server.on("/wxa/modify_domain", Reply(status=503, body="busy", content_type="text/plain"),
              {"errcode": 0, "requestdomain": ["https://a.example.com"]})
    assert client.miniprogram(MP).domains.modify_domain("get")["requestdomain"] == ["https://a.example.com"]
    assert len(server.seen("/wxa/modify_domain")) == 2
    server.on("/wxa/modify_domain", Reply(status=503, body="busy", content_type="text/plain"), {"errcode": 0})
    with pytest.raises(TransportError) as info:
        client.miniprogram(MP).domains.modify_domain("set", requestdomain=["https://a.example.com"])
    assert info.value.maybe_sent and len(server.seen("/wxa/modify_domain")) == 3


def test_invalid_json_body(server, client):
    server.on("/wxa/get_page", Reply(body="<html>proxy error</html>", content_type="text/html"))
    with pytest.raises(InvalidResponse):
        client.miniprogram(MP).code.get_page()
    server.on("/wxa/get_page", Reply(body="[1, 2]"))
    with pytest.raises(InvalidResponse):
        client.miniprogram(MP).code.get_page()


# --- token refresh ---


def test_token_error_refreshes_once_and_retries(server, client, tokens):
    server.on("/wxa/get_page", err(40001, "invalid credential"), {"errcode": 0, "page_list": ["a"]})
    assert client.miniprogram(MP).code.get_page() == ["a"]
    first, second = server.seen("/wxa/get_page")
    assert first.args["access_token"] == "authorizer-" + MP + "-secret-token-1"
    assert second.args["access_token"] == "authorizer-" + MP + "-secret-token-2"
    assert tokens.invalidations == [(MP, first.args["access_token"])]


@pytest.mark.parametrize("code", [40014, 42001])
def test_other_stale_token_codes_refresh_too(server, client, tokens, code):
    server.on("/cgi-bin/component/api_create_preauthcode", err(code),
              {"errcode": 0, "pre_auth_code": "pac", "expires_in": 1800})
    assert client.component.create_preauthcode().pre_auth_code == "pac"
    assert tokens.invalidations == [(None, "component-secret-token-1")]
    assert server.seen()[1].args["component_access_token"] == "component-secret-token-2"


def test_token_refresh_happens_at_most_once(server, client, tokens):
    server.on("/wxa/get_page", err(40001), err(42001), {"errcode": 0})
    with pytest.raises(TokenError) as info:
        client.miniprogram(MP).code.get_page()
    assert info.value.errcode == 42001
    assert len(server.seen("/wxa/get_page")) == 2 and len(tokens.invalidations) == 1


def test_missing_token_41001_is_not_refreshed(server, client, tokens):
    server.on("/wxa/get_page", err(41001))
    with pytest.raises(TokenError):
        client.miniprogram(MP).code.get_page()
    assert tokens.invalidations == [] and len(server.seen("/wxa/get_page")) == 1


def test_compare_and_invalidate_keeps_a_token_refreshed_by_someone_else(server, client, tokens):
    """Another worker refreshes while our call is in flight: our invalidate must not drop its new token."""

    def stale_then_rotated(seen):
        tokens.authorizer[MP] = "authorizer-refreshed-elsewhere"  # the other worker's fresh token
        return err(40001)

    server.on("/wxa/get_page", stale_then_rotated, {"errcode": 0, "page_list": []})
    client.miniprogram(MP).code.get_page()
    failed = server.seen("/wxa/get_page")[0].args["access_token"]
    assert tokens.invalidations == [(MP, failed)]  # the client names the token that failed...
    assert server.seen("/wxa/get_page")[1].args["access_token"] == "authorizer-refreshed-elsewhere"
    assert tokens.issued == 1  # ...and the store kept the other worker's token instead of issuing a new one


# --- bodies ---


def test_binary_image_returned_with_the_type_of_its_bytes(server, client):
    """get_qrcode's page names image/jpeg; the bytes' signature decides, the label is only a fallback."""
    jpeg, gif = b"\xff\xd8\xff\xe0" + bytes(64), b"GIF89a" + bytes(64)
    server.on("/wxa/getwxacodeunlimit", Reply(body=PNG, content_type="image/png"),
              Reply(body=gif, content_type="application/octet-stream"),
              Reply(body=b"\x00\x01 no signature", content_type="image/webp"))
    server.on("/wxa/get_qrcode", Reply(body=PNG, content_type="image/jpeg"), Reply(body=jpeg, content_type="image/jpeg"))
    mp = client.miniprogram(MP)
    image = mp.qrcode.get_unlimited("id=42", page="pages/index/index", check_path=False)
    assert (image.content, image.content_type) == (PNG, "image/png")
    assert mp.qrcode.get_unlimited("s").content_type == "image/gif"
    assert mp.qrcode.get_unlimited("s").content_type == "image/webp"
    assert mp.code.get_qrcode("pages/index/index?x=1") == wechat_http.Image(PNG, "image/png")
    assert mp.code.get_qrcode().content_type == "image/jpeg"
    assert server.seen("/wxa/get_qrcode")[0].args["path"] == "pages/index/index?x=1"
    assert server.seen("/wxa/getwxacodeunlimit")[0].json() == {
        "scene": "id=42", "page": "pages/index/index", "check_path": False}


def test_binary_call_with_json_error_raises(server, client):
    server.on("/wxa/getwxacodeunlimit", Reply(err(41030, "invalid page"), content_type="application/json"),
              Reply(err(45009, "limit"), content_type="text/plain"))
    with pytest.raises(InvalidRequest):
        client.miniprogram(MP).qrcode.get_unlimited("s")
    with pytest.raises(RateLimited):
        client.miniprogram(MP).qrcode.get_unlimited("s")


def test_json_bodies_are_utf8_not_unicode_escaped(server, client):
    ext = {"extAppid": MP, "ext": {"name": "小程序商城", "slogan": "欢迎光临"}}
    client.miniprogram(MP).code.commit("1024", ext, "1.0.0", "首次发布")
    seen = server.seen("/wxa/commit")[0]
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "小程序商城".encode() in seen.body and b"\\u" not in seen.body
    body = seen.json()
    assert body["template_id"] == 1024 and isinstance(body["template_id"], int)
    assert isinstance(body["ext_json"], str) and '"小程序商城"' in body["ext_json"]
    assert body["user_desc"] == "首次发布"


# --- observer and logs ---


def test_observer_gets_metrics_without_tokens(server, client, calls, tokens):
    server.on("/wxa/get_page", err(40001), {"errcode": 0, "page_list": []})
    server.on("/wxa/submit_audit", err(85009, "already"))
    mp = client.miniprogram(MP)
    mp.code.get_page()
    with pytest.raises(ReviewError):
        mp.audit.submit_audit()
    assert [(c.api, c.errcode, c.error) for c in calls] == [
        ("get_page", 40001, "TokenError"), ("get_page", 0, None), ("submit_audit", 85009, "AuditInProgress")]
    assert all(c.appid == MP and c.latency_ms >= 0 and c.path.startswith("/wxa/") for c in calls)
    everything = repr(calls)
    assert all(tok not in everything for tok in ["secret-token", *tokens.authorizer.values()])


def test_observer_failure_never_breaks_the_call(server, make_client, calls):
    def broken(record):
        raise RuntimeError("observer bug")

    client = make_client()
    client.http.observer = broken
    assert client.miniprogram(MP).code.get_page() == []


def test_tokens_and_secrets_never_reach_logs_or_exceptions(server, make_client, caplog, tokens):
    caplog.set_level(logging.DEBUG)
    client = make_client()
    server.on("/wxa/get_page", err(40001), Reply(status=500, body="x"), {"errcode": 0, "page_list": []})
    server.on("/cgi-bin/component/api_component_token", {"component_access_token": "fresh-secret-token-c",
                                                         "expires_in": 7200})
    server.on("/wxa/release", err(85019, "no approved version"))
    client.miniprogram(MP).code.get_page()
    client.component.get_component_token("ticket@@@secret-ticket")
    failures = []
    with pytest.raises(ReviewError) as info:
        client.miniprogram(MP).release.release()
    failures.append(info.value)
    dead = make_client(api_base=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(TransportError) as info:
        dead.miniprogram(MP).code.get_page()
    failures.append(info.value)
    text = "\n".join(r.getMessage() for r in caplog.records)
    text += "\n".join("".join(traceback.format_exception(e)) for e in failures)
    assert "get_page" in text and "access_token=***" in text  # the path is logged, redacted
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # urllib3's own lines are checked too
    for secret in ["secret-token", "secret-ticket", "test-appsecret-value", *tokens.authorizer.values()]:
        assert secret not in text


def test_redact():
    assert wechat_http.redact("/x?access_token=abc&a=1&component_access_token=def") == (
        "/x?access_token=***&a=1&component_access_token=***")
