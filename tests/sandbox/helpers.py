"""Shared helpers for the sandbox tests (imported by test modules; fixtures live in conftest)."""

import json
import secrets
import string

PRIVACY = {"privacy_ver": 2,
           "owner_setting": {"contact_email": "dev@example.com", "notice_method": "弹窗"},
           "setting_list": [{"privacy_key": "UserInfo", "privacy_text": "用于登录"}]}


def add_template(api, platform, **fields) -> int:
    spec = {"component_appid": platform.appid, "user_version": "1.0.0", "user_desc": "first",
            "pages": ["pages/index/index", "pages/shop/shop", "pages/me/me"], **fields}
    return api.call("/sandbox/templates", spec)["template_id"]


def commit(api, access, template_id, ext=None, version="1.0.0", **extra):
    body = {"template_id": template_id, "user_version": version, "user_desc": "desc",
            "ext_json": json.dumps(ext if ext is not None else {}), **extra}
    return api.call("/wxa/commit", body, access_token=access)


def committed_and_scanned(api, platform, access, **template_fields) -> int:
    template_id = add_template(api, platform, **template_fields)
    assert commit(api, access, template_id)["errcode"] == 0
    api.advance(31)
    return template_id


def submit(api, access, **body):
    return api.call("/wxa/submit_audit", {"item_list": [], **body}, access_token=access)


def random_key(n=43) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))
