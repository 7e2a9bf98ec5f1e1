"""Sending queued deliveries to the operator's systems, one rule at a time, in order per (rule, appid).

A rule's job holds the rule's lock (so one process sends its deliveries at a time; other rules run in
other jobs, so a slow target holds up only its own rule). It sends the oldest pending delivery of each
appid that is due, then the next, until none is due; a delivery that fails is tried again after an
exponential back-off (FORWARDING_RETRY_BASE_SECONDS, doubling up to FORWARDING_RETRY_MAX_SECONDS), and
the later pushes of its appid wait behind it until it is delivered or, after FORWARDING_GIVE_UP_HOURS,
dead. Staff can send a dead delivery again. A delivery counts as made on any 2xx answer.

Delivery is at least once: a target that acted but whose answer was lost (a timeout) gets the push again,
with the same X-Portal-Push-Id.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.coordination import LockBusy, coordination
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import CallbackEvent, ForwardDelivery, ForwardRule, MiniProgram, OfficialAccount
from portal.models.forwarding import DELIVERY_DEAD, DELIVERY_DELIVERED, DELIVERY_PENDING
from portal.secretbox import SecretDecryptError
from portal.services.forwarding import signals, signing
from portal.services.forwarding.rules import get_rule
from portal.timeutil import to_epoch, utcnow

log = logging.getLogger("portal.forwarding")

LOCK_TTL_MS = 300_000  # longer than any run below holds it (RUN_SECONDS plus one request's timeout)
RUN_SECONDS = 60.0  # then the job hands over to a fresh one, so a busy rule never holds a worker for long
BATCH = 100
IDLE, UNFINISHED, STOPPED = "idle", "unfinished", "stopped"  # how a run of a rule's deliveries ended
UNREADABLE = "the stored push cannot be decrypted"


def _precise_now():
    return datetime.now(UTC).replace(tzinfo=None)


def _http():
    """This process's connection pool for targets (kept per app)."""
    return coordination().here("forwarding.http", requests.Session)


def _config(name, default):
    return current_app.config.get(name, default)


def backoff_seconds(attempts):
    """The pause after the `attempts`-th failed attempt: base, 2 x base, 4 x base … up to the maximum."""
    base = float(_config("FORWARDING_RETRY_BASE_SECONDS", 10))
    return min(float(_config("FORWARDING_RETRY_MAX_SECONDS", 3600)), base * 2 ** max(0, attempts - 1))


def run_rule(rule_id):
    """Send the rule's due deliveries (the job's one call); returns a small dict for the job result."""
    result = {"rule": rule_id, "delivered": 0, "failed": 0}
    for _round in range(50):
        try:
            with coordination().lock(signals.lock_name(rule_id), ttl_ms=LOCK_TTL_MS, wait_seconds=0):
                signals.take_dirty(rule_id)
                state = _send_due(rule_id, result, time.monotonic() + RUN_SECONDS)
        except LockBusy:
            signals.mark_dirty(rule_id)  # the holder looks again before it stops
            return result
        if state == UNFINISHED:
            signals.request_delivery(rule_id)
            return result
        if not signals.take_dirty(rule_id):
            break
    if state == IDLE:
        _schedule_next_retry(rule_id)
    return result


def _send_due(rule_id, result, deadline):
    """Send due heads until none is left (IDLE) or the time is up (UNFINISHED); STOPPED when the rule is
    gone, off, or its secret unreadable."""
    db.session.rollback()  # see what other processes committed
    rule = db.session.get(ForwardRule, rule_id)
    if rule is None or not rule.enabled:
        return STOPPED
    try:
        secret = rule.secret
    except SecretDecryptError:  # logged with the row id; its deliveries wait until the secret is rotated
        log.error("forwarding rule %s: its secret cannot be decrypted; rotate it", rule_id)
        return STOPPED
    while True:
        heads = _due_heads(rule_id)
        if not heads:
            return IDLE
        for delivery in heads:
            if time.monotonic() >= deadline:
                return UNFINISHED
            delivered = _attempt(rule, secret, delivery)
            result["delivered" if delivered else "failed"] += 1


def _heads(rule_id):
    """Ids of the oldest pending delivery of each appid of the rule: the only ones that may be sent."""
    return (select(func.min(ForwardDelivery.id))
            .where(ForwardDelivery.rule_id == rule_id, ForwardDelivery.status == DELIVERY_PENDING)
            .group_by(ForwardDelivery.appid))


def _due_heads(rule_id):
    return (db.session.query(ForwardDelivery)
            .filter(ForwardDelivery.id.in_(_heads(rule_id)), ForwardDelivery.next_attempt_at <= _precise_now())
            .order_by(ForwardDelivery.id).limit(BATCH).all())


def _attempt(rule, secret, delivery):
    """One POST of one delivery, its outcome recorded and committed; True if the target took it."""
    try:
        body = signing.body_of(signing.push_fields(delivery.event.payload))
    except SecretDecryptError:
        log.error("forwarding delivery %s: %s", delivery.id, UNREADABLE)
        return _record(delivery, None, UNREADABLE, final=True)
    status, error = post(rule.url, secret, delivery.event_id, body)
    return _record(delivery, status, error)


