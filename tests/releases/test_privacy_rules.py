"""What WeChat's docs say about ext_json and privacy, through the portal's pages and jobs against the sandbox:
a standard template takes only extAppid/ext/window, `privacy_api_not_use` is about location APIs (never the
privacy guideline), and the privacy scan names location APIs."""

import json
import re

from portal.extensions import db
from portal.models import CodeCommit, MiniProgram
from tests.releases.test_pipeline import _html, _settings, audits, last_run, submit, upload

LOCATION_NOTE = re.compile(r'<p class="error location-note">(.*?)</p>', re.S)


def _commits(env):
    with env.app.app_context():
        return [json.loads(c.ext_json) for c in db.session.query(CodeCommit).order_by(CodeCommit.id)]


def _uploaded_and_scanned(env, **template_fields):
    env.template_id = env.template(**template_fields)
    upload(env)
    assert last_run(env).state == "done", last_run(env).message
    env.api.advance(31)  # the privacy scan finishes


def test_standard_template_upload_sends_only_extappid_and_ext(code_env):
    """Commit doc: a standard template's ext_json supports only extAppid, ext and window (9402203 otherwise).
    The tenant's requiredPrivateInfos cannot go with it: the upload says so."""
    env = code_env
    _settings(env, required_private_infos="getLocation")
    standard = env.template(template_type=1)
    assert re.search(rf"{standard} · 1\.0\.0 · shop · 标准模板", _html(env.get("code")))
    upload(env, "1.0.0", template_id=standard)
    run = last_run(env)
    assert run.state == "done", run.message
    assert "requiredPrivateInfos（getLocation）未发送" in run.message
    upload(env, "1.0.1")  # a normal template still carries both
    assert last_run(env).state == "done" and "未发送" not in last_run(env).message
    assert _commits(env) == [
        {"extAppid": env.appid, "ext": {"shopId": "42", "theme": "red"}},
        {"extEnable": True, "extAppid": env.appid, "ext": {"shopId": "42", "theme": "red"},
         "requiredPrivateInfos": ["getLocation"]}]
    assert env.api.count("commit", env.appid, errcode=0) == 2


def test_incomplete_guideline_is_refused_even_when_declared_unused(code_env):
    """privacy_api_not_use is about location APIs: a guideline without a text for a key the code uses is
    still not submitted (WeChat's reviewers would reject it), whatever the box says."""
    env = code_env
    _settings(env, privacy_texts="UserInfo=展示头像")
    _uploaded_and_scanned(env, privacy_keys=["UserInfo", "Album"])
    submit(env, privacy_api_not_use="y")
    run = last_run(env)
    assert run.state == "failed" and "Album" in run.message and "驳回" in run.message
    assert env.api.count("submit_audit", env.appid) == 0 and audits(env) == []


def test_undeclared_location_api_is_explained_and_may_be_declared_unused(code_env):
    """getCodePrivacyInfo lists API names; submit_audit's 61040 names them and says what to do; the box
    declares an undeclared location API unused."""
    env = code_env
    _settings(env, privacy_texts="UserInfo=展示头像")
    _uploaded_and_scanned(env, privacy_keys=["UserInfo"], location_apis=["getLocation"])
    notes = LOCATION_NOTE.findall(_html(env.get("privacy")))
    assert len(notes) == 2 and all("wx.getLocation" in n and "UserInfo" not in n for n in notes)
    submit(env)
    run = last_run(env)
    assert run.state == "failed" and run.errcode == 61040, run.message
    assert "wx.getLocation" in run.message and "requiredPrivateInfos" in run.message and audits(env) == []
    submit(env, privacy_api_not_use="y")
    assert last_run(env).state == "done", last_run(env).message
    assert len(audits(env)) == 1


def test_declared_location_api_needs_the_permission(code_env):
    """A location API declared in requiredPrivateInfos without permission is refused, even when declared
    unused; the same upload goes through for a mini-program that has the permission."""
    env = code_env
    _settings(env, privacy_texts="UserInfo=展示头像", required_private_infos="getLocation")
    _uploaded_and_scanned(env, privacy_keys=["UserInfo"], location_apis=["getLocation"])
    submit(env, privacy_api_not_use="y")
    run = last_run(env)
    assert run.state == "failed" and run.errcode == 61040 and "没有以下接口的权限：wx.getLocation" in run.message
    env.appid = env.platform.authorized_app(env.tenant_id, location_permissions=["wx.getLocation"])
    with env.app.app_context():
        env.mp_id = MiniProgram.query.filter_by(authorizer_appid=env.appid).one().id
    upload(env)
    env.api.advance(31)
    assert 'id="location-clean"' in _html(env.get("privacy"))
    submit(env)
    assert last_run(env).state == "done", last_run(env).message
    assert len(audits(env)) == 1
