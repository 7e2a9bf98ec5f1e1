"""Receiving WeChat's pushes: verify, decrypt, parse, then store (`store`) or leave in the spool or the
stream for a drainer, which hands them back to `store_queued`.

Bad input raises `CallbackRejected` with a 4xx status and changes nothing. A push WeChat retries is
recognised by its (appid, type, CreateTime) key: acknowledged, counted, not applied again.
"""

import logging
import time

from flask import current_app
from sqlalchemy import select, union_all

from portal.coordination import coordination
from portal.extensions import db
from portal.models import CallbackEvent, MiniProgram, OfficialAccount
from portal.models.callback import SOURCE_MESSAGE
from portal.services.pushes import spool, spool_drainer, stream
from portal.services.pushes.store import (
    GROUPED,
    Receipt,
    group_committer,
    new_push,
    store_and_apply,
    store_together,
)
from portal.services.wechat import get_client
from portal.wechat import callbacks as events
from portal.wechat.errors import CallbackError, SignatureMismatch

log = logging.getLogger("portal.callbacks")

MAX_CLOCK_SKEW = 300  # seconds a push's timestamp may differ from our clock
OUTCOME_IN_STREAM = "queued in redis"  # the answer's outcome only: no row has it
OUTCOME_SPOOLED = "spooled"  # the same, for a push written to the spool


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


def _crypto():
    """The platform's message crypto, built once per app in this process instead of per push."""
    return coordination().here("callback_crypto", lambda: get_client().crypto())


def decode_push(body, args, path_appid=None, check_time=True):
    """Verify `msg_signature`, freshness (unless `check_time` is false: a push checked when it arrived and
    stored later from the queue) and the inner appid; return the parsed event and its XML."""
    for name in ("msg_signature", "timestamp", "nonce"):
        if not args.get(name):
            raise CallbackRejected(400, f"query parameter {name} missing")
    if check_time:
        _check_timestamp(args["timestamp"])
    crypto = _crypto()
    try:
        xml = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
        return events.parse_event(xml, authorizer_appid=path_appid), xml
    except SignatureMismatch as exc:
        raise CallbackRejected(403, f"signature: {exc}") from None
    except CallbackError as exc:
        raise CallbackRejected(400, f"{exc.__class__.__name__}: {exc}") from None


def _checked(source, body, args, path_appid, check_time=True, look_up=True):
    event, xml = decode_push(body, args, path_appid, check_time)
    if source == SOURCE_MESSAGE and path_appid:
        if event.appid and event.appid != path_appid:
            raise CallbackRejected(400, "appid in the URL does not match the message")
        _check_recipient(event, path_appid, look_up)
    return event, xml


def _check_recipient(event, path_appid, look_up):
    """A message push names its account (mini-program or official account) only by the inner ToUserName
    (gh_...); every push of the platform is signed with the same key, so the signature does not bind a
    push to the URL it is posted to. A push for one app replayed to another app's URL is refused here, once the app's gh_ name is known
    (api_get_authorizer_info fills it). `look_up=False` consults only the names already seen by this
    process: the spooled and queued modes answer without waiting on the database, and their drainer
    checks again with it."""
    expected = _original_id(path_appid, look_up)
    if expected and event.fields.get("ToUserName") != expected:
        raise CallbackRejected(400, f"ToUserName is not the original id of {path_appid}")


class _OriginalIds:
    """The gh_ names this process knows, by appid."""

    __slots__ = ("names", "read_all")

    def __init__(self):
        self.names, self.read_all = {}, False


def _original_id(appid, look_up):
    """The app's gh_ name, or None while unknown. A name once known never changes (WeChat's original id of
    an account is permanent), so this process keeps it. The first look-up reads every name known at once:
    a process meeting many apps would otherwise pay a connection and a round trip on each app's first push
    (in the benchmark's 2,000 apps, nearly every push); later ones read the one app, whose name may have
    been filled meanwhile. Either read is one statement over both account kinds. A short connection of its
    own keeps the grouped writers' session free."""
    known = coordination().here("callback_original_ids", _OriginalIds)
    name = known.names.get(appid)
    if name is None and look_up:
        query = union_all(*(_names_query(model, appid if known.read_all else None)
                            for model in (MiniProgram, OfficialAccount)))
        with db.engine.connect() as connection:
            rows = connection.execute(query).all()
        known.names.update((row_appid, row_name) for row_appid, row_name in rows if row_name)
        known.read_all = True
        name = known.names.get(appid)
    return name


def _names_query(model, appid):
    query = select(model.authorizer_appid, model.user_name).where(model.user_name.is_not(None))
    return query if appid is None else query.where(model.authorizer_appid == appid)


