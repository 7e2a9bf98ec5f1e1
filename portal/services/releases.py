"""Upload code, release, roll back, gray release and visit status of a mini-program; the overview of its
versions. Commit and release run as jobs (see `portal.services.jobs`); the rest are quick calls.

The ext_json sent with a commit is built from the tenant's parameters (seed 004: "different admins,
different parameters"): {"extEnable": true, "extAppid": appid, "ext": {...}} plus requiredPrivateInfos
when configured, and it always goes out as a JSON string (the client enforces it). A template of the
standard template library takes only {"extAppid", "ext", "window"} (commit doc; WeChat answers 9402203
otherwise), so its ext_json is {"extAppid", "ext"} and cannot carry requiredPrivateInfos.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import Conflict, PortalError, ValidationFailed
from portal.extensions import db
from portal.models import Audit, CodeCommit
from portal.models.audit import AUDIT_APPROVED
from portal.services import jobs, library, miniprograms
from portal.services.audits import audits_of, open_audit
from portal.services.tenant_settings import get_settings
from portal.timeutil import from_epoch, to_epoch, utcnow
from portal.wechat.errors import AlreadyReleased, WeChatError

USER_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def templates():
    """The platform's template library (gettemplatelist), newest first, cached (`library.platform_templates`)."""
    with miniprograms.wechat_errors():
        return library.platform_templates()


def build_ext_json(mp, standard=False):
    """The ext_json object for this mini-program: its tenant's parameters, overridden by its own (the same
    values a fleet release sends). `standard`: for a template of the standard template library, whose
    ext_json may hold only extAppid, ext and window."""
    settings = get_settings(mp.tenant_id)
    ext = {"extAppid": mp.authorizer_appid, "ext": library.ext_params_for(mp, settings)}
    if standard:
        return ext
    required = settings.load("required_private_infos", [])
    return {"extEnable": True, **ext, **({"requiredPrivateInfos": list(required)} if required else {})}


def left_out_of_standard(mp):
    """What a standard template's ext_json cannot carry of this app's settings: its requiredPrivateInfos."""
    return list(get_settings(mp.tenant_id).load("required_private_infos", []))


def latest_commit(mp):
    return db.session.scalar(select(CodeCommit).where(CodeCommit.miniprogram_id == mp.id)
                             .order_by(CodeCommit.id.desc()).limit(1))


def request_commit(mp, actor, template_id, user_version, user_desc):
    """Enqueue the commit job; returns (run, created), created False when one was already running.
    :raise ValidationFailed: bad version."""
    if not USER_VERSION.match(user_version or ""):
        raise ValidationFailed(_("A version has 1-64 letters, digits, “.”, “-” or “_”, e.g. 1.2.0."))
    miniprograms.api(mp)
    params = {"template_id": int(template_id), "user_version": user_version, "user_desc": (user_desc or "")[:255]}
    return jobs.start("commit", mp, actor, f"commit:{mp.id}", params, "portal.jobs.releases.commit_job")


def commit_step(run):
    """The job's step: /wxa/commit with the tenant's ext_json, then record what the trial version holds.
    A retry after a commit whose answer was lost asks getversioninfo first and commits again only if the
    trial version is not this one: each commit restarts WeChat's privacy scan."""
    mp, params = run.miniprogram, run.get_params()
    standard = library.is_standard_template(params["template_id"])
    ext = build_ext_json(mp, standard=standard)
    wxa = miniprograms.api(mp)
    if not (run.step == "committing" and trial_version_is(wxa, params["user_version"], run.created_at)):
        jobs.set_step(run, "committing")
        wxa.code.commit(params["template_id"], ext, params["user_version"], params["user_desc"])
    db.session.add(CodeCommit(miniprogram_id=mp.id, template_id=params["template_id"],
                              user_version=params["user_version"], user_desc=params["user_desc"],
                              ext_json=get_json(ext), created_by=run.actor_id))
    db.session.commit()  # the upload is WeChat's fact now; nothing after it may roll it back
    uploaded = _uploaded(mp, params, standard)
    domains_note = _trial_domains(mp, run.actor)
    if domains_note is None:
        return uploaded, params
    return _l("%(uploaded)s %(domains)s", uploaded=uploaded, domains=domains_note), params


def _uploaded(mp, params, standard):
    text = _l("Version %(v)s uploaded from template %(t)s. WeChat now scans it for privacy features (a few "
              "minutes) before it can be submitted.", v=params["user_version"], t=params["template_id"])
    left_out = left_out_of_standard(mp) if standard else []
    if not left_out:
        return text
    return _l("%(uploaded)s It comes from a standard template, whose ext_json carries only extAppid, ext and window: "
              "the requiredPrivateInfos of the settings (%(apis)s) were not sent.", uploaded=text,
              apis=", ".join(left_out))