def post(url, secret, push_id, body):
    """POST a signed body; returns (HTTP status or None, error text or None). Never raises for the
    target's failures, and never puts the URL or the body in the error."""
    timeout = float(_config("FORWARDING_TIMEOUT_SECONDS", 10))
    try:
        response = _http().post(url, data=body, headers=signing.headers(secret, push_id, body),
                                timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return None, f"no answer within {timeout:g} s"
    except requests.RequestException as exc:
        return None, f"could not connect ({exc.__class__.__name__})"
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _record(delivery, status, error, final=False):
    now = _precise_now()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status, delivery.last_error = now, status, error and error[:500]
    if error is None:
        delivery.status, delivery.delivered_at = DELIVERY_DELIVERED, now
    elif final or now >= delivery.give_up_at:
        delivery.status = DELIVERY_DEAD
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return error is None


def _schedule_next_retry(rule_id):
    """A delayed job for when the rule's earliest waiting head falls due (none while nothing waits); one
    that fell due since the rule's run looked is sent by a job now."""
    due = db.session.scalar(select(func.min(ForwardDelivery.next_attempt_at))
                            .where(ForwardDelivery.id.in_(_heads(rule_id))))
    db.session.rollback()
    if due is not None and due <= _precise_now():
        signals.request_delivery(rule_id)
    elif due is not None:
        slot = f"{to_epoch(due)}{due.microsecond // 100_000}"  # tenths of a second
        signals.retry_in(rule_id, (due - _precise_now()).total_seconds(), slot)


def sweep():
    """Wake every enabled rule with a due delivery (a wake-up lost with a process or with Redis); the
    periodic job's one call."""
    now = _precise_now()
    rule_ids = db.session.scalars(
        select(ForwardDelivery.rule_id).join(ForwardRule, ForwardRule.id == ForwardDelivery.rule_id)
        .where(ForwardDelivery.status == DELIVERY_PENDING, ForwardDelivery.next_attempt_at <= now,
               ForwardRule.enabled.is_(True)).distinct()).all()
    db.session.rollback()
    signals.wake(rule_ids)
    return {"woken": sorted(rule_ids)}


def resend(delivery_id, actor=None):
    """Send a dead delivery again: pending from now, with a fresh FORWARDING_GIVE_UP_HOURS. It goes out
    before the later pending pushes of its appid (it is older)."""
    delivery = db.session.get(ForwardDelivery, delivery_id)
    if delivery is None:
        raise NotFound()
    if delivery.status != DELIVERY_DEAD:
        raise Conflict(_("Only a delivery that was given up can be sent again."))
    now = utcnow()
    delivery.status, delivery.next_attempt_at = DELIVERY_PENDING, now
    delivery.give_up_at = now + timedelta(hours=_config("FORWARDING_GIVE_UP_HOURS", 24))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("forwarding delivery %s sent again by user %s", delivery_id, getattr(actor, "id", None))
    signals.wake([delivery.rule_id])
    return delivery


def send_test_push(rule_id):
    """POST a test push (Event `portal_test_push`) to the rule's URL now, signed like every push; returns
    {"rule", "status", "error", "elapsed_ms"}. Nothing is stored. :raise NotFound: no such rule."""
    rule = get_rule(rule_id)
    body = signing.body_of(signing.test_fields())
    started = time.monotonic()
    status, error = post(rule.url, rule.secret, "test-" + str(int(time.time() * 1000)), body)
    return {"rule": rule.name, "status": status, "error": error,
            "elapsed_ms": round((time.monotonic() - started) * 1000)}


def list_deliveries(rule_id=None, status=None, page=1, per_page=50):
    """The delivery log, newest first: (deliveries with their push and rule, total)."""
    query = db.session.query(ForwardDelivery)
    if rule_id:
        query = query.filter(ForwardDelivery.rule_id == rule_id)
    if status:
        query = query.filter(ForwardDelivery.status == status)
    total = query.count()
    rows = (query.options(joinedload(ForwardDelivery.rule),
                          joinedload(ForwardDelivery.event).load_only(
                              CallbackEvent.kind, CallbackEvent.appid, CallbackEvent.received_at))
            .order_by(ForwardDelivery.id.desc()).offset((page - 1) * per_page).limit(per_page).all())
    return rows, total


def app_names(appids):
    """{appid: name} of the accounts among `appids`, mini-programs and official accounts alike (one query
    per kind), for the delivery log."""
    appids, names = {a for a in appids if a}, {}
    if not appids:
        return names
    for model in (MiniProgram, OfficialAccount):
        names.update(db.session.execute(select(model.authorizer_appid, model.nick_name)
                                        .where(model.authorizer_appid.in_(appids), model.nick_name.is_not(None)))
                     .all())
    return names


def delivery_counts():
    """{rule_id: {status: count}} for the rules page."""
    counts = {}
    for rule_id, status, count in db.session.execute(
            select(ForwardDelivery.rule_id, ForwardDelivery.status, func.count())
            .group_by(ForwardDelivery.rule_id, ForwardDelivery.status)):
        counts.setdefault(rule_id, {})[status] = count
    return counts



