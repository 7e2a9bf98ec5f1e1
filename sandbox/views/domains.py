"""Domain and tester endpoints (authorizer token): modify_domain, modify_domain_directly,
get_effective_domain, setwebviewdomain(_directly), get_webviewdomain_confirmfile,
get_effective_webviewdomain, bind_tester, unbind_tester and memberauth.

``modify_domain`` only accepts domains on the platform's registered server domains (others are filtered
into ``invalid_*``; 85017 when nothing is left), ``modify_domain_directly`` skips that check, as WeChat's
two strategies do. Web-view domains must be platform business domains (89021).

Server domains may carry a port (1-65535) and are compared with it; business domains may not ("业务域名中不能
含有端口号"). Both modify_domain APIs allow 50 change requests (add/delete/set; ``get`` is a read) per
mini-program per calendar month, Beijing time, of the sandbox clock; the 51st answers 86102.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import urlsplit

from flask import Blueprint

from .. import commits
from ..clock import beijing_month
from ..errors import ApiError
from ..model import DOMAIN_KINDS
from .api import AUTHORIZER, api_route

bp = Blueprint("domains", __name__)
SCHEMES = {"requestdomain": "https", "wsrequestdomain": "wss", "uploaddomain": "https",
           "downloaddomain": "https", "udpdomain": "udp", "tcpdomain": "tcp"}
FORBIDDEN_HOSTS = {"api.weixin.qq.com"}
WECHAT_ID = re.compile(r"^[a-zA-Z][-_a-zA-Z0-9]{5,19}$")
MAX_PER_KIND, MAX_TESTERS = 200, 15
MONTHLY_CHANGES = 50  # "每月可提交修改申请50次" (modifyServerDomain)


def _host_on(host: str, domains: list) -> bool:
    return any(host == d or host.endswith("." + d) for d in (x.lower() for x in domains))


def _port_ok(parts, port_allowed: bool) -> bool:
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        return False
    return port is None or (port_allowed and 1 <= port <= 65535)


def _is_valid(kind: str, value, platform_domains: list | None, port_allowed: bool = True) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme != SCHEMES[kind] or not host or host in FORBIDDEN_HOSTS or not _port_ok(parts, port_allowed):
        return False
    try:
        ipaddress.ip_address(host)
        return False  # WeChat refuses IP addresses
    except ValueError:
        pass
    return platform_domains is None or _host_on(host, platform_domains)


def _change_domains(call, source: str, platform_domains: list | None) -> dict:
    account = commits.require_miniprogram(call.sb, call)
    body = call.require("action")  # 必填 on both modify_domain pages
    action = body["action"]
    current = account.domains.setdefault(source, {kind: [] for kind in DOMAIN_KINDS})
    if action == "get":
        return {kind: list(current.get(kind, [])) for kind in DOMAIN_KINDS}
    if action not in ("add", "delete", "set"):
        raise ApiError(40097)
    month = beijing_month(call.sb.now())
    if account.domain_changes.get(month, 0) >= MONTHLY_CHANGES:
        raise ApiError(86102)
    given = {kind: body.get(kind) or [] for kind in DOMAIN_KINDS}
    if not all(isinstance(v, list) for v in given.values()):
        raise ApiError(47001)
    valid = {k: [v for v in vs if _is_valid(k, v, platform_domains)] for k, vs in given.items()}
    invalid = {f"invalid_{k}": [v for v in vs if v not in valid[k]] for k, vs in given.items()}
    if action in ("add", "set") and any(given.values()) and not any(valid.values()):
        raise ApiError(85017)
    for kind in DOMAIN_KINDS:
        old = current.get(kind, [])
        if action == "add":
            new = old + [v for v in valid[kind] if v not in old]
        elif action == "delete":
            new = [v for v in old if v not in given[kind]]
        else:
            new = list(dict.fromkeys(valid[kind]))
        if len(new) > MAX_PER_KIND:
            raise ApiError(85016)
        current[kind] = new
    account.domain_changes[month] = account.domain_changes.get(month, 0) + 1
    call.sb.state.dirty = True
    result = {kind: list(current[kind]) for kind in DOMAIN_KINDS}
    result.update({k: v for k, v in invalid.items() if v})
    return result


@api_route(bp, "/wxa/modify_domain", "modify_domain", AUTHORIZER)
def modify_domain(call):
    component = call.sb.state.components[call.component_appid]
    return _change_domains(call, "third", component.server_domains)


@api_route(bp, "/wxa/modify_domain_directly", "modify_domain_directly", AUTHORIZER)
def modify_domain_directly(call):
    return _change_domains(call, "direct", None)


@api_route(bp, "/wxa/get_effective_domain", "get_effective_domain", AUTHORIZER)
def get_effective_domain(call):
    account = commits.require_miniprogram(call.sb, call)

    def lists(source):
        stored = account.domains.get(source, {})
        return {kind: list(stored.get(kind, [])) for kind in DOMAIN_KINDS}

    return {"mp_domain": lists("mp"), "third_domain": lists("third"), "direct_domain": lists("direct"),
            "effective_domain": account.effective_domains()}


def _change_webview(call, source: str, platform_domains: list | None) -> dict:
    """setwebviewdomain may omit ``action`` (``platform_domains`` then all get added); _directly may not."""
    account = commits.require_miniprogram(call.sb, call)
    body = call.body if platform_domains is not None else call.require("action")
    action = body.get("action")
    current = account.webview_domains.setdefault(source, [])
    if action is None:
        # "如果没有指定 action，则默认将第三方平台登记的小程序业务域名全部添加到该小程序"
        added = [d if "://" in d else "https://" + d for d in platform_domains]
        account.webview_domains[source] = current + [d for d in dict.fromkeys(added) if d not in current]
        call.sb.state.dirty = True
        return {"webviewdomain": list(account.webview_domains[source])}
    if action == "get":
        return {"webviewdomain": list(current)}
    given = body.get("webviewdomain") or []
    if action not in ("add", "delete", "set") or not isinstance(given, list):
        raise ApiError(40097)
    if action != "delete" and not all(_is_valid("requestdomain", v, platform_domains, port_allowed=False)
                                      for v in given):
        raise ApiError(89021)
    if action == "add":
        new = current + [v for v in given if v not in current]
    elif action == "delete":
        new = [v for v in current if v not in given]
    else:
        new = list(dict.fromkeys(given))
    if action == "add" and new == current:
        raise ApiError(89019)
    account.webview_domains[source] = new
    call.sb.state.dirty = True
    return {"webviewdomain": list(new)}


@api_route(bp, "/wxa/setwebviewdomain", "setwebviewdomain", AUTHORIZER)
def setwebviewdomain(call):
    return _change_webview(call, "third", call.sb.state.components[call.component_appid].webview_domains)


@api_route(bp, "/wxa/setwebviewdomain_directly", "setwebviewdomain_directly", AUTHORIZER)
def setwebviewdomain_directly(call):
    # WeChat checks that the confirm file is served at each domain's root; the sandbox cannot reach the
    # domains, so it trusts the caller here.
    return _change_webview(call, "direct", None)


@api_route(bp, "/wxa/get_webviewdomain_confirmfile", "get_webviewdomain_confirmfile", AUTHORIZER)
def get_webviewdomain_confirmfile(call):
    account = commits.require_miniprogram(call.sb, call)
    digest = hashlib.sha256(f"confirm:{account.appid}".encode()).hexdigest()
    return {"file_name": f"{digest[:10]}.txt", "file_content": digest[10:42]}


@api_route(bp, "/wxa/get_effective_webviewdomain", "get_effective_webviewdomain", AUTHORIZER)
def get_effective_webviewdomain(call):
    account = commits.require_miniprogram(call.sb, call)
    stored = account.webview_domains
    return {"mp_webviewdomain": list(stored.get("mp", [])), "third_webviewdomain": list(stored.get("third", [])),
            "direct_webviewdomain": list(stored.get("direct", [])),
            "effective_webviewdomain": account.effective_webview_domains()}


def userstr_for(appid: str, wechatid: str) -> str:
    return hashlib.sha256(f"{appid}:{wechatid}".encode()).hexdigest()[:32]


@api_route(bp, "/wxa/bind_tester", "bind_tester", AUTHORIZER)
def bind_tester(call):
    account = commits.require_miniprogram(call.sb, call)
    wechatid = call.body.get("wechatid")
    # Shape check stands in for "WeChat ID not found"; ids starting with "unknown" never exist.
    if not isinstance(wechatid, str) or not WECHAT_ID.match(wechatid) or wechatid.startswith("unknown"):
        raise ApiError(85001)
    userstr = userstr_for(account.appid, wechatid)
    if userstr in account.testers:
        raise ApiError(85004)
    if len(account.testers) >= MAX_TESTERS:
        raise ApiError(85002)
    account.testers[userstr] = wechatid
    call.sb.state.dirty = True
    return {"userstr": userstr}


@api_route(bp, "/wxa/unbind_tester", "unbind_tester", AUTHORIZER)
def unbind_tester(call):
    account = commits.require_miniprogram(call.sb, call)
    body = call.body
    userstr = body.get("userstr") or (userstr_for(account.appid, body["wechatid"])
                                      if isinstance(body.get("wechatid"), str) else None)
    if not userstr:
        raise ApiError(40097)
    account.testers.pop(userstr, None)
    call.sb.state.dirty = True
    return {}


@api_route(bp, "/wxa/memberauth", "memberauth", AUTHORIZER)
def memberauth(call):
    account = commits.require_miniprogram(call.sb, call)
    if call.body.get("action") != "get_experiencer":
        raise ApiError(40097)
    return {"members": [{"userstr": u} for u in account.testers]}