def receive(source, body, args, path_appid=None, request_id=None):
    """Handle one push end to end; returns a `Receipt` (for a duplicate, outcome "duplicate"). With
    CALLBACK_ACKNOWLEDGE=spooled a checked push is written to this host's push spool instead (outcome
    "spooled"; stored before success as usual if the spool cannot be written), with =queued (and a
    persistent Redis) appended to the push stream (outcome "queued in redis"); `store_queued` stores either
    shortly after, and writes the push's log line then, with `request_id` (see `is_deferred`)."""
    spooled = spool.is_enabled()
    queued = not spooled and stream.is_available()
    deferred = spooled or queued  # answered before the database write
    event, xml = _checked(source, body, args, path_appid, look_up=not deferred)
    if spooled:
        try:
            spool.append(source, body, args, path_appid, request_id)
            app = current_app._get_current_object()
            if app.config.get("CALLBACK_DRAIN_IN_PROCESS", True):
                spool_drainer.start_in_process(app, store_queued)
            return Receipt(None, source, event.kind[:64], event.appid or None, None, OUTCOME_SPOOLED)
        except spool.SpoolError as exc:
            log.warning("push stored before success: %s", exc)
    elif queued:
        stream.append(source, body, args, path_appid, store_queued, request_id)
        return Receipt(None, source, event.kind[:64], event.appid or None, None, OUTCOME_IN_STREAM)
    if deferred and source == SOURCE_MESSAGE and path_appid:  # stored now after all: the full check first
        _check_recipient(event, path_appid, look_up=True)
    push = new_push(source, event, xml)
    if isinstance(event, GROUPED):
        return group_committer().submit(push)
    return store_and_apply(push)


def is_deferred(receipt):
    """True for a push acknowledged before it was stored (spooled or queued): its log line is written when
    it is stored (`store_queued`), with the outcome storing had, instead of when it was acknowledged."""
    return receipt.outcome in (OUTCOME_SPOOLED, OUTCOME_IN_STREAM)


def log_push(receipt, request_id=None):
    """The one log line of a handled push; `request_id` that of the request that brought it, when it was
    stored later (the line then carries it instead of the drainer's context)."""
    extra = {"request_id": request_id or "-"} if request_id is not None else None
    log.info("push %s %s for %s: %s", receipt.source, receipt.kind, receipt.appid or "-", receipt.outcome,
             extra=extra)


def store_queued(items):
    """Store pushes taken from the stream or the spool: (key, source, body, args, path_appid, request_id) each.
    Returns the keys settled (stored, counted as a retry, or refused and dropped), each with its log line; the
    others stay queued for a retry."""
    settled, grouped = [], []
    for key, source, body, args, path_appid, request_id in items:
        try:
            push = new_push(source, *_checked(source, body, args, path_appid, check_time=False))
        except CallbackRejected as exc:  # posted to another app's URL (known only here, from the database)
            log.warning("queued push dropped (%s): %s", exc.status, exc.reason,
                        extra={"request_id": request_id or "-"})
            settled.append(key)
            continue
        except Exception:  # noqa: BLE001 - the database cannot say whose push it is: kept for the next drain
            log.warning("queued push kept: its mini-program could not be looked up", exc_info=True)
            continue
        if isinstance(push.event, GROUPED):
            grouped.append((key, push, request_id))
            continue
        try:
            log_push(store_and_apply(push), request_id or "-")
            settled.append(key)
        except Exception:  # noqa: BLE001 - stays in the stream, retried by the next drain
            db.session.rollback()
            log.exception("storing a queued %s push failed", push.event.kind)
    results = store_together([push for _key, push, _request_id in grouped]) if grouped else []
    for (key, _push, request_id), result in zip(grouped, results, strict=True):
        if not isinstance(result, BaseException):
            log_push(result, request_id or "-")
            settled.append(key)
    return settled


def waiting_pushes():
    """Pushes acknowledged but not stored yet, for the staff push list: {"mode", "spool", "stream"}; "spool"
    is `spool_drainer.backlog` with "host_drainer" (whether a worker's drainer stores this host's spool; None
    when nothing is spooled here), "stream" a count (or None without Redis,
    or when Redis cannot be asked)."""
    app = current_app._get_current_object()
    mode = app.config.get("CALLBACK_ACKNOWLEDGE")
    spooled = spool_drainer.backlog(app)  # one listing of the spool: shown when spooling is on or segments are left
    if mode != "spooled" and not spooled["segments"]:
        spooled = None
    else:
        spooled["host_drainer"] = spool_drainer.host_drainer_running(app)
    streamed = stream.backlog(app)
    return {"mode": mode, "spool": spooled, "stream": streamed}


def recent_events(limit=100, kind=None):
    """The latest pushes, newest first; of one kind when given. The order (received_at, then id) is the one
    of the indexes on received_at and on (kind, received_at), so neither list sorts the stored pushes."""
    query = db.session.query(CallbackEvent).order_by(CallbackEvent.received_at.desc(), CallbackEvent.id.desc())
    if kind:
        query = query.filter(CallbackEvent.kind == kind)
    return query.limit(min(limit, 500)).all()
