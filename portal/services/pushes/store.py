"""Storing pushes: the event row written once (a retry of WeChat's is counted, not applied again), and
what the push changes applied in the same transaction; the kinds that are database work only are written
in groups (`group_commit`), the others one at a time.
"""

import hashlib
import json
import logging

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from portal.coordination import coordination
from portal.extensions import db
from portal.models import CallbackEvent, ComponentAccount
from portal.models.callback import (
    OUTCOME_APPLIED,
    OUTCOME_FAILED,
    OUTCOME_IGNORED,
    OUTCOME_QUEUED,
    OUTCOME_RECEIVED,
)
from portal.services import authorizers, fleet, forwarding
from portal.services.code.audit import apply_audit_events
from portal.services.code.setup import SETUP_EVENTS, apply_setup_events
from portal.services.pushes.group_commit import GroupCommitter
from portal.services.tokens import find_authorizer
from portal.services.wechat import component_appid
from portal.timeutil import utcnow
from portal.wechat import callbacks as events

log = logging.getLogger("portal.callbacks")

TICKET_STORED = "ticket stored"
SECRET_FIELDS = {"ComponentVerifyTicket", "AuthorizationCode", "PreAuthCode", "auth_code"}


def _summary(event):
    return json.dumps({k: ("***" if k in SECRET_FIELDS else v) for k, v in event.fields.items()},
                      ensure_ascii=False, default=str)[:8000]


def _dedup_key(event, xml):
    """(appid, type, CreateTime) as WeChat's retries repeat them, plus a digest of the content, so two
    different pushes in the same second are both kept while a retry of one is recognised."""
    appid, kind, create_time = event.dedup_key
    digest = hashlib.sha1(xml.encode("utf-8")).hexdigest()[:16]
    return f"{appid}:{kind}:{create_time}:{digest}"[:191]


class Receipt:
    """What the view needs to know about a handled push (no ORM object: nothing to reload after commit)."""

    __slots__ = ("id", "source", "kind", "appid", "dedup_key", "outcome", "detail")

    def __init__(self, id, source, kind, appid, dedup_key, outcome=OUTCOME_RECEIVED, detail=None):  # noqa: A002
        self.id, self.source, self.kind, self.appid, self.dedup_key = id, source, kind, appid, dedup_key
        self.outcome, self.detail = outcome, detail


_EVENTS = CallbackEvent.__table__
# Built once: SQLAlchemy caches their compiled form. Core statements on the session's connection, so they
# share its transaction with whatever the ORM does for the slower kinds of push. Column defaults
# (received_at, outcome, duplicates) apply as with the ORM; sealed values (the payload, the ticket) are sealed
# here, bound to the row's natural key (see portal.secretbox): no statement more than the INSERT itself.
_INSERT_EVENT = insert(_EVENTS)
_SET_OUTCOME = update(_EVENTS).where(_EVENTS.c.id == bindparam("row_id"))
_COUNT_DUPLICATE = (update(_EVENTS).where(_EVENTS.c.dedup_key == bindparam("key"))
                    .values(duplicates=_EVENTS.c.duplicates + 1))
_FAIL_BY_KEY = update(_EVENTS).where(_EVENTS.c.dedup_key == bindparam("key"))
_ACCOUNTS = ComponentAccount.__table__
_STORE_TICKET = update(_ACCOUNTS).where(_ACCOUNTS.c.component_appid == bindparam("appid"))
_INSERT_ACCOUNT = insert(_ACCOUNTS)


# Pushes whose handling is database work only: stored together with others arriving at the same time.
GROUPED = (events.TicketEvent, events.AuditSuccessEvent, events.AuditFailEvent, events.AuditDelayEvent,
           events.GenericEvent) + SETUP_EVENTS
AUDIT_EVENTS = (events.AuditSuccessEvent, events.AuditFailEvent, events.AuditDelayEvent)


class _Push:
    __slots__ = ("event", "receipt", "values")

    def __init__(self, event, receipt, values):
        self.event, self.receipt, self.values = event, receipt, values


class _Duplicate(Exception):
    """The unique dedup_key refused a row: WeChat sent one of these pushes before."""


def new_push(source, event, xml):
    """The push as stored: its receipt and the values of its event row."""
    receipt = Receipt(None, source, event.kind[:64], event.appid or None, _dedup_key(event, xml))
    values = {"source": source, "kind": receipt.kind, "appid": receipt.appid,
              "payload": CallbackEvent.payload.seal(xml, receipt.dedup_key),
              "create_time": event.create_time, "dedup_key": receipt.dedup_key, "summary": _summary(event)}
    return _Push(event, receipt, values)


