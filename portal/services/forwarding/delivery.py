"""Sending queued deliveries to the operator's systems, one rule at a time, in order per (rule, appid).

A rule's job holds the rule's lock (so one process sends its deliveries at a time; other rules run in
other jobs, so a slow target holds up only its own rule). It works in rounds: it takes the oldest due
delivery of up to BATCH apps with the pending ones behind each (CHAIN_ROWS rows in all, two SELECTs),
sends each app's chain one push after the other in threads of its own, up to FORWARDING_CONCURRENCY apps
at once, and records the round in one UPDATE per answer status and one commit (a failure, rare, as a row
of its own). An app's chain stops at its first failure: that delivery is tried again after an
exponential back-off (FORWARDING_RETRY_BASE_SECONDS, doubling up to FORWARDING_RETRY_MAX_SECONDS), and
the later pushes of its appid wait behind it until it is delivered or, after FORWARDING_GIVE_UP_HOURS,
dead. Staff can send a dead delivery again. A delivery counts as made on any 2xx answer. A run whose
last round went through in full waits up to FORWARDING_LINGER_SECONDS for a wake-up before it stops
(see `signals.wake`), so a steady flow of pushes is sent by one run rather than a job per push.

Delivery is at least once: a target that acted but whose answer was lost (a timeout), or whose round was
not recorded because the process died, gets the push again, with the same X-Portal-Push-Id.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from portal.coordination import LockBusy, coordination
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import CallbackEvent, ForwardDelivery, ForwardRule, MiniProgram, OfficialAccount
from portal.models.forwarding import DELIVERY_DEAD, DELIVERY_DELIVERED, DELIVERY_PENDING
from portal.secretbox import SecretDecryptError
from portal.services.forwarding import signals, signing
from portal.services.forwarding.rules import get_rule
from portal.services.forwarding.target import Target, tls_context
from portal.timeutil import to_epoch, utcnow

log = logging.getLogger("portal.forwarding")

LOCK_TTL_MS = 300_000  # longer than any run below holds it (RUN_SECONDS plus one request's timeout)
RUN_SECONDS = 60.0  # then the job hands over to a fresh one, so a busy rule never holds a worker for long
# A round's fixed costs (two SELECTs, the wait for its slowest chain, one UPDATE and commit) are shared by the
# deliveries it carries. Pushes spread over many apps give about one delivery per app per round, so the apps
# per round bound a rule's rate: 100 held one rule to about 690 deliveries/s, and at 500 pushes/s the backlog
# grew to a p99 delay of 2 s; at 500 apps, 116 ms (`make bench`, forwarding rows).
BATCH = 500  # apps per round
CHAIN_ROWS = 1000  # deliveries per round, over those apps
LINGER_POLL_SECONDS = 0.02
IDLE, UNFINISHED, STOPPED = "idle", "unfinished", "stopped"  # how a run of a rule's deliveries ended
UNREADABLE = "the stored push cannot be decrypted"


def _precise_now():
    return datetime.now(UTC).replace(tzinfo=None)


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


class _Sender:
    """What the threads of one run need to send (no app context, no database session there)."""

    def __init__(self, url, secret):
        self.secret, self.target = secret, _target(url)

    def send(self, event_id, payload):
        """(HTTP status or None, error text or None, final): final when the push can never be sent."""
        if payload is None:
            return None, UNREADABLE, True
        body = signing.body_of(signing.push_fields(payload))
        return (*self.target.post(body, signing.headers(self.secret, event_id, body)), False)

    def send_chain(self, chain, deadline):
        """Send one app's deliveries [(delivery id, push id, decrypted push)] in order, stopping at the
        first that fails (the later ones wait behind it) or at the deadline; returns [(delivery id,
        status, error, final, at)]."""
        outcomes = []
        for delivery_id, event_id, payload in chain:
            if time.monotonic() >= deadline:
                break
            status, error, final = self.send(event_id, payload)
            outcomes.append((delivery_id, status, error, final, _precise_now()))
            if error is not None and not final:
                break
        return outcomes


def _send_due(rule_id, result, deadline):
    """Send due deliveries round after round until none is due (IDLE) or the time is up (UNFINISHED);
    STOPPED when the rule is gone, off, or its secret unreadable."""
    db.session.rollback()  # see what other processes committed
    rule = db.session.get(ForwardRule, rule_id)
    if rule is None or not rule.enabled:
        return STOPPED
    try:
        secret = rule.secret
    except SecretDecryptError:  # logged with the row id; its deliveries wait until the secret is rotated
        log.error("forwarding rule %s: its secret cannot be decrypted; rotate it", rule_id)
        return STOPPED
    sender = _Sender(rule.url, secret)
    threads = max(1, int(_config("FORWARDING_CONCURRENCY", 16)))
    try:
        # threads of this run only: a hanging target ties up its own rule's threads, no other rule's
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"forward-{rule_id}") as pool:
            healthy = False
            while True:
                signals.running(rule_id)
                chains = _due_chains(rule_id)
                if not chains:
                    if healthy and _linger(rule_id, deadline):
                        continue
                    return IDLE
                futures = [pool.submit(sender.send_chain, chain, deadline) for chain in chains]
                outcomes = [outcome for future in futures for outcome in future.result()]
                failed = result["failed"]
                _record(outcomes, result)
                healthy = result["failed"] == failed
                if time.monotonic() >= deadline:
                    return UNFINISHED
    finally:
        sender.target.close()
        signals.stopped(rule_id)


def _linger(rule_id, deadline):
    """After a round the target took in full, wait up to FORWARDING_LINGER_SECONDS for a wake-up before
    stopping:
    while pushes come every few milliseconds they go out from this run, not from a job each (queueing,
    starting and winding up a job costs more than a delivery). True if one came."""
    until = min(deadline, time.monotonic() + float(_config("FORWARDING_LINGER_SECONDS", 1.0)))
    while time.monotonic() < until:
        if signals.take_dirty(rule_id):
            db.session.rollback()  # a fresh snapshot: the next SELECT sees the commit that woke us
            return True
        time.sleep(LINGER_POLL_SECONDS)
    return False


def _heads(rule_id):
    """Ids of the oldest pending delivery of each appid of the rule: the only ones that may be sent."""
    return (select(func.min(ForwardDelivery.id))
            .where(ForwardDelivery.rule_id == rule_id, ForwardDelivery.status == DELIVERY_PENDING)
            .group_by(ForwardDelivery.appid))


_CHAIN_COLUMNS = (ForwardDelivery.id, ForwardDelivery.event_id, ForwardDelivery.appid, CallbackEvent._payload,
                  CallbackEvent.dedup_key)


def _due_chains(rule_id):
    """Up to BATCH apps whose oldest pending delivery is due, each with the pending deliveries behind it
    (CHAIN_ROWS in all, oldest first): [[(delivery id, push id, decrypted push or None)]], one list per
    app, in order. Read as plain rows: a round handles hundreds, and ORM objects would cost more than
    sending them."""
    appids = db.session.scalars(
        select(ForwardDelivery.appid)
        .where(ForwardDelivery.id.in_(_heads(rule_id)), ForwardDelivery.next_attempt_at <= _precise_now())
        .order_by(ForwardDelivery.id).limit(BATCH)).all()
    if not appids:
        return []
    named = [a for a in appids if a is not None]
    in_apps = or_(ForwardDelivery.appid.in_(named), *([ForwardDelivery.appid.is_(None)] if None in appids else []))
    rows = db.session.execute(
        select(*_CHAIN_COLUMNS).join(CallbackEvent, CallbackEvent.id == ForwardDelivery.event_id)
        .where(ForwardDelivery.rule_id == rule_id, ForwardDelivery.status == DELIVERY_PENDING, in_apps)
        .order_by(ForwardDelivery.id).limit(CHAIN_ROWS))
    chains = {}
    for delivery_id, event_id, appid, sealed, dedup_key in rows:
        chains.setdefault(appid, []).append((delivery_id, event_id, _payload(delivery_id, sealed, dedup_key)))
    return list(chains.values())


def _payload(delivery_id, sealed, dedup_key):
    try:
        return CallbackEvent.payload.unseal(sealed, dedup_key)
    except SecretDecryptError:
        log.error("forwarding delivery %s: %s", delivery_id, UNREADABLE)
        return None


def _target(url):
    """A `Target` for one run (or one test push), with this process's TLS context."""
    tls = coordination().here("forwarding.tls", tls_context)
    return Target(url, float(_config("FORWARDING_TIMEOUT_SECONDS", 10)), tls)


