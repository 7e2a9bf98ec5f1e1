"""Upload code (/wxa/commit) to a mini-program: the one upload step that single uploads (a job) and fleet
releases both run, the ext_json it sends, the latest upload we recorded, and the trial version's QR code.

The ext_json sent with a commit is built from the tenant's parameters (seed 004: "different admins,
different parameters"): {"extEnable": true, "extAppid": appid, "ext": {...}} plus requiredPrivateInfos
when configured, and it always goes out as a JSON string (the client enforces it). A template of the
standard template library takes only {"extAppid", "ext", "window"} (commit doc; WeChat answers 9402203
otherwise), so its ext_json is {"extAppid", "ext"} and cannot carry requiredPrivateInfos.
Imports services and models; never `services.fleet`, views or jobs.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.models import CodeCommit
from portal.services import jobs, library, miniprograms
from portal.services.tenant_settings import get_settings
from portal.services.wechat import get_client
from portal.timeutil import to_epoch

USER_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def templates():
    """The platform's template library (gettemplatelist), newest first."""
    with miniprograms.wechat_errors():
        return sorted(get_client().templates.get_templates(), key=lambda t: -t.create_time)


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
    from portal.services.code.app_params import apply_domains

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


def experience_qr(mp, path=None):
    """The trial version's QR code (get_qrcode) as an `Image` (bytes and media type), for an inline <img>."""
    if path and (len(path) > 256 or path.startswith(("http:", "https:", "//"))):
        raise ValidationFailed(_("Give a page path of the mini-program, e.g. pages/index/index?id=1."))
    with miniprograms.wechat_errors():
        return miniprograms.api(mp).code.get_qrcode(path or None)