def trial_version_is(wxa, user_version, since):
    """Whether WeChat's trial version (getversioninfo exp_info) is `user_version`, uploaded at `since` or
    later (a few seconds of clock difference allowed): a commit whose answer was lost did land."""
    info = wxa.code.get_version_info().get("exp_info") or {}
    return info.get("exp_version") == user_version and \
        int(info.get("exp_time") or 0) >= to_epoch(since) - 5


def _trial_domains(mp, actor):
    """After an upload, set the app's effective domains (its own or its tenant's, when it has any), so the
    trial version testers open can reach its servers - not only once it is submitted. The upload stands
    whatever happens here; the note says how it went (None: no domains to set)."""
    from portal.services.app_params import apply_domains

    try:
        if not apply_domains(mp, actor, log=False):
            return None
    except PortalError as exc:
        return _l("Its domains could not be set (%(reason)s): set them on the Domains page before testers "
                  "open the trial version.", reason=exc.message)
    return _l("Its domains are set too, so the trial version reaches its servers.")


def get_json(ext):
    from portal.wechat.miniprogram import encode_ext_json

    return encode_ext_json(ext)


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


def release_step(run):
    """The job's step: /wxa/release once. A retry first checks getversioninfo so it never double-releases,
    and 85052 (already released) counts as done."""
    mp = run.miniprogram
    audit = db.session.get(Audit, run.get_params()["audit_id"])
    wxa = miniprograms.api(mp)
    if run.attempts > 1 and _is_live(wxa, audit):
        return _mark_released(audit)
    jobs.set_step(run, "releasing")
    try:
        wxa.release.release()
    except AlreadyReleased:
        pass
    return _mark_released(audit)


def _is_live(wxa, audit):
    info = wxa.code.get_version_info().get("release_info") or {}
    return bool(audit.user_version) and info.get("release_version") == audit.user_version \
        and int(info.get("release_time") or 0) >= to_epoch(audit.create_time)


def _mark_released(audit):
    audit.is_release, audit.release_time = True, utcnow()
    return _l("Version %(v)s is live.", v=audit.user_version or audit.auditid), {"auditid": audit.auditid}


def version_overview(mp):
    """Development, trial, in-audit and released versions (getversioninfo + our records)."""
    result = {"commit": latest_commit(mp), "audits": audits_of(mp, 20), "error": None, "exp": {}, "release": {}}
    try:
        info = miniprograms.api(mp).code.get_version_info()
    except (WeChatError, Conflict) as exc:
        result["error"] = exc.message if isinstance(exc, Conflict) else miniprograms.human_error(exc).message
        return result
    exp, rel = info.get("exp_info") or {}, info.get("release_info") or {}
    result["exp"] = {"version": exp.get("exp_version"), "desc": exp.get("exp_desc"),
                     "time": from_epoch(exp.get("exp_time"))}
    result["release"] = {"version": rel.get("release_version"), "desc": rel.get("release_desc"),
                         "time": from_epoch(rel.get("release_time"))}
    return result


def release_state(mp):
    """History versions, gray plan and visit status for the release page."""
    wxa = miniprograms.api(mp).release
    with miniprograms.wechat_errors():
        return {"history": wxa.get_history_versions(), "gray": wxa.get_gray_release_plan(),
                "is_open": wxa.is_open_to_visitors()}


def revert_release(mp, actor, app_version=None):
    """/wxa/revertcoderelease to the previous (or given) version. :raise WeChatFailed: 87011/87012."""
    with miniprograms.wechat_errors("release.revert", mp, actor):
        miniprograms.api(mp).release.revert_code_release(app_version)
    miniprograms.done("release.revert", mp, actor, str(app_version or "previous"))


def gray_release(mp, actor, percentage, debuger_first=False, experiencer_first=False):
    """/wxa/grayrelease: the approved version to `percentage` % of users first."""
    releasable_audit(mp)
    with miniprograms.wechat_errors("release.gray", mp, actor):
        miniprograms.api(mp).release.gray_release(percentage, support_debuger_first=debuger_first or None,
                                                  support_experiencer_first=experiencer_first or None)
    miniprograms.done("release.gray", mp, actor, f"{percentage}%")


def revert_gray_release(mp, actor):
    with miniprograms.wechat_errors("release.gray_revert", mp, actor):
        miniprograms.api(mp).release.revert_gray_release()
    miniprograms.done("release.gray_revert", mp, actor)