def _record(outcomes, result):
    """Record a round's outcomes and commit: the deliveries made in one UPDATE per answer status (with the
    round's last answer time), each failure on its own row."""
    delivered, failures = {}, []
    for outcome in outcomes:
        if outcome[2] is None:
            delivered.setdefault(outcome[1], []).append(outcome)
        else:
            failures.append(outcome)
    try:
        for status, made in delivered.items():
            at = max(outcome[4] for outcome in made)
            db.session.execute(
                update(ForwardDelivery).where(ForwardDelivery.id.in_([outcome[0] for outcome in made]))
                .values(status=DELIVERY_DELIVERED, attempts=ForwardDelivery.attempts + 1, last_attempt_at=at,
                        last_status=status, last_error=None, delivered_at=at)
                .execution_options(synchronize_session=False))
        for delivery_id, status, error, final, at in failures:
            _record_failure(db.session.get(ForwardDelivery, delivery_id), status, error, final, at)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result["delivered"] += sum(len(made) for made in delivered.values())
    result["failed"] += len(failures)


def _record_failure(delivery, status, error, final, at):
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status, delivery.last_error = at, status, error[:500]
    if final or at >= delivery.give_up_at:
        delivery.status = DELIVERY_DEAD
    else:
        delivery.next_attempt_at = at + timedelta(seconds=backoff_seconds(delivery.attempts))


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
    body, target = signing.body_of(signing.test_fields()), _target(rule.url)
    started = time.monotonic()
    try:
        status, error = target.post(body, signing.headers(rule.secret, "test-" + str(int(time.time() * 1000)), body))
    finally:
        target.close()
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



