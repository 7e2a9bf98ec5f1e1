"""Server-domain changes are rationed by WeChat: "每月可提交修改申请50次" (modifyServerDomain). The portal reads
what WeChat holds (action=get) and sends `set` only when the domains differ, counts what it sends per app
and Beijing month, shows the count on the domains page and refuses the 51st before WeChat would (86102),
without failing an upload. Server domains may carry a port, compared with it; business domains may not."""

import json

from portal.extensions import db
from portal.models import FleetTarget, JobRun
from tests.releases.test_params import _sandbox_app
from tests.releases.test_pipeline import _actions, _html, _settings, submit, upload


def last_run(env, kind):
    with env.app.app_context():
        return db.session.query(JobRun).filter_by(kind=kind).order_by(JobRun.id.desc()).first()


def _changes(env, endpoint="modify_domain"):
    return [a for a in _actions(env, endpoint) if a != "get"]


def _spend_the_month(env):
    """50 server-domain changes through the domains page, alternating so each one is a real change (faster
    than the portal's own rate limit on merchant actions allows, which is not what these tests are about)."""
    env.app.config.update(MERCHANT_WECHAT_RATE_LIMIT="1000 per minute")
    for i in range(50):
        response = env.post("domains/server", {"action": "set", "requestdomain": f"a{i % 2}.localhost"})
        assert response.status_code == 302, _html(response)
    assert len(_changes(env)) == 50


def test_unchanged_domains_are_set_once_for_two_uploads_and_a_submit(code_env):
    env = code_env
    _settings(env)
    upload(env, "1.0.0")
    upload(env, "1.0.1")
    env.api.advance(31)
    submit(env)
    assert _changes(env) == ["set"] and _actions(env, "modify_domain").count("get") == 3
    assert _changes(env, "setwebviewdomain") == ["set"]
    assert "Its domains are set too" in json.loads(last_run(env, "commit").message)["en"]
    page = _html(env.get("domains"))
    assert 'data-changes="1"' in page and "本月已修改 1 / 50 次" in page
    # a new domain is a change again: one more `set`, counted
    _settings(env, requestdomain="api.localhost shop.localhost")
    upload(env, "1.0.2")
    assert _changes(env) == ["set", "set"]
    assert "https://shop.localhost" in json.dumps(_sandbox_app(env))
    assert "本月已修改 2 / 50 次" in _html(env.get("domains"))


def test_the_51st_change_of_a_month_is_refused_before_wechat(code_env, make_user, login_as):
    env = code_env
    _spend_the_month(env)
    page = _html(env.get("domains"))
    assert "本月已修改 50 / 50 次" in page
    refused = env.post("domains/server", {"action": "add", "requestdomain": "b.localhost"}, follow_redirects=True)
    assert "本月已修改 50 / 50 次" in _html(refused) and "下月 1 日" in _html(refused)
    assert len(_changes(env)) == 50  # WeChat was not asked

    # an upload stands; its run says why the domains were not set
    _settings(env)
    upload(env, "2.0.0")
    run = last_run(env, "commit")
    assert run.state == "done", run.message
    english = json.loads(run.message)["en"]
    assert "Version 2.0.0 uploaded" in english and "Its domains could not be set" in english
    assert "50 / 50" in english
    # a submit that would change them is refused with the same words, before submit_audit
    env.api.advance(31)
    submit(env)
    run = last_run(env, "submit_audit")
    assert run.state == "failed" and "50 / 50" in json.loads(run.message)["en"]
    assert env.api.count("submit_audit", env.appid) == 0
    assert len(_changes(env)) == 50


