"""The WeChat call log: every HTTP attempt the client makes (API, appid, errcode, HTTP status, latency),
written on its own connection so it never joins, commits or waits on a caller's transaction, and read by
staff with filters. Nothing in a record is secret: the client's `CallRecord` holds no token or body."""

import logging
import threading

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import insert, select

from portal.coordination import coordination
from portal.extensions import db
from portal.models import WeChatCall
from portal.services import background
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
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(WeChatCall), rows)
    except Exception:  # noqa: BLE001 - the log is best effort; the call's own error handling is what matters
        log.warning("could not store %d WeChat call record(s)", len(rows), exc_info=True)


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
