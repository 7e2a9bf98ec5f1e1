"""Server and business (web-view) domains of a mini-program.

The platform picks one strategy in config (`WECHAT_DOMAIN_STRATEGY`): "platform" uses modify_domain /
setwebviewdomain (domains registered on the platform first), "direct" uses the *_directly APIs. WeChat
asks platforms never to mix them, so nothing here lets a page choose. People type hostnames; the scheme
WeChat wants for each kind (https, wss, udp, tcp) is added here, and IPs, ports, paths and WeChat's own
API host are refused before any call.
"""

import ipaddress
import re

from flask import current_app
from flask_babel import gettext as _

from portal.errors import ValidationFailed
from portal.services.miniprograms import api, done, wechat_errors

SCHEMES = {"requestdomain": "https", "wsrequestdomain": "wss", "uploaddomain": "https", "downloaddomain": "https",
           "udpdomain": "udp", "tcpdomain": "tcp"}
SERVER_KINDS = tuple(SCHEMES)
WEBVIEW = "webviewdomain"
FORBIDDEN = {"api.weixin.qq.com"}
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def strategy():
    return "direct" if current_app.config.get("WECHAT_DOMAIN_STRATEGY") == "direct" else "platform"


def clean_host(value):
    """A bare lowercase hostname from what a person typed (a scheme they typed is dropped), or raise."""
    text = (value or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).rstrip("/")
    if not text:
        return None
    try:
        ipaddress.ip_address(text.strip("[]"))
        raise ValidationFailed(_("“%(v)s” is an IP address; WeChat accepts only domain names.", v=value))
    except ValueError:
        pass
    if not HOST.match(text):
        raise ValidationFailed(_("“%(v)s” is not a domain name (no port, path or spaces).", v=value))
    if text in FORBIDDEN:
        raise ValidationFailed(_("“%(v)s” is WeChat's own API host and cannot be a mini-program domain.", v=value))
    return text


def parse_hosts(text):
    """Hostnames separated by spaces, commas, semicolons or new lines, cleaned and deduplicated."""
    hosts = [clean_host(v) for v in re.split(r"[\s,;]+", text or "")]
    return list(dict.fromkeys(h for h in hosts if h))


def with_scheme(kind, hosts):
    scheme = SCHEMES.get(kind, "https")
    return [f"{scheme}://{h}" for h in hosts]


def strip_scheme(values):
    return [re.sub(r"^[a-z]+://", "", v) for v in values or ()]


def current_domains(mp):
    """Server domains, business domains and what is effective now (get_effective_domain)."""
    wxa = api(mp).domains
    with wechat_errors():
        if strategy() == "direct":
            server, webview = wxa.modify_domain_directly("get"), wxa.set_webview_domain_directly("get")
        else:
            server, webview = wxa.modify_domain("get"), wxa.set_webview_domain("get")
        effective = wxa.get_effective_domain().get("effective_domain") or {}
    return {"server": {k: strip_scheme(server.get(k)) for k in SERVER_KINDS},
            "webview": strip_scheme(webview.get(WEBVIEW)),
            "effective": {k: strip_scheme(effective.get(k)) for k in SERVER_KINDS}, "strategy": strategy()}


def change_server_domains(mp, actor, action, hosts_by_kind, log=True):
    """add/delete/set server domains (modify_domain or modify_domain_directly).

    :raise ValidationFailed: bad input. :raise WeChatFailed: e.g. 85017 (not registered on the platform).
    """
    if action not in ("add", "delete", "set"):
        raise ValidationFailed(_("Unknown action."))
    lists = {k: with_scheme(k, hosts_by_kind.get(k) or []) for k in SERVER_KINDS}
    if action != "set" and not any(lists.values()):
        raise ValidationFailed(_("Enter at least one domain."))
    wxa = api(mp).domains
    call = wxa.modify_domain_directly if strategy() == "direct" else wxa.modify_domain
    with wechat_errors("domains.server" if log else None, mp, actor):
        call(action, **lists)
    if log:
        done("domains.server", mp, actor, f"{action} {sum(len(v) for v in lists.values())} domain(s) ({strategy()})")


def change_webview_domains(mp, actor, action, hosts, log=True):
    """add/delete/set business domains (setwebviewdomain or setwebviewdomain_directly)."""
    if action not in ("add", "delete", "set"):
        raise ValidationFailed(_("Unknown action."))
    if action != "set" and not hosts:
        raise ValidationFailed(_("Enter at least one domain."))
    wxa = api(mp).domains
    call = wxa.set_webview_domain_directly if strategy() == "direct" else wxa.set_webview_domain
    with wechat_errors("domains.webview" if log else None, mp, actor):
        call(action, with_scheme(WEBVIEW, hosts))
    if log:
        done("domains.webview", mp, actor, f"{action} {', '.join(hosts)}")
