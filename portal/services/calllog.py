"""The WeChat call log: every HTTP attempt the client makes (API, appid, errcode, HTTP status, latency),
written on its own connection so it never joins, commits or waits on a caller's transaction, and read by
staff with filters. Nothing in a record is secret: the client's `CallRecord` holds no token or body.

SQLite has one writer at a time: while the calling thread's own transaction has written, a write on another
connection would wait for a commit that can only come after it (a self-deadlock until the busy timeout, which
also holds back every other writer). There the rows wait for that transaction to end."""

import logging
import threading

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from portal.coordination import coordination
from portal.extensions import db
from portal.models import WeChatCall
from portal.services import background
from portal.services.connections import holds_sqlite_write_lock
from portal.timeutil import utcnow

log = logging.getLogger("portal.calllog")


class _Pending:
    """Rows waiting for the worker's bookkeeping thread (kept per app)."""

    def __init__(self):
        self.rows, self.guard = [], threading.Lock()


def _pending():
    return coordination().here("calllog.pending", _Pending)


def record_call(record):
    """Store one call record (in a web request, with the request's other calls when it ends; in a worker,
    soon, from its bookkeeping thread, with the rows of the calls made meanwhile); a failure to log never
    fails the call itself."""
    if not has_app_context() or not current_app.config.get("WECHAT_CALL_LOG", True):
        return
    row = {"created_at": utcnow(), "api": (record.api or "?")[:64], "appid": record.appid or None,
           "errcode": record.errcode, "http_status": record.http_status, "latency_ms": int(record.latency_ms or 0),
           "attempt": record.attempt, "error": (record.error or None) and str(record.error)[:255]}
    if has_request_context():
        # a page may call WeChat several times: its rows go in one INSERT when the request ends
        g.setdefault("wechat_call_rows", []).append(row)
        return
    pending = _pending()
    with pending.guard:
        pending.rows.append(row)
    if not background.run_later("calllog", _store_pending):
        _store_pending()


def store_request_calls(_exc=None):
    """Teardown: store the call records the request made (one statement, or none)."""
    rows = g.pop("wechat_call_rows", None)
    if rows:
        _store(rows)


def _store_pending():
    pending = _pending()
    with pending.guard:
        rows, pending.rows = pending.rows, []
    if rows:
        _store(rows)


def _store(rows):
    session = db.session()
    if holds_sqlite_write_lock(session):  # see the module docstring
        session.info.setdefault("calllog_rows", []).extend(rows)
        return
    _insert(rows)


def _insert(rows):
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(WeChatCall), rows)
    except Exception:  # noqa: BLE001 - the log is best effort; the call's own error handling is what matters
        log.warning("could not store %d WeChat call record(s)", len(rows), exc_info=True)


@event.listens_for(Session, "after_transaction_end")
def _store_held_rows(session, transaction):
    """The rows held back while the session's transaction wrote, once it has committed or rolled back."""
    if transaction.parent is None and "calllog_rows" in session.info and has_app_context():
        _insert(session.info.pop("calllog_rows"))


def recent_calls(appid=None, api=None, errors_only=False, page=1, per_page=100):
    """A page of calls, newest first, with the total count."""
    query = select(WeChatCall).order_by(WeChatCall.id.desc())
    if appid:
        query = query.where(WeChatCall.appid == appid)
    if api:
        query = query.where(WeChatCall.api == api)
    if errors_only:
        query = query.where((WeChatCall.errcode.is_(None)) | (WeChatCall.errcode != 0))
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def prune_calls(keep_days=30):
    """Delete call records older than `keep_days` (the log is for recent troubleshooting)."""
    from datetime import timedelta

    from sqlalchemy import delete

    result = db.session.execute(delete(WeChatCall).where(WeChatCall.created_at < utcnow() - timedelta(days=keep_days)))
    db.session.commit()
    return result.rowcount