def group_committer():
    """This process's group committer (one per app), with the connection its writers share."""
    def make():
        held = HeldConnection(db.engine)
        return GroupCommitter(lambda pushes: store_together(pushes, held), on_idle=held.release)

    return coordination().here("callback_committer", make)


class HeldConnection:
    """The group writers' connection, handed from one writer to the next while pushes keep coming (writers
    take turns, never two at once), so a group costs no pool check-out (with its ping) and no reset on
    check-in; given back to the pool when nothing more waits, dropped when it fails (the group is then
    stored push by push through the session, whose pool pings)."""

    def __init__(self, engine):
        self.engine, self.connection = engine, None

    def get(self):
        if self.connection is None:
            self.connection = self.engine.connect()
        return self.connection

    def release(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()

    def drop(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()
            finally:
                connection.close()


def store_together(pushes, held=None):
    """Store pushes of the GROUPED kinds in one transaction (on `held`'s connection if given, else the
    session's); if that fails (a retry among them, a failure to apply one), each is stored on its own as if
    it had come alone. Returns one receipt (or error) each. Fleet releases waiting for the audit results
    among them are woken once they are committed."""
    woken, forwards = set(), set()
    try:
        if held is None:
            results = _write_group(pushes, db.session.connection(), woken, forwards)
            db.session.commit()
        else:
            connection = held.get()
            results = _write_group(pushes, connection, woken, forwards)
            connection.commit()
        fleet.wake(woken)
        forwarding.wake(forwards)
        return results
    except Exception:  # noqa: BLE001 - sorted out push by push below
        if held is None:
            db.session.rollback()
        else:
            _roll_back_held(held)
    return [_store_alone(push) for push in pushes]


def _roll_back_held(held):
    try:
        held.connection.rollback()
    except Exception:  # noqa: BLE001 - a broken connection: the next group takes another one
        held.drop()


def _store_alone(push):
    woken, forwards = set(), set()
    try:
        receipt = _write_group([push], db.session.connection(), woken, forwards)[0]
        db.session.commit()
        fleet.wake(woken)
        forwarding.wake(forwards)
        return receipt
    except _Duplicate:
        db.session.rollback()
        return _count_duplicate(push)
    except Exception as exc:  # noqa: BLE001 - stored as failed; the push is still acknowledged
        db.session.rollback()
        log.exception("applying %s push failed", push.event.kind)
        try:
            return _store_failed(push.receipt, push.values, exc)
        except Exception as error:  # noqa: BLE001 - the database itself fails: this push gets a 503
            db.session.rollback()
            return error


def _write_group(pushes, connection, woken, forwards):
    """Apply, insert the event rows (one statement), queue their forwarding, store the newest ticket; the
    caller commits, then wakes the fleet releases added to `woken` and the forwarding rules in `forwards`."""
    audits = [p.event for p in pushes if isinstance(p.event, AUDIT_EVENTS)]
    templates = set()
    audit_outcomes = iter(apply_audit_events(audits, connection, templates) if audits else ())
    setups = [p.event for p in pushes if isinstance(p.event, SETUP_EVENTS)]
    setup_outcomes = iter(apply_setup_events(setups, connection) if setups else ())
    woken.update(fleet.releases_waiting_on(templates, connection))
    rows, ticket = [], None
    for push in pushes:
        event = push.event
        if isinstance(event, events.TicketEvent):
            outcome, ticket = (OUTCOME_APPLIED, TICKET_STORED), event  # pushes come in order: the last wins
        elif isinstance(event, AUDIT_EVENTS):
            outcome = next(audit_outcomes)
        elif isinstance(event, SETUP_EVENTS):
            outcome = next(setup_outcomes)
        else:
            outcome = OUTCOME_IGNORED, "stored, no action needed"
        push.receipt.outcome, push.receipt.detail = outcome
        rows.append(dict(push.values, outcome=outcome[0], detail=outcome[1]))
    try:
        connection.execute(_INSERT_EVENT, rows)
    except IntegrityError as exc:  # the unique dedup_key
        raise _Duplicate() from exc
    forwards.update(forwarding.queue_deliveries([_forwardable(p) for p in pushes], connection))
    if ticket is not None:  # every ticket writes the same row: last, so its lock is short
        _store_ticket(ticket, connection)
    return [push.receipt for push in pushes]


def store_and_apply(push):
    """The other kinds, one at a time: their handling commits before enqueueing or touches Redis."""
    receipt, values, session = push.receipt, push.values, db.session
    try:
        result = session.connection().execute(_INSERT_EVENT, values)
    except IntegrityError:  # the unique dedup_key: WeChat sent this push before
        session.rollback()
        return _count_duplicate(push)
    receipt.id = result.inserted_primary_key[0]
    # queued with the event row, before _apply (an authorization commits them both before its job)
    forwards = forwarding.queue_deliveries([_forwardable(push)], session.connection())
    try:
        outcome, detail = _apply(push.event, receipt)
    except Exception as exc:  # noqa: BLE001 - stored as failed; the push is still acknowledged
        session.rollback()
        log.exception("applying %s push failed", push.event.kind)
        return _store_failed(receipt, values, exc)
    receipt.outcome, receipt.detail = outcome, detail
    session.connection().execute(_SET_OUTCOME, {"row_id": receipt.id, "outcome": outcome, "detail": detail})
    session.commit()
    forwarding.wake(forwards)
    return receipt


def _forwardable(push):
    receipt, msg_type = push.receipt, push.event.fields.get("MsgType")
    return forwarding.Forwardable(receipt.dedup_key, receipt.appid, receipt.kind,
                                  msg_type if isinstance(msg_type, str) and msg_type else None)


def _count_duplicate(push):
    """A retry from WeChat: counted, not applied. (A queued push delivered again because its drainer died
    between the commit and XACK is counted once too many: rare, and the push itself is still applied once.)"""
    receipt = push.receipt
    db.session.connection().execute(_COUNT_DUPLICATE, {"key": receipt.dedup_key})
    db.session.commit()
    receipt.outcome = "duplicate"
    return receipt


def _store_failed(receipt, values, exc):
    """Keep the push (as failed, with the reason) so staff see it; WeChat still gets `success`."""
    detail = f"{exc.__class__.__name__}: {exc}"[:2000]
    session = db.session
    try:
        result = session.connection().execute(_INSERT_EVENT, dict(values, outcome=OUTCOME_FAILED, detail=detail))
        receipt.id = result.inserted_primary_key[0]
    except IntegrityError:  # stored meanwhile (e.g. committed before a queued job failed to enqueue)
        session.rollback()
        session.connection().execute(_FAIL_BY_KEY, {"key": receipt.dedup_key, "outcome": OUTCOME_FAILED,
                                                    "detail": detail})
    session.commit()
    receipt.outcome, receipt.detail = OUTCOME_FAILED, detail
    return receipt


def _apply(event, row):
    """Apply a push of the kinds not stored in groups; returns (outcome, detail). Only fast database work."""
    if isinstance(event, (events.AuthorizedEvent, events.UpdateAuthorizedEvent)):
        return _queue_authorization(row)
    if isinstance(event, events.UnauthorizedEvent):
        return _unauthorize(event.appid)
    if isinstance(event, events.FastRegisterEvent):
        return _queue_fast_registration(row)
    return OUTCOME_IGNORED, "stored, no action needed"


def _store_ticket(event, connection):
    """One UPDATE of the platform's row (an INSERT the first time); the ticket is sealed to that row."""
    appid, now = component_appid(), utcnow()
    ticket = ComponentAccount.component_verify_ticket.seal(event.ticket, appid)
    stored = connection.execute(_STORE_TICKET, {"appid": appid, "component_verify_ticket": ticket,
                                                "ticket_time": now})
    if stored.rowcount == 0:
        connection.execute(_INSERT_ACCOUNT, {"component_appid": appid, "component_verify_ticket": ticket,
                                             "ticket_time": now})
    return OUTCOME_APPLIED, TICKET_STORED


def _queue_authorization(row):
    from portal.queueing import enqueue

    db.session.commit()  # the job loads the row by id
    enqueue("portal.jobs.authorization.complete_authorization_from_push", row.id,
            job_id=f"authorization-push:{row.id}")
    return OUTCOME_QUEUED, "query_auth queued"


def _queue_fast_registration(row):
    from portal.queueing import enqueue

    db.session.commit()  # the job loads the row by id
    enqueue("portal.jobs.registrations.complete_registration_from_push", row.id,
            job_id=f"fast-registration-push:{row.id}")
    return OUTCOME_QUEUED, "fast registration queued"


def _unauthorize(appid):
    account = find_authorizer(db.session, appid)
    if account is None:
        return OUTCOME_IGNORED, "unknown appid"
    authorizers.mark_unauthorized(account, "unauthorized push")
    return OUTCOME_APPLIED, "marked unauthorized"
