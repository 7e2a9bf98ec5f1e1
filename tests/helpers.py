"""Helpers shared by tests that drive the authorization flow and tokens through the sandbox."""

import re
from urllib.parse import urlsplit

import requests


def start_authorization(client, target="pc"):
    """The merchant clicks a button of the authorize page: the POST that creates a pre-auth code."""
    html = client.get("/authorization/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post("/authorization/start", data={"csrf_token": token, "target": target})


def pc_authorization_url(client):
    """WeChat's authorization page for a computer, where the click on "go to WeChat authorization" leads."""
    response = start_authorization(client)
    assert response.status_code == 303, response.status_code
    return response.location


def confirm_on_wechat_page(pc_url, appid):
    """What the administrator does on WeChat's page: pick the mini-program and confirm. Returns the 302."""
    page = requests.get(pc_url, timeout=10)
    assert page.status_code == 200, page.text
    form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    action = requests.compat.urljoin(pc_url, form.group(1).replace("&amp;", "&"))
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    fields.update({"authorizer_appid": appid, "appid": appid, "action": "confirm", "confirm": "1"})
    return requests.post(action, data=fields, allow_redirects=False, timeout=10)


def follow_back(client, wechat_redirect, **kwargs):
    """The browser following WeChat's redirect back to the portal."""
    target = urlsplit(wechat_redirect.headers["Location"])
    return client.get(target.path + "?" + target.query, **kwargs)


def authorize_in_browser(client, appid):
    return follow_back(client, confirm_on_wechat_page(pc_authorization_url(client), appid), follow_redirects=True)


def merchant_client(platform, make_tenant, make_user, login_as, name="Noodle Shop", email="owner@example.com"):
    tenant_id = make_tenant(name)
    make_user(tenant_id=tenant_id, email=email)
    client = platform.client()
    assert login_as(email, test_client=client).status_code == 302
    return tenant_id, client


def staff_client(platform, make_user, login_as, email="ops@example.com"):
    """A test client of `platform`'s app logged in as a new staff member."""
    make_user(role="staff", email=email)
    client = platform.client()
    assert login_as(email, test_client=client).status_code == 302
    return client


def drop_cached_tokens(app):
    redis = app.extensions.get("redis")
    if redis is not None:
        for key in redis.scan_iter("wxtok:*"):
            redis.delete(key)
