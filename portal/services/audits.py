"""Audits: the outcome WeChat pushes (weapp_audit_success/fail/delay) applied to our audit rows.

The push carries no auditid, so it updates the mini-program's latest open audit (in review or delayed).
"""

from datetime import UTC, datetime

from portal.extensions import db
from portal.models import Audit, MiniProgram
from portal.models.audit import AUDIT_APPROVED, AUDIT_DELAYED, AUDIT_REJECTED, OPEN_AUDIT_STATUSES
from portal.models.callback import OUTCOME_APPLIED, OUTCOME_IGNORED
from portal.services import activity
from portal.wechat import callbacks as events


def _when(epoch):
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None) if epoch else None


def latest_open_audit(appid):
    return (db.session.query(Audit).filter(Audit.appid == appid, Audit.status.in_(OPEN_AUDIT_STATUSES))
            .order_by(Audit.create_time.desc(), Audit.id.desc()).first())


def apply_audit_event(event):
    """Record an audit result push; returns (outcome, detail) for the callback log."""
    audit = latest_open_audit(event.appid)
    if audit is None:
        return OUTCOME_IGNORED, "no open audit for this app"
    if isinstance(event, events.AuditSuccessEvent):
        audit.status, audit.reason, audit.auditresult_time = AUDIT_APPROVED, None, _when(event.succ_time)
    elif isinstance(event, events.AuditFailEvent):
        audit.status, audit.reason = AUDIT_REJECTED, event.reason
        audit.screenshot, audit.auditresult_time = "|".join(event.screenshots) or None, _when(event.fail_time)
    else:
        audit.status, audit.reason = AUDIT_DELAYED, event.reason
    mp = db.session.query(MiniProgram).filter_by(authorizer_appid=event.appid).one_or_none()
    activity.record(f"audit.{event.kind.removeprefix('weapp_audit_')}", miniprogram=mp, detail=audit.auditid)
    return OUTCOME_APPLIED, f"audit {audit.auditid} -> {audit.status}"
