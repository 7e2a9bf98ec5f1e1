"""Fault injection: latency, errcodes, HTTP statuses, hangs, outages, per-appid faults and lost pushes."""

import time

import pytest
import requests

PREAUTH = "/cgi-bin/component/api_create_preauthcode"


def add_fault(api, **spec):
    return api.call("/sandbox/faults", spec)["faults"][0]


def test_latency_applies_only_to_its_endpoint(api, platform):
    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", latency_ms=300)
    started = time.monotonic()
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    platform.component_token()
    assert time.monotonic() - started < 0.25


def test_a_call_held_by_latency_is_in_flight_until_it_is_answered(api, platform):
    import threading

    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", latency_ms=2000, count=1)
    caller = threading.Thread(target=api.call, args=(PREAUTH, platform.own), kwargs={"component_access_token": token})
    caller.start()
    deadline = time.monotonic() + 10
    while api.calls(endpoint="api_create_preauthcode")["in_flight"] == {} and time.monotonic() < deadline:
        time.sleep(0.02)
    held = api.calls(endpoint="api_create_preauthcode")
    assert held["in_flight"] == {"api_create_preauthcode": 1} and held["counts"] == {}
    caller.join(10)
    done = api.calls(endpoint="api_create_preauthcode")
    assert done["in_flight"] == {} and done["counts"] == {"api_create_preauthcode": 1}


def test_errcode_fault_with_count_is_recorded(api, platform):
    token = platform.component_token()
    fault = add_fault(api, endpoint="api_create_preauthcode", errcode=-1, errmsg="system error", count=2)
    assert fault["id"] > 0
    assert api.call(PREAUTH, platform.own, component_access_token=token) == {"errcode": -1, "errmsg": "system error"}
    assert api.call(PREAUTH, platform.own, component_access_token=token)["errcode"] == -1
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)
    calls = api.calls(endpoint="api_create_preauthcode")
    assert calls["counts"] == {"api_create_preauthcode": 3}
    assert calls["errcodes"] == {"-1": 2, "0": 1}
    assert [c["fault"] is not None for c in calls["calls"]] == [True, True, False]


def test_http_status_and_wildcard_with_appid(api, platform):
    appid, info = platform.authorized_miniprogram()
    other, other_info = platform.authorized_miniprogram()
    add_fault(api, endpoint="*", appid=appid, http_status=502)
    assert api.get("/wxa/get_category", access_token=info["authorizer_access_token"]).status_code == 502
    assert api.get("/wxa/get_category", access_token=other_info["authorizer_access_token"]).status_code == 200
    api.session.delete(api.base + "/sandbox/faults")
    assert api.get("/wxa/get_category", access_token=info["authorizer_access_token"]).status_code == 200
    assert api.call("/sandbox/faults", method="GET")["faults"] == []


def test_error_rate_is_probabilistic(api, platform):
    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", errcode=45009, error_rate=0.5)
    codes = {api.call(PREAUTH, platform.own, component_access_token=token).get("errcode", 0) for _ in range(40)}
    assert codes == {0, 45009}


def test_timeout_hangs_longer_than_client_timeout(api, platform):
    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", timeout_seconds=0.8, count=1)
    with pytest.raises(requests.Timeout):
        requests.post(api.base + PREAUTH, json=platform.own, params={"component_access_token": token}, timeout=0.3)
    time.sleep(0.6)
    assert api.calls(endpoint="api_create_preauthcode")["calls"][0]["http_status"] == 504
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)


def test_outage_window_follows_the_sandbox_clock(api, platform):
    token = platform.component_token()
    add_fault(api, endpoint="*", outage_seconds=120)
    assert api.post(PREAUTH, platform.own, component_access_token=token).status_code == 503
    assert api.post("/cgi-bin/component/api_component_token", {}).status_code == 503
    api.advance(121)
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)


def test_outage_with_errcode(api, platform):
    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", outage={"start": 0, "end": 9e12}, errcode=-1)
    assert api.call(PREAUTH, platform.own, component_access_token=token)["errcode"] == -1


def test_dropped_pushes_are_recorded_not_delivered(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    add_fault(api, drop_pushes=True, push_type="authorized", count=1)
    first = platform.new_miniprogram()
    platform.authorize(first)
    second = platform.new_miniprogram()
    platform.authorize(second)
    assert [e["AuthorizerAppid"] for e in receiver.wait_for("authorized")] == [second]
    pushes = api.call("/sandbox/pushes", method="GET", type="authorized")["pushes"]
    assert [(p["appid"], p["state"]) for p in pushes] == [(first, "dropped"), (second, "success")]


def test_slow_calls_overlap_on_the_threaded_server(api, platform):
    import concurrent.futures

    token = platform.component_token()
    add_fault(api, endpoint="api_create_preauthcode", latency_ms=400)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: requests.post(api.base + PREAUTH, json=platform.own, timeout=5,
                                                        params={"component_access_token": token}).json(),
                                range(10)))
    assert all("pre_auth_code" in r for r in results)
    assert time.monotonic() - started < 2.0  # ten 0.4 s calls in parallel, not 4 s in a row
