"""Receiving WeChat's pushes: verify, decrypt, parse, store once, apply (fast) or enqueue (slow).

Bad input raises `CallbackRejected` with a 4xx status and changes nothing. A push WeChat retries is
recognised by its (appid, type, CreateTime) key: acknowledged, counted, not applied again.
"""

import hashlib
import json
import logging
import time

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import CallbackEvent, ComponentAccount, MiniProgram
from portal.models.callback import (
    OUTCOME_APPLIED,
    OUTCOME_FAILED,
    OUTCOME_IGNORED,
    OUTCOME_QUEUED,
    SOURCE_MESSAGE,
)
from portal.models.miniprogram import AUTH_UNAUTHORIZED
from portal.services import activity
from portal.services.wechat import component_appid, get_client
from portal.timeutil import utcnow
from portal.wechat import callbacks as events
from portal.wechat.errors import CallbackError, SignatureMismatch

log = logging.getLogger("portal.callbacks")

MAX_CLOCK_SKEW = 300  # seconds a push's timestamp may differ from our clock
SECRET_FIELDS = {"ComponentVerifyTicket", "AuthorizationCode", "PreAuthCode", "auth_code"}


class CallbackRejected(Exception):
    """The push is not acceptable; `status` is the HTTP status to answer, `reason` goes to the log."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _check_timestamp(timestamp):
    try:
        skew = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        raise CallbackRejected(400, "timestamp missing or not a number") from None
    if skew > MAX_CLOCK_SKEW:
        raise CallbackRejected(403, f"timestamp {skew:.0f}s away from our clock")


def decode_push(body, args, path_appid=None):
    """Verify `msg_signature`, freshness and the inner appid; return the parsed event and its XML."""
    for name in ("msg_signature", "timestamp", "nonce"):
        if not args.get(name):
            raise CallbackRejected(400, f"query parameter {name} missing")
    _check_timestamp(args["timestamp"])
    crypto = get_client().crypto()
    try:
        xml = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
        return events.parse_event(xml, authorizer_appid=path_appid), xml
    except SignatureMismatch as exc:
        raise CallbackRejected(403, f"signature: {exc}") from None
    except CallbackError as exc:
        raise CallbackRejected(400, f"{exc.__class__.__name__}: {exc}") from None


def _summary(event):
    return json.dumps({k: ("***" if k in SECRET_FIELDS else v) for k, v in event.fields.items()},
                      ensure_ascii=False, default=str)[:8000]


def _dedup_key(event, xml):
    """(appid, type, CreateTime) as WeChat's retries repeat them, plus a digest of the content, so two
    different pushes in the same second are both kept while a retry of one is recognised."""
    appid, kind, create_time = event.dedup_key
    digest = hashlib.sha1(xml.encode("utf-8")).hexdigest()[:16]
    return f"{appid}:{kind}:{create_time}:{digest}"[:191]


def receive(source, body, args, path_appid=None):
    """Handle one push end to end; returns the stored CallbackEvent (or the earlier copy of a duplicate)."""
    event, xml = decode_push(body, args, path_appid)
    if source == SOURCE_MESSAGE and path_appid and event.appid and event.appid != path_appid:
        raise CallbackRejected(400, "appid in the URL does not match the message")
    row = CallbackEvent(source=source, kind=event.kind[:64], appid=(event.appid or None), payload=xml,
                        create_time=event.create_time, dedup_key=_dedup_key(event, xml), summary=_summary(event))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return _count_duplicate(_dedup_key(event, xml))
    try:
        row.outcome, row.detail = _apply(event, row)
    except Exception as exc:  # noqa: BLE001 - stored as failed; the push is still acknowledged
        db.session.rollback()
        log.exception("applying %s push failed", event.kind)
        return _store_failed(row, event, xml, exc)
    db.session.commit()
    return row


def _count_duplicate(key):
    db.session.execute(update(CallbackEvent).where(CallbackEvent.dedup_key == key)
                       .values(duplicates=CallbackEvent.duplicates + 1))
    db.session.commit()
    log.info("duplicate push %s acknowledged, not applied again", key)
    return db.session.query(CallbackEvent).filter_by(dedup_key=key).one()


def _store_failed(row, event, xml, exc):
    """Keep the push (as failed, with the reason) so staff see it; WeChat still gets `success`."""
    detail = f"{exc.__class__.__name__}: {exc}"[:2000]
    failed = db.session.query(CallbackEvent).filter_by(dedup_key=row.dedup_key).one_or_none()
    if failed is None:
        failed = CallbackEvent(source=row.source, kind=row.kind, appid=row.appid, create_time=row.create_time,
                               dedup_key=row.dedup_key, summary=row.summary, payload=xml)
        db.session.add(failed)
    failed.outcome, failed.detail = OUTCOME_FAILED, detail
    db.session.commit()
    return failed


def _apply(event, row):
    """Apply a push; returns (outcome, detail). Only fast database work happens here."""
    if isinstance(event, events.TicketEvent):
        return _store_ticket(event)
    if isinstance(event, (events.AuthorizedEvent, events.UpdateAuthorizedEvent)):
        return _queue_authorization(row)
    if isinstance(event, events.UnauthorizedEvent):
        return _unauthorize(event.appid)
    if isinstance(event, (events.AuditSuccessEvent, events.AuditFailEvent, events.AuditDelayEvent)):
        from portal.services.audits import apply_audit_event

        return apply_audit_event(event)
    if isinstance(event, events.FastRegisterEvent):
        return OUTCOME_APPLIED, "stored"
    return OUTCOME_IGNORED, "stored, no action needed"


def _store_ticket(event):
    appid = component_appid()
    account = db.session.query(ComponentAccount).filter_by(component_appid=appid).one_or_none()
    if account is None:
        account = ComponentAccount(component_appid=appid)
        db.session.add(account)
    account.component_verify_ticket, account.ticket_time = event.ticket, utcnow()
    return OUTCOME_APPLIED, "ticket stored"


def _queue_authorization(row):
    from portal.jobs.authorization import complete_authorization_from_push
    from portal.jobs.queues import enqueue

    db.session.commit()  # the job loads the row by id
    enqueue(complete_authorization_from_push, row.id, job_id=f"authorization-push:{row.id}")
    return OUTCOME_QUEUED, "query_auth queued"


def _unauthorize(appid):
    mp = db.session.query(MiniProgram).filter_by(authorizer_appid=appid).one_or_none()
    if mp is None:
        return OUTCOME_IGNORED, "unknown appid"
    mp.auth_state, mp.unauthorized_at = AUTH_UNAUTHORIZED, utcnow()
    mp.authorizer_access_token = mp.authorizer_refresh_token = None
    mp.authorizer_expires = None
    activity.record("authorization.revoked", miniprogram=mp, detail="unauthorized push")
    get_client().tokens.forget_authorizer(appid)
    return OUTCOME_APPLIED, "marked unauthorized"


def recent_events(limit=100, kind=None):
    query = db.session.query(CallbackEvent).order_by(CallbackEvent.id.desc())
    if kind:
        query = query.filter(CallbackEvent.kind == kind)
    return query.limit(min(limit, 500)).all()
