"""Forwarding rules: which pushes (tenant, appid, InfoType/Event/MsgType patterns) go to which of the
operator's URLs, signed with which secret; and the snapshot of enabled rules each process matches pushes
against.

The secret is made here, sealed at rest and handed to the caller once (on creation and on rotation); pages
show it masked afterwards. A URL must be HTTPS; plain http only to a loopback host, and only outside
production when FORWARDING_ALLOW_LOOPBACK_HTTP is on (the sandbox's receivers stand in for the
operator's systems in development and tests).
"""

import ipaddress
import logging
import re
import time
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from config import Config
from portal.coordination import coordination
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.models import ForwardRule, MiniProgram, OfficialAccount, Tenant
from portal.models.forwarding import ANY_KIND
from portal.services.forwarding import signals
from portal.services.forwarding.signing import new_secret

log = logging.getLogger("portal.forwarding")

# How long a process matches pushes against the rules it last read: every group of pushes asks, and a
# SELECT per group would cost as much as the rest of storing it. A rule saved in this process is seen at
# once (`forget_rules`); elsewhere within this many seconds. Rules disabled meanwhile are checked again
# in the statement that queues the deliveries, so only a brand-new rule can miss a push, for that long.
RULES_TTL = 1.0
KIND_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+\*?$|^\*$")
LOOPBACK_NAMES = ("localhost",)


class MatchRule:
    """What matching needs of a rule (no ORM object: it is kept across requests)."""

    __slots__ = ("id", "tenant_id", "appid", "patterns")

    def __init__(self, id, tenant_id, appid, kinds):  # noqa: A002
        self.id, self.tenant_id, self.appid = id, tenant_id, appid
        self.patterns = tuple(kinds.split()) or (ANY_KIND,)


class _Snapshot:
    def __init__(self):
        self.at, self.rules = float("-inf"), ()


def _snapshot():
    return coordination().here("forwarding.rules", _Snapshot)


def enabled_rules(connection):
    """The enabled rules as this process last read them (on `connection`, at most RULES_TTL ago)."""
    snapshot, now = _snapshot(), time.monotonic()
    if now - snapshot.at > RULES_TTL:
        rows = connection.execute(select(ForwardRule.id, ForwardRule.tenant_id, ForwardRule.appid,
                                         ForwardRule.kinds).where(ForwardRule.enabled.is_(True)))
        snapshot.rules, snapshot.at = tuple(MatchRule(*row) for row in rows), now
    return snapshot.rules


def forget_rules():
    _snapshot().at = float("-inf")


def list_rules():
    """Every rule with its tenant (joined: the rules page names each rule's tenant)."""
    return db.session.query(ForwardRule).options(joinedload(ForwardRule.tenant)).order_by(ForwardRule.id).all()


def get_rule(rule_id):
    rule = db.session.get(ForwardRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def check_url(url):
    """The URL as given, if pushes may be sent to it; else ValidationFailed saying why."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname) and _loopback_allowed():
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        raise ValidationFailed(_("Plain http is allowed only to this machine, and only in development."))
    raise ValidationFailed(_("The target must be an https:// URL."))


def _is_loopback(host):
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_allowed():
    config = current_app.config
    return bool(config.get("FORWARDING_ALLOW_LOOPBACK_HTTP")) and not Config.is_production(config)


def normalise_kinds(text):
    """Space- or comma-separated InfoType/Event/MsgType names, each optionally ending in *; "*" or nothing
    for every push."""
    tokens = [t for t in re.split(r"[\s,]+", text or "") if t]
    bad = [t for t in tokens if not KIND_PATTERN.match(t)]
    if bad:
        raise ValidationFailed(_("Not a push type or pattern: %(items)s", items=", ".join(bad)))
    return " ".join(dict.fromkeys(tokens)) if tokens and ANY_KIND not in tokens else ANY_KIND


def _check_scope(tenant_id, appid):
    if tenant_id is not None and db.session.get(Tenant, tenant_id) is None:
        raise ValidationFailed(_("No such tenant."))
    if appid and not any(db.session.query(model.id).filter(model.authorizer_appid == appid).first()
                         for model in (MiniProgram, OfficialAccount)):
        raise ValidationFailed(_("No mini-program or official account with this AppID is in the portal."))


def create_rule(name, url, kinds="", tenant_id=None, appid=None, actor=None):
    """A new enabled rule; returns (rule, secret): the secret is shown once, sealed at rest after."""
    appid = (appid or "").strip() or None
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationFailed(_("Give the rule a name."))
    url, kinds = check_url(url), normalise_kinds(kinds)
    _check_scope(tenant_id, appid)
    secret = new_secret()
    rule = ForwardRule(name=name, url=url, kinds=kinds, tenant_id=tenant_id, appid=appid, enabled=True)
    rule.secret = secret
    return _saved(rule, "created", actor), secret


def set_enabled(rule_id, enabled, actor=None):
    """Turn a rule on or off. Off, it queues nothing for new pushes; what it queued before waits, and is
    sent once it is on again."""
    rule = get_rule(rule_id)
    rule.enabled = bool(enabled)
    rule = _saved(rule, "enabled" if enabled else "disabled", actor)
    if rule.enabled:
        signals.wake([rule.id])
    return rule


def rotate_secret(rule_id, actor=None):
    """A new secret for the rule (the old one stops at once); returns (rule, secret), shown once."""
    rule = get_rule(rule_id)
    secret = new_secret()
    rule.secret = secret
    return _saved(rule, "secret rotated", actor), secret


def _saved(rule, what, actor):
    try:
        db.session.add(rule)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    forget_rules()
    log.info("forwarding rule %s %s by user %s", rule.id, what, getattr(actor, "id", None))
    return rule


def masked(secret):
    """The secret as pages show it after creation: enough to tell two apart, not enough to use."""
    return (secret[:4] + "…" + secret[-2:]) if secret else "—"
