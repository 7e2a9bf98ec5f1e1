"""Server and business (web-view) domains of a mini-program.

The platform picks one strategy in config (`WECHAT_DOMAIN_STRATEGY`): "platform" uses modify_domain /
setwebviewdomain (domains registered on the platform first), "direct" uses the *_directly APIs. WeChat
asks platforms never to mix them, so nothing here lets a page choose. People type hostnames; the scheme
WeChat wants for each kind (https, wss, udp, tcp) is added here, and IPs, paths and WeChat's own API host
are refused before any call. A server domain may carry a port (`a.example.com:8443`); WeChat then allows
requests to that port only, so hosts are compared with their port. Business domains may not carry one.

WeChat allows 50 server-domain change requests per mini-program per calendar month: each one sent is counted
(Beijing time) and the 51st is refused here, before WeChat refuses it with 86102.
"""

import ipaddress
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, update

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.models import MiniProgram
from portal.services import wechat_reads
from portal.services.wechat import api, done, wechat_errors
from portal.timeutil import beijing_month, utcnow
from portal.wechat.errors import DomainChangesSpent

SCHEMES = {"requestdomain": "https", "wsrequestdomain": "wss", "uploaddomain": "https", "downloaddomain": "https",
           "udpdomain": "udp", "tcpdomain": "tcp"}
SERVER_KINDS = tuple(SCHEMES)
WEBVIEW = "webviewdomain"
FORBIDDEN = {"api.weixin.qq.com"}
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PORT = re.compile(r"^(.*):([0-9]{1,5})$")
# "每月可提交修改申请50次" (modifyServerDomain): per mini-program and calendar month.
MONTHLY_CHANGES = 50


def strategy():
    return "direct" if current_app.config.get("WECHAT_DOMAIN_STRATEGY") == "direct" else "platform"


def clean_host(value, port_allowed=True):
    """A bare lowercase hostname, with its port when one is given and allowed, from what a person typed (a
    scheme they typed is dropped), or raise."""
    text = (value or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).rstrip("/")
    if not text:
        return None
    host, port = (text, None) if _is_ip(text) else _split_port(text, value, port_allowed)
    if _is_ip(host):
        raise ValidationFailed(_("“%(v)s” is an IP address; WeChat accepts only domain names.", v=value))
    if not HOST.match(host):
        raise ValidationFailed(_("“%(v)s” is not a domain name (no path or spaces).", v=value))
    if host in FORBIDDEN:
        raise ValidationFailed(_("“%(v)s” is WeChat's own API host and cannot be a mini-program domain.", v=value))
    return f"{host}:{port}" if port else host


def _is_ip(text):
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _split_port(text, value, port_allowed):
    match = PORT.match(text)
    if not match:
        return text, None
    if not port_allowed:
        raise ValidationFailed(_("“%(v)s” has a port; business domains cannot have one.", v=value))
    if not 1 <= int(match.group(2)) <= 65535:
        raise ValidationFailed(_("“%(v)s” has a port outside 1-65535.", v=value))
    return match.group(1), int(match.group(2))


def parse_hosts(text, port_allowed=True):
    """Hostnames separated by spaces, commas, semicolons or new lines, cleaned and deduplicated; a port is
    refused when `port_allowed` is false (business domains)."""
    hosts = [clean_host(v, port_allowed) for v in re.split(r"[\s,;]+", text or "")]
    return list(dict.fromkeys(h for h in hosts if h))


def parse_kind(kind, text):
    """parse_hosts for one kind of domain: server kinds may carry a port, business domains not."""
    return parse_hosts(text, port_allowed=kind != WEBVIEW)


def with_scheme(kind, hosts):
    scheme = SCHEMES.get(kind, "https")
    return [f"{scheme}://{h}" for h in hosts]


def strip_scheme(values):
    return [re.sub(r"^[a-z]+://", "", v) for v in values or ()]


def current_domains(mp):
    """Server domains, business domains and what is effective now (get_effective_domain), as of `as_of`
    (kept a short while: `wechat_reads`)."""
    def fetch():
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

    current, as_of = wechat_reads.read(mp, wechat_reads.DOMAINS, fetch)
    return {**current, "as_of": as_of}


def change_server_domains(mp, actor, action, hosts_by_kind, log=True):
    """add/delete/set server domains (modify_domain or modify_domain_directly); counts the change.

    :raise ValidationFailed: bad input, this month's 50 changes are used, or WeChat dropped domains not
    registered on the platform (the others are set). :raise WeChatFailed: e.g. 85017
    (not registered on the platform), 86102 (WeChat counts the month's changes as used: we record that).
    """
    if action not in ("add", "delete", "set"):
        raise ValidationFailed(_("Unknown action."))
    lists = {k: with_scheme(k, hosts_by_kind.get(k) or []) for k in SERVER_KINDS}
    if action != "set" and not any(lists.values()):
        raise ValidationFailed(_("Enter at least one domain."))
    check_allowance(mp)
    wxa = api(mp).domains
    call = wxa.modify_domain_directly if strategy() == "direct" else wxa.modify_domain
    try:
        with wechat_errors("domains.server" if log else None, mp, actor):
            try:
                answer = call(action, **lists)
            except DomainChangesSpent:  # changes made elsewhere (the mp console) count too
                _count_change(mp, spent=True)
                raise
    finally:  # even a refused change may have set some (a transport error after WeChat acted)
        wechat_reads.forget(mp, wechat_reads.DOMAINS)
    _count_change(mp)
    if log:
        done("domains.server", mp, actor, f"{action} {sum(len(v) for v in lists.values())} domain(s) ({strategy()})")
    _refuse_dropped(answer)


