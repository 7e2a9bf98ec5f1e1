"""Control API, overview page, clock, call records, state file, demo data and the command line."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox import create_app
from sandbox.__main__ import options_from_args, parse_args
from sandbox.server import start_background

ROOT = Path(__file__).resolve().parents[2]


def test_exactly_one_token_refresh_is_visible(api, platform, mp):
    appid, _ = mp
    calls = api.calls(endpoint="api_component_token")
    assert calls["counts"] == {"api_component_token": 1}
    assert calls["calls"][0]["appid"] == platform.appid
    by_app = api.calls(appid=appid)
    assert by_app["counts"] == {}  # no call made with the mini-program's own token yet
    api.call("/wxa/get_category", method="GET", access_token=mp[1])
    assert api.calls(appid=appid, limit=5)["calls"][-1]["endpoint"] == "get_category"


def test_reset_empties_everything(api, platform, mp):
    api.call("/sandbox/faults", {"endpoint": "*", "latency_ms": 1})
    api.call("/sandbox/reset", {})
    assert api.call("/sandbox/components", method="GET")["components"] == []
    assert api.call("/sandbox/miniprograms", method="GET")["miniprograms"] == []
    assert api.calls()["total"] == 0
    assert api.call("/sandbox/faults", method="GET")["faults"] == []
    assert api.call("/sandbox/pushes", method="GET")["pushes"] == []


def test_clock_get_and_advance(api):
    before = api.call("/sandbox/clock", method="GET")
    after = api.advance(3600)
    assert after["now"] - before["now"] >= 3600 and after["offset"] >= 3600
    assert api.post("/sandbox/clock", {"advance": -5}).status_code == 400


def test_control_api_rejects_bad_input(api, platform):
    assert api.post("/sandbox/components", {"component_appid": "x"}).status_code == 400
    bad_key = {"component_appid": "wx1", "component_appsecret": "s", "token": "t", "encoding_aes_key": "short"}
    assert api.post("/sandbox/components", bad_key).status_code == 400
    assert api.post("/sandbox/components", {**bad_key, "encoding_aes_key": "A" * 43,
                                            "message_url": "http://x/no-placeholder"}).status_code == 400
    assert api.post("/sandbox/miniprograms", {"account_type": "robot"}).status_code == 400
    assert api.post("/sandbox/authorize", {"component_appid": platform.appid, "appid": "wxnone"}).status_code == 400
    assert api.post("/sandbox/unauthorize", {"component_appid": platform.appid, "appid": "wxnone"}).status_code == 400
    assert api.post("/sandbox/audits/decide", {"rule": {"outcome": "maybe"}}).status_code == 400
    assert api.post("/sandbox/faults", {"bogus_option": 1}).status_code == 400


def test_miniprogram_gets_generated_defaults(api):
    created = api.call("/sandbox/miniprograms", {})["miniprogram"]
    assert created["appid"].startswith("wx") and created["user_name"].startswith("gh_")
    assert created["nick_name"] and created["categories"] and 18 in created["func_info"]
    shown = api.call(f"/sandbox/miniprograms/{created['appid']}", method="GET")["miniprogram"]
    assert shown["appid"] == created["appid"]


def test_overview_page(api, platform, mp):
    appid, _ = mp
    page = api.get("/sandbox/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert platform.appid in page.text and appid in page.text and "测试小程序" in page.text
    assert "http://" not in page.text.split("<main>")[0]  # no external assets in the head


def test_state_file_survives_restart(tmp_path):
    state_file = tmp_path / "state.json"
    first = start_background(state_file=str(state_file))
    try:
        base = first.url
        requests.post(base + "/sandbox/components", json={
            "component_appid": "wxstatefile0001", "component_appsecret": "s" * 32, "token": "tok",
            "encoding_aes_key": "B" * 43, "authorized_domains": ["example.com"]}, timeout=5)
        requests.post(base + "/sandbox/miniprograms", json={"appid": "wxstatefilemp01", "nick_name": "持久"},
                      timeout=5)
        ticket = requests.get(base + "/sandbox/components", timeout=5).json()["components"][0]["ticket"]
    finally:
        first.stop()
    assert state_file.exists()
    second = start_background(state_file=str(state_file))
    try:
        token = requests.post(second.url + "/cgi-bin/component/api_component_token", json={
            "component_appid": "wxstatefile0001", "component_appsecret": "s" * 32,
            "component_verify_ticket": ticket}, timeout=5).json()
        assert "component_access_token" in token
        shown = requests.get(second.url + "/sandbox/miniprograms/wxstatefilemp01", timeout=5).json()
        assert shown["miniprogram"]["nick_name"] == "持久"
    finally:
        second.stop()


def test_demo_installs_accounts_and_templates():
    component = {"component_appid": "wx" + secrets.token_hex(8), "component_appsecret": secrets.token_hex(16),
                 "token": secrets.token_hex(6), "encoding_aes_key": secrets.token_urlsafe(32)[:43].replace("-", "a")
                 .replace("_", "b")}
    handle = start_background(demo=True, demo_component=component, push_retries=0)
    try:
        accounts = requests.get(handle.url + "/sandbox/miniprograms", timeout=5).json()["miniprograms"]
        assert len(accounts) == 6 and sum(a["is_miniprogram"] for a in accounts) == 5
        sb = handle.sandbox
        assert len(sb.state.templates[component["component_appid"]]) == 2
        assert len(sb.state.drafts[component["component_appid"]]) == 3
        avatar = requests.get(handle.url + f"/sandbox/avatars/{accounts[0]['appid']}.png", timeout=5)
        assert avatar.content.startswith(b"\x89PNG")
    finally:
        handle.stop()


def test_demo_registers_named_server_domains_and_installs_once(tmp_path):
    """`make run` starts the sandbox on its state file each time: a second start keeps one set of demo
    accounts and templates, and the platform's server domains are names WeChat accepts, not 127.0.0.1."""
    component = {"component_appid": "wx" + secrets.token_hex(8), "component_appsecret": secrets.token_hex(16),
                 "token": secrets.token_hex(6), "encoding_aes_key": "a" * 43,
                 "authorized_domains": ["127.0.0.1"]}
    state = str(tmp_path / "state.json")
    appids = []
    for _ in range(2):
        handle = start_background(demo=True, demo_component=component, push_retries=0, state_file=state)
        try:
            sb = handle.sandbox
            appids.append(sorted(sb.state.accounts))
            registered = sb.state.components[component["component_appid"]]
            assert registered.server_domains == registered.webview_domains == ["demo.localhost"]
            assert len(sb.state.templates[component["component_appid"]]) == 2
            assert len(sb.state.drafts[component["component_appid"]]) == 3
            sb.autosave(force=True)
        finally:
            handle.stop()
    assert len(appids[0]) == 6 and appids[0] == appids[1]


