"""Release the approved version (/wxa/release: a job, the one release step single releases and fleet
releases both run), roll back, gray release and the visit status of a mini-program.
Imports services and models; never `services.fleet`, views or jobs.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.models import Audit
from portal.models.audit import AUDIT_APPROVED
from portal.services import jobs, wechat, wechat_reads
from portal.services.code.audit import audits_of, open_audit
from portal.services.code.commit import job_attempt
from portal.timeutil import to_epoch, utcnow
from portal.wechat.errors import AlreadyReleased


def releasable_audit(mp):
    """The approved, unreleased audit that /wxa/release would publish; Conflict saying why otherwise."""
    pending = open_audit(mp)
    if pending is not None:
        raise Conflict(_("Audit %(id)s is still open: release once it is approved.", id=pending.auditid))
    latest = next(iter(audits_of(mp, 1)), None)
    if latest is None:
        raise Conflict(_("Nothing was submitted for audit yet: upload code and submit it first."))
    if latest.status != AUDIT_APPROVED:
        raise Conflict(_("The latest audit (%(id)s) was not approved, so there is nothing to release.",
                         id=latest.auditid))
    if latest.is_release:
        raise Conflict(_("Version %(v)s is already released.", v=latest.user_version or latest.auditid))
    return latest


def request_release(mp, actor):
    """Enqueue the release job for the approved audit; returns (run, created) as `request_commit`."""
    audit = releasable_audit(mp)
    return jobs.start("release", mp, actor, f"release:{mp.id}:{audit.auditid}",
                      {"audit_id": audit.id}, "portal.jobs.releases.release_job")


def publish(mp, audit, attempt, *, user_version, gray_percentage=None):
    """/wxa/release of the approved version (or /wxa/grayrelease to `gray_percentage` % of users), once;
    85052 (AlreadyReleased: this version is live already) counts as done. Marks `audit`, when there is one,
    released; the caller commits.

    When `attempt.maybe_sent`, getversioninfo is read first and nothing is sent if `user_version` went live
    since `attempt.since`. `attempt.mark_sent()` runs just before the call. :raise WeChatError."""
    wxa = wechat.api(mp)
    if not (attempt.maybe_sent and _is_live(wxa, user_version, attempt.since)):
        attempt.mark_sent()
        try:
            if gray_percentage:
                wxa.release.gray_release(int(gray_percentage))
            else:
                wxa.release.release()
        except AlreadyReleased:
            pass
        finally:
            _changed(mp)
    if audit is not None:
        audit.is_release, audit.release_time = True, utcnow()


def release_step(run):
    """The single release job's step: `publish` the run's approved audit. Any retry reads WeChat's live
    version first (the run's `step` may not say whether the call went out: it is set just before it)."""
    audit = db.session.get(Audit, run.get_params()["audit_id"])
    publish(run.miniprogram, audit, job_attempt(run, "releasing", since=audit.create_time,
                                                maybe_sent=run.attempts > 1), user_version=audit.user_version)
    return _l("Version %(v)s is live.", v=audit.user_version or audit.auditid), {"auditid": audit.auditid}


def _is_live(wxa, user_version, since):
    """Whether WeChat's live version (getversioninfo release_info) is `user_version`, released at `since`
    or later (a few seconds of clock difference allowed)."""
    info = wxa.code.get_version_info().get("release_info") or {}
    return bool(user_version) and info.get("release_version") == user_version \
        and int(info.get("release_time") or 0) >= to_epoch(since) - 5


def release_state(mp):
    """History versions, gray plan and visit status for the release page, as of `as_of` (kept a short while:
    `wechat_reads`)."""
    def fetch():
        wxa = wechat.api(mp).release
        with wechat.wechat_errors():
            return {"history": wxa.get_history_versions(), "gray": wxa.get_gray_release_plan(),
                    "is_open": wxa.is_open_to_visitors()}

    state, as_of = wechat_reads.read(mp, wechat_reads.RELEASE, fetch)
    return {**state, "as_of": as_of}


def _changed(mp):
    """The live version, the gray plan or the visit status may have changed: the release tab reads them anew."""
    wechat_reads.forget(mp, wechat_reads.RELEASE, wechat_reads.VERSIONS)


def revert_release(mp, actor, app_version=None):
    """/wxa/revertcoderelease to the previous (or given) version. :raise WeChatFailed: 87011/87012."""
    try:
        with wechat.wechat_errors("release.revert", mp, actor):
            wechat.api(mp).release.revert_code_release(app_version)
    finally:
        _changed(mp)
    wechat.done("release.revert", mp, actor, str(app_version or "previous"))


def gray_release(mp, actor, percentage, debuger_first=False, experiencer_first=False):
    """/wxa/grayrelease: the approved version to `percentage` % of users first."""
    releasable_audit(mp)
    try:
        with wechat.wechat_errors("release.gray", mp, actor):
            wechat.api(mp).release.gray_release(percentage, support_debuger_first=debuger_first or None,
                                                      support_experiencer_first=experiencer_first or None)
    finally:
        _changed(mp)
    wechat.done("release.gray", mp, actor, f"{percentage}%")


def revert_gray_release(mp, actor):
    try:
        with wechat.wechat_errors("release.gray_revert", mp, actor):
            wechat.api(mp).release.revert_gray_release()
    finally:
        _changed(mp)
    wechat.done("release.gray_revert", mp, actor)


def change_visit_status(mp, actor, action):
    """/wxa/change_visitstatus: "open" or "close" the live version to visitors."""
    if action not in ("open", "close"):
        raise ValidationFailed(_("Unknown action."))
    try:
        with wechat.wechat_errors("release.visit", mp, actor):
            wechat.api(mp).release.change_visit_status(action)
    finally:
        _changed(mp)
    wechat.done("release.visit", mp, actor, action)