def _refuse_dropped(answer):
    """modify_domain keeps only domains registered on the platform and lists the others as `invalid_*`: say so,
    or the app would quietly lack them (and every later comparison would differ and spend another change).

    :raise ValidationFailed: naming the dropped domains."""
    dropped = sorted({v for key, values in (answer or {}).items() if key.startswith("invalid_")
                      for v in values or () if isinstance(v, str)})
    if dropped:
        raise ValidationFailed(_("WeChat set the other server domains but dropped %(hosts)s: they are not among the "
                                 "platform's registered server domains. Register them in the open platform's "
                                 "development settings, or remove them from the parameters.",
                                 hosts=", ".join(dropped)))


def _month():
    return beijing_month(utcnow())  # WeChat's months are Beijing time


def changes_this_month(mp):
    """Server-domain change requests the portal sent for `mp` this calendar month (Beijing time)."""
    return mp.domain_changes if mp.domain_changes_month == _month() else 0


def check_allowance(mp):
    """:raise ValidationFailed: the month's MONTHLY_CHANGES are used, so WeChat would refuse (86102)."""
    used = changes_this_month(mp)
    if used >= MONTHLY_CHANGES:
        raise ValidationFailed(_("The server domains were not changed: WeChat allows %(limit)s changes a month and "
                                 "this mini-program has used them (%(used)s / %(limit)s). They can be changed "
                                 "again from the 1st of next month (Beijing time).", used=used, limit=MONTHLY_CHANGES))


def _count_change(mp, spent=False):
    """One more change this month (or all of them, when WeChat says so), in one UPDATE so that two workers
    changing the same app never lose a count; committed at once, since the change happened on WeChat."""
    month, column = _month(), MiniProgram.domain_changes
    value = MONTHLY_CHANGES if spent else case((MiniProgram.domain_changes_month == month, column + 1), else_=1)
    # MySQL applies SET items left to right: the count must be computed before the month is overwritten.
    db.session.execute(update(MiniProgram).where(MiniProgram.id == mp.id)
                       .ordered_values((column, value), (MiniProgram.domain_changes_month, month))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def sync_domains(mp, actor, server, webview, log=True, before_calls=None):
    """Make WeChat hold these domains, sending `set` only where they differ: server domains ({kind:
    [hosts]}, every kind; skipped when all are empty) and business domains ([hosts]; skipped when empty).
    What WeChat holds is read with action=get of the same API (modify_domain / setwebviewdomain, or the
    *_directly ones), since that is the list `set` replaces; get_effective_domain would mix in the app's own.
    `before_calls(n)` is told of each call first (the fleet's rate limiter). Returns how many `set`s were sent.

    :raise ValidationFailed: this month's server-domain changes are used. :raise WeChatFailed.
    """
    wxa, direct, sent = api(mp).domains, strategy() == "direct", 0
    tell = before_calls or (lambda n: None)
    if any(server.values()):
        tell(1)
        with wechat_errors():
            held = (wxa.modify_domain_directly if direct else wxa.modify_domain)("get")
        if not all(_same(with_scheme(k, server.get(k) or []), held.get(k)) for k in SERVER_KINDS):
            tell(1)
            change_server_domains(mp, actor, "set", server, log=log)
            sent += 1
    if webview:
        tell(1)
        with wechat_errors():
            held = (wxa.set_webview_domain_directly if direct else wxa.set_webview_domain)("get")
        if not _same(with_scheme(WEBVIEW, webview), held.get(WEBVIEW)):
            tell(1)
            change_webview_domains(mp, actor, "set", webview, log=log)
            sent += 1
    return sent


def _same(wanted, held):
    """Two lists of domain URLs name the same domains (order, case, a trailing "/" aside; port included)."""
    def norm(values):
        return {v.strip().lower().rstrip("/") for v in values or () if isinstance(v, str)}
    return norm(wanted) == norm(held)


def change_webview_domains(mp, actor, action, hosts, log=True):
    """add/delete/set business domains (setwebviewdomain or setwebviewdomain_directly)."""
    if action not in ("add", "delete", "set"):
        raise ValidationFailed(_("Unknown action."))
    if action != "set" and not hosts:
        raise ValidationFailed(_("Enter at least one domain."))
    wxa = api(mp).domains
    call = wxa.set_webview_domain_directly if strategy() == "direct" else wxa.set_webview_domain
    try:
        with wechat_errors("domains.webview" if log else None, mp, actor):
            call(action, with_scheme(WEBVIEW, hosts))
    finally:
        wechat_reads.forget(mp, wechat_reads.DOMAINS)
    if log:
        done("domains.webview", mp, actor, f"{action} {', '.join(hosts)}")
