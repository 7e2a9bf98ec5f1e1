"""Demo data: a component (credentials from arguments or environment, never built in) plus a handful of
mini-programs with names, avatars, categories and a couple of templates, so a new user can click through
authorization, commit, audit and release without setting anything up.
"""

from __future__ import annotations

import os

from . import library, registry
from .model import OFFICIAL_ACCOUNT

ENV_NAMES = {  # option -> environment variables tried in order
    "component_appid": ("SANDBOX_DEMO_COMPONENT_APPID", "WECHAT_COMPONENT_APPID"),
    "component_appsecret": ("SANDBOX_DEMO_COMPONENT_SECRET", "WECHAT_COMPONENT_SECRET",
                            "WECHAT_COMPONENT_APPSECRET"),
    "token": ("SANDBOX_DEMO_TOKEN", "WECHAT_COMPONENT_TOKEN"),
    "encoding_aes_key": ("SANDBOX_DEMO_AES_KEY", "WECHAT_COMPONENT_AES_KEY", "WECHAT_COMPONENT_ENCODING_AES_KEY"),
    "auth_event_url": ("SANDBOX_DEMO_AUTH_EVENT_URL",),
    "message_url": ("SANDBOX_DEMO_MESSAGE_URL",),
    "authorized_domains": ("SANDBOX_DEMO_DOMAINS",),
    "server_domains": ("SANDBOX_DEMO_SERVER_DOMAINS",),
    "webview_domains": ("SANDBOX_DEMO_SERVER_DOMAINS",),
}
LIST_OPTIONS = {"authorized_domains", "server_domains", "webview_domains"}
# What a merchant types on the Domains tab of the demo: WeChat refuses IP addresses as server domains, so
# the demo platform registers a name that resolves to this machine (RFC 6761) and its subdomains.
DEMO_SERVER_DOMAINS = ["demo.localhost"]

DEMO_ACCOUNTS = [
    {"nick_name": "花间咖啡 Blossom Café", "principal_name": "花间餐饮管理有限公司",
     "categories": [{"first_id": 220, "first_class": "餐饮", "second_id": 221, "second_class": "餐饮服务场所/餐饮服务管理企业"}]},
    {"nick_name": "山野书店 Hillside Books", "principal_name": "山野文化传播有限公司",
     "categories": [{"first_id": 304, "first_class": "商家自营", "second_id": 325, "second_class": "图书报刊/音像/影视/游戏/动漫"}]},
    {"nick_name": "晨跑健身 Morning Run Gym", "principal_name": "晨跑体育发展有限公司",
     "categories": [{"first_id": 567, "first_class": "体育", "second_id": 568, "second_class": "体育场馆服务"}]},
    {"nick_name": "小满花店 Xiaoman Florist", "principal_name": "小满花卉有限公司",
     "categories": [{"first_id": 304, "first_class": "商家自营", "second_id": 786, "second_class": "鲜花/园艺/工艺品"}]},
    {"nick_name": "云朵洗衣 Cloud Laundry", "principal_name": "云朵生活服务有限公司",
     "categories": [{"first_id": 150, "first_class": "生活服务", "second_id": 627, "second_class": "洗浴保洁"}]},
]
DEMO_PAGES = ["pages/index/index", "pages/menu/menu", "pages/order/order", "pages/me/me"]


def component_from_env(overrides: dict | None = None) -> dict:
    spec = {}
    for option, names in ENV_NAMES.items():
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if value is not None:
            spec[option] = value.split(",") if option in LIST_OPTIONS else value
    spec.update({k: v for k, v in (overrides or {}).items() if v not in (None, "", [])})
    return spec


def install_demo(sb, component_spec: dict | None = None) -> dict:
    """Create demo accounts, and the demo component if its credentials were given.

    Idempotent: a sandbox started again on its state file keeps the accounts, authorizations and templates
    it has (found by name and version) instead of adding a second set; the component's settings are renewed."""
    spec = component_from_env(component_spec)
    accounts = [dict(a) for a in DEMO_ACCOUNTS]
    accounts.append({"nick_name": "花间咖啡服务号 (公众号 OA)", "account_type": OFFICIAL_ACCOUNT})
    appids = [_existing_account(sb, a["nick_name"]) or registry.create_account(sb, a).appid for a in accounts]
    result = {"accounts": appids, "component_appid": None}
    if all(spec.get(k) for k in registry.COMPONENT_FIELDS):
        spec.setdefault("name", "Demo Platform 演示第三方平台")
        spec.setdefault("authorized_domains", ["localhost", "127.0.0.1"])
        spec.setdefault("server_domains", DEMO_SERVER_DOMAINS)
        spec.setdefault("webview_domains", DEMO_SERVER_DOMAINS)
        component = registry.register_component(sb, spec)
        registry.push_ticket(sb, component.component_appid)
        _install_library(sb, component.component_appid)
        result["component_appid"] = component.component_appid
    return result


def _existing_account(sb, nick_name: str) -> str | None:
    return next((a.appid for a in sb.state.accounts.values() if a.nick_name == nick_name), None)


def _install_library(sb, component_appid: str) -> None:
    versions = {t["user_version"] for t in library.template_list(sb, component_appid)}
    versions |= {d["user_version"] for d in library.draft_list(sb, component_appid)}
    for version, desc in (("1.0.0", "首个版本 first version"), ("1.1.0", "新增会员页 member page")):
        if version not in versions:
            library.add_template_directly(sb, {"component_appid": component_appid, "user_version": version,
                                               "user_desc": desc, "pages": DEMO_PAGES,
                                               "privacy_keys": ["UserInfo"]})
    if "1.2.0" not in versions:
        library.add_draft(sb, {"component_appid": component_appid, "user_version": "1.2.0",
                               "user_desc": "草稿 draft from the IDE", "pages": DEMO_PAGES})