def test_a_fleet_release_refuses_the_51st_change_for_that_app_only(code_env, make_user, login_as):
    from tests.fleet.conftest import FleetEnv, run_to_end, start

    env = code_env
    _spend_the_month(env)
    _settings(env)  # the tenant's domains now differ from what WeChat holds
    env.app.config.update(FLEET_BACKOFF_SECONDS=0.05, FLEET_PRIVACY_RECHECK_SECONDS=0.1, FLEET_QUOTA_TTL=0)
    fleet = FleetEnv(env.platform, env.client, make_user(role="staff", email="fleet@example.com"))
    release_id = start(fleet, env.template(), {"mode": "tenants", "tenant_ids": [env.tenant_id]},
                       auto_release=False, max_failure_rate=100)
    states = run_to_end(fleet, release_id)
    assert states == {env.appid: "failed"}, states
    with env.app.app_context():
        target = db.session.query(FleetTarget).filter_by(release_id=release_id).one()
        assert "50 / 50" in target.reason, target.reason
    assert len(_changes(env)) == 50 and env.api.count("submit_audit", env.appid) == 0


def test_wechat_86102_sets_the_count_to_the_limit(code_env):
    """Changes made elsewhere (the mini-program's own console) count too: when WeChat answers 86102 first, the
    portal takes the month as spent and says so."""
    env = code_env
    env.api.faults(endpoint="modify_domain", appid=env.appid, errcode=86102, count=1)
    refused = env.post("domains/server", {"action": "add", "requestdomain": "api.localhost"}, follow_redirects=True)
    assert "50 次" in _html(refused)
    assert "本月已修改 50 / 50 次" in _html(env.get("domains"))


def test_a_server_domain_with_a_port_round_trips(code_env):
    """modifyServerDomain: "可以配置端口,如 https://myserver.com:8080,但是配置后只能向 https://myserver.com:8080
    发起请求"; the port is part of the domain. setwebviewdomain: "业务域名中不能含有端口号"."""
    env = code_env
    assert env.post("domains/server", {"action": "set", "requestdomain": "https://api.localhost:8443/"}).status_code == 302
    assert _sandbox_app(env)["domains"]["third"]["requestdomain"] == ["https://api.localhost:8443"]
    assert "api.localhost:8443" in _html(env.get("domains"))
    for bad in ("api.localhost:0", "api.localhost:65536"):
        response = env.post("domains/server", {"action": "set", "requestdomain": bad})
        assert response.status_code == 400 and "1-65535" in _html(response)
    refused = env.post("domains/webview", {"action": "set", "webviewdomain": "www.localhost:8443"})
    assert refused.status_code == 400 and "端口" in _html(refused)
    # the parameters keep the port; the same host on the same port is no change, on another port it is
    assert env.post("params", {"requestdomain": "api.localhost:8443"}).status_code == 302
    env.template_id = env.template()
    upload(env, "3.0.0")
    assert _changes(env) == ["set"]
    assert env.post("params", {"requestdomain": "api.localhost:9443"}).status_code == 302
    upload(env, "3.0.1")
    assert _changes(env) == ["set", "set"]
    assert _sandbox_app(env)["domains"]["third"]["requestdomain"] == ["https://api.localhost:9443"]
    assert env.post("params", {"webviewdomain": "www.localhost:8443"}).status_code == 400


def test_domains_wechat_drops_are_named_not_swallowed(code_env):
    """modify_domain keeps only the platform's registered server domains and lists the rest as invalid_*:
    the portal names them (after an upload, as a note; before a submission, as the reason it stops)."""
    env = code_env
    _settings(env, requestdomain="api.localhost shop.elsewhere.example")
    upload(env, "1.0.0")
    note = json.loads(last_run(env, "commit").message)
    assert "shop.elsewhere.example" in note["en"] and "shop.elsewhere.example" in note["zh"]
    assert "Version 1.0.0 uploaded" in note["en"]  # the upload stands
    assert _changes(env) == ["set"]
    env.api.advance(31)
    submit(env)
    run = last_run(env, "submit_audit")
    assert run.state == "failed" and "shop.elsewhere.example" in json.loads(run.message)["zh"]
    assert env.api.count("submit_audit") == 0
    refused = env.post("domains/server", {"action": "add", "requestdomain": "cdn.localhost cdn.elsewhere.example"},
                       follow_redirects=True)
    assert "cdn.elsewhere.example" in _html(refused)