def change_visit_status(mp, actor, action):
    """/wxa/change_visitstatus: "open" or "close" the live version to visitors."""
    if action not in ("open", "close"):
        raise ValidationFailed(_("Unknown action."))
    with miniprograms.wechat_errors("release.visit", mp, actor):
        miniprograms.api(mp).release.change_visit_status(action)
    miniprograms.done("release.visit", mp, actor, action)


def experience_qr(mp, path=None):
    """The trial version's QR code (get_qrcode) as an `Image` (bytes and media type), for an inline <img>."""
    if path and (len(path) > 256 or path.startswith(("http:", "https:", "//"))):
        raise ValidationFailed(_("Give a page path of the mini-program, e.g. pages/index/index?id=1."))
    with miniprograms.wechat_errors():
        return miniprograms.api(mp).code.get_qrcode(path or None)


SORTS = {"name": "nick_name", "appid": "authorizer_appid", "authorized": "create_time", "tenant": "tenant"}


def list_for_staff(page, per_page, filters, sort="authorized", descending=True):
    """Mini-programs across tenants with their latest audit and released version, filtered, sorted, paged.

    `filters`: tenant (id), tenant_name (contains), state, audit (latest audit's status), released (version),
    template (released template id). Without an audit filter the page of mini-programs is chosen first and
    only its own audits are looked up, so the cost does not grow with the audit history; with one, the
    latest and live audit of every app are grouped first (indexed: ix_wxminiprogram_audit_mp_release_id).
    """
    from portal.models import MiniProgram, Tenant
    from portal.services.platform import filter_by_tenant

    query = select(MiniProgram, Tenant.name).outerjoin(Tenant, Tenant.id == MiniProgram.tenant_id)
    query = filter_by_tenant(query, filters.get("tenant"), filters.get("tenant_name"))
    if filters.get("state"):
        query = query.where(MiniProgram.auth_state == filters["state"])
    if filters.get("audit") is not None:
        query = query.where(MiniProgram.id.in_(select(Audit.miniprogram_id).where(
            Audit.id.in_(_newest_audit_ids()), Audit.status == filters["audit"])))
    if filters.get("released") or filters.get("template"):
        live = select(Audit.miniprogram_id).where(Audit.id.in_(_newest_audit_ids(released=True)))
        if filters.get("released"):
            live = live.where(Audit.user_version == filters["released"])
        if filters.get("template"):
            live = live.where(Audit.template_id == filters["template"])
        query = query.where(MiniProgram.id.in_(live))
    column = Tenant.name if sort == "tenant" else getattr(MiniProgram, SORTS.get(sort, "create_time"))
    query = query.order_by(column.desc() if descending else column.asc(), MiniProgram.id.desc())
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    latest, live = _latest_and_live([mp.id for mp, _name in rows])
    return [{"mp": mp, "tenant": name, "audit": latest.get(mp.id), "live": live.get(mp.id)}
            for mp, name in rows], total


def _newest_audit_ids(released=False, miniprogram_ids=None):
    """Select: the id of each mini-program's newest audit (or newest released one)."""
    query = select(db.func.max(Audit.id)).group_by(Audit.miniprogram_id)
    if released:
        query = query.where(Audit.is_release == True)  # noqa: E712 - "= 1" lets MariaDB use the index
    if miniprogram_ids is not None:
        query = query.where(Audit.miniprogram_id.in_(miniprogram_ids))
    return query


def _latest_and_live(miniprogram_ids):
    """({mp_id: newest audit}, {mp_id: newest released audit}) for a page of mini-programs. The ids are read
    first: MariaDB would run `id IN (… UNION …)` as a dependent subquery for every audit row."""
    if not miniprogram_ids:
        return {}, {}
    ids = set(db.session.scalars(_newest_audit_ids(miniprogram_ids=miniprogram_ids)
                                 .union(_newest_audit_ids(released=True, miniprogram_ids=miniprogram_ids))))
    latest, live = {}, {}
    for audit in db.session.scalars(select(Audit).where(Audit.id.in_(ids)).order_by(Audit.id)) if ids else ():
        latest[audit.miniprogram_id] = audit
        if audit.is_release:
            live[audit.miniprogram_id] = audit
    return latest, live


def released_versions():
    """Every released user_version and template id, for the staff filters."""
    live = select(Audit.user_version, Audit.template_id).where(Audit.is_release == True)  # noqa: E712 - indexed
    rows = db.session.execute(live.distinct()).all()
    return {"versions": sorted({v for v, _t in rows if v}), "templates": sorted({t for _v, t in rows if t})}
