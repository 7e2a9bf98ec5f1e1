"""Queueing deliveries for pushes as they are stored: in the push's own transaction (so a stored push
never lacks its deliveries, and a push rolled back leaves none), one statement per group of pushes, and
none at all while no enabled rule could match.

Which rules could match is decided here against this process's snapshot of the enabled rules (type and
appid); the INSERT … SELECT then checks, in the same transaction, that the rule is still enabled and that
the push's app belongs to the rule's tenant. The rules whose deliveries were queued are woken once the
transaction commits (`signals.request_delivery`).
"""

from datetime import timedelta
from fnmatch import fnmatchcase

from flask import current_app
from sqlalchemy import DateTime, Integer, String, bindparam, exists, insert, literal, or_, select, true

from portal.models import CallbackEvent, ForwardDelivery, ForwardRule, MiniProgram, OfficialAccount
from portal.models.forwarding import ANY_KIND, DELIVERY_PENDING
from portal.services.forwarding.rules import enabled_rules
from portal.timeutil import utcnow

_EVENTS, _DELIVERIES = CallbackEvent.__table__, ForwardDelivery.__table__
_RULES = ForwardRule.__table__
# (appid, tenant_id) of each account kind: an appid is one account, a mini-program or an official account.
_APPS = ((MiniProgram.__table__.c.authorizer_appid, MiniProgram.__table__.c.tenant_id),
         (OfficialAccount.__table__.c.appid, OfficialAccount.__table__.c.tenant_id))
_COLUMNS = ("rule_id", "event_id", "appid", "status", "attempts", "next_attempt_at", "give_up_at", "created_at")


def _queue_statement(tenant_scoped):
    """INSERT … SELECT of one rule's deliveries of the pushes whose dedup keys are bound as `keys`, in the
    pushes' order (their event ids): the deliveries' ids then keep each appid's pushes in order."""
    query = select(
        bindparam("rule_id", type_=Integer), _EVENTS.c.id, _EVENTS.c.appid,
        literal(DELIVERY_PENDING, String), literal(0, Integer), bindparam("due", type_=DateTime),
        bindparam("give_up", type_=DateTime), bindparam("created", type_=DateTime),
    ).where(_EVENTS.c.dedup_key.in_(bindparam("keys", expanding=True)),
            exists().where(_RULES.c.id == bindparam("rule_id", type_=Integer), _RULES.c.enabled == true()))
    if tenant_scoped:
        tenant_id = bindparam("tenant_id", type_=Integer)
        query = query.where(or_(*(exists().where(appid == _EVENTS.c.appid, tenant == tenant_id)
                                  for appid, tenant in _APPS)))
    return insert(_DELIVERIES).from_select(_COLUMNS, query.order_by(_EVENTS.c.id))


# Built once: SQLAlchemy caches their compiled form.
_QUEUE_ANY_TENANT = _queue_statement(False)
_QUEUE_FOR_TENANT = _queue_statement(True)


class Forwardable:
    """What matching needs of a push being stored."""

    __slots__ = ("dedup_key", "appid", "kind", "msg_type")

    def __init__(self, dedup_key, appid, kind, msg_type):
        self.dedup_key, self.appid, self.kind, self.msg_type = dedup_key, appid, kind, msg_type


def could_match(rule, push):
    if rule.appid and rule.appid != push.appid:
        return False
    return any(p == ANY_KIND or fnmatchcase(push.kind, p) or (push.msg_type and fnmatchcase(push.msg_type, p))
               for p in rule.patterns)


def queue_deliveries(pushes, connection):
    """Queue a delivery of each push to each enabled rule matching it, on `connection` (the caller's
    transaction, which commits): one statement per rule that matches any of them, whatever their number
    (a statement per push and rule made the drainer wait on a round trip per push). Returns the ids of
    the rules to wake once it has committed."""
    rules = enabled_rules(connection)
    if not rules:
        return set()
    now = utcnow()
    give_up = now + timedelta(hours=current_app.config.get("FORWARDING_GIVE_UP_HOURS", 24))
    woken = set()
    for rule in rules:
        keys = [push.dedup_key for push in pushes if could_match(rule, push)]
        if not keys:
            continue
        values = {"rule_id": rule.id, "keys": keys, "due": now, "give_up": give_up, "created": now}
        if rule.tenant_id is None:
            connection.execute(_QUEUE_ANY_TENANT, values)
        else:
            connection.execute(_QUEUE_FOR_TENANT, dict(values, tenant_id=rule.tenant_id))
        woken.add(rule.id)
    return woken