def test_options_are_checked():
    with pytest.raises(TypeError):
        create_app({"no_such_option": 1})


def test_cli_arguments():
    args = parse_args(["--port", "0", "--push-interval", "5", "--clock-speed", "60", "--demo",
                       "--component-appid", "wxabc", "--authorized-domain", "localhost",
                       "--server-domain", "demo.localhost"])
    options = options_from_args(args)
    assert options.ticket_interval == 5 and options.clock_speed == 60 and options.demo
    assert options.demo_component == {"component_appid": "wxabc", "authorized_domains": ["localhost"],
                                      "server_domains": ["demo.localhost"], "webview_domains": ["demo.localhost"]}


def test_python_dash_m_sandbox_serves(tmp_path):
    with socket.socket() as probe:  # a port that is free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30  # a busy 2-core machine may take a while to import and bind
        while time.monotonic() < deadline:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/sandbox/clock", timeout=2).json()["errcode"] == 0
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("the sandbox did not start")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_fast_clock_expires_tokens_in_real_time():
    handle = start_background(clock_speed=7200)
    try:
        spec = {"component_appid": "wxfastclock0001", "component_appsecret": "s" * 32, "token": "tok",
                "encoding_aes_key": "C" * 43, "ticket_interval": 0}
        ticket = requests.post(handle.url + "/sandbox/components", json=spec, timeout=5).json()["ticket"]
        body = {"component_appid": spec["component_appid"], "component_appsecret": spec["component_appsecret"],
                "component_verify_ticket": ticket}
        token = requests.post(handle.url + "/cgi-bin/component/api_component_token", json=body,
                              timeout=5).json()["component_access_token"]
        time.sleep(1.2)  # > 7200 sandbox seconds
        answer = requests.post(handle.url + "/cgi-bin/component/api_create_preauthcode", json={},
                               params={"component_access_token": token}, timeout=5).json()
        assert answer["errcode"] == 42001
    finally:
        handle.stop()


def test_overview_buttons_revoke_decide_and_push(api, platform, mp, receiver):
    from tests.sandbox.helpers import committed_and_scanned, submit

    appid, access = mp
    page = api.get("/sandbox/").text
    assert f'id="revoke-{appid}"' in page and f'id="push-ticket-{platform.appid}"' in page
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    assert f'id="approve-{auditid}"' in api.get("/sandbox/").text
    resp = api.session.post(api.base + "/sandbox/ui/decide", data={"auditid": auditid, "outcome": "approve"},
                            allow_redirects=False)
    assert resp.status_code == 303
    receiver.wait_for("weapp_audit_success")
    api.session.post(api.base + "/sandbox/ui/push-ticket", data={"component_appid": platform.appid})
    receiver.wait_for("component_verify_ticket", 2)
    api.session.post(api.base + "/sandbox/ui/unauthorize",
                     data={"component_appid": platform.appid, "authorizer_appid": appid})
    assert receiver.wait_for("unauthorized")[0]["AuthorizerAppid"] == appid


def test_demo_through_the_control_api(api, receiver):
    from tests.sandbox.helpers import random_key

    spec = {"component_appid": "wx" + secrets.token_hex(8), "component_appsecret": secrets.token_hex(16),
            "token": random_key(10), "encoding_aes_key": random_key(), "auth_event_url": receiver.url + "/a"}
    result = api.call("/sandbox/demo", spec)
    assert result["component_appid"] == spec["component_appid"] and len(result["accounts"]) == 6
    assert len(api.call("/sandbox/miniprograms", method="GET")["miniprograms"]) == 6
