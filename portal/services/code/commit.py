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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.models import CodeCommit
from portal.services import jobs, library, wechat, wechat_reads
from portal.services.code import app_params
from portal.services.tenant_settings import get_settings
from portal.timeutil import to_epoch

USER_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def _nothing(*_args):
    return None


def _no_part(_name):
    return nullcontext()


@dataclass(frozen=True)
class Attempt:
    """What the caller of a step (`upload`, `audit.submit`, `release.publish`) tells it of its own
    bookkeeping: a single-app job keeps it on its `JobRun` (`job_attempt`), a fleet step on its target.

    - `since`: when this upload, submission or release began; what WeChat holds from before is not its own.
    - `maybe_sent`: the caller's mark says an earlier attempt may have sent the call that must not happen
      twice (its answer lost, its worker gone): the step reads what WeChat holds before sending again.
    - `mark_sent()`: commits that mark, just before the call.
    - `pace(n)`: told of n WeChat calls about to be made (the fleet's shared rate limiter).
    - `part(name)`: a context manager naming the part of the step that runs in it (the fleet page tells
      a failure of the privacy preparation from one of the submission).
    """

    since: datetime
    maybe_sent: bool = False
    mark_sent: Callable[[], None] = _nothing
    pace: Callable[[int], None] = _nothing
    part: Callable[[str], AbstractContextManager] = _no_part


def job_attempt(run, step, since=None, maybe_sent=None):
    """The `Attempt` of a single-app job's step: its mark is the run's `step` (set, and committed, by
    `jobs.set_step` before the call), found again by a retry; `since` defaults to the run's creation."""
    return Attempt(since=since or run.created_at, maybe_sent=run.step == step if maybe_sent is None else maybe_sent,
                   mark_sent=lambda: jobs.set_step(run, step))


def templates():
    """The platform's template library (gettemplatelist), newest first, cached (`library.platform_templates`)."""
    with wechat.wechat_errors():
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


def latest_commit(mp, tenant_id=None):
    """The app's latest upload through the portal (its `CodeCommit` row), or None: what an audit submitted
    now would review, and when WeChat's privacy scan of it began. With `tenant_id` (what a merchant may
    see), only an upload made for that tenant: one made before staff moved the app is its old tenant's."""
    query = select(CodeCommit).where(CodeCommit.miniprogram_id == mp.id)
    if tenant_id is not None:
        query = query.where(CodeCommit.tenant_id == tenant_id)
    return db.session.scalar(query.order_by(CodeCommit.id.desc()).limit(1))


def upload(mp, template_id, user_version, user_desc, *, standard, created_by, attempt, schema=None):
    """Upload code: /wxa/commit of `template_id` with the app's ext_json (`build_ext_json`; restricted for
    a `standard` template, its "ext" values checked and coerced against `schema` when one is given), then
    the upload's `CodeCommit` row, added to the session for the caller to commit with its own bookkeeping.

    When `attempt.maybe_sent`, getversioninfo is read first and the commit is sent again only if the trial
    version is not `user_version` uploaded since `attempt.since`: each commit restarts WeChat's privacy
    scan. `attempt.mark_sent()` runs just before the call.
    :raise PortalError: values against the schema. :raise Conflict: not authorized. :raise WeChatError."""
    ext = build_ext_json(mp, standard=standard)
    if schema is not None:
        values, errors = library.validate_ext(schema, ext["ext"])
        if errors:
            raise PortalError(" ".join(errors))
        ext["ext"] = values
    wxa = wechat.api(mp)
    if not (attempt.maybe_sent and trial_version_is(wxa, user_version, attempt.since)):
        attempt.mark_sent()
        try:
            wxa.code.commit(template_id, ext, user_version, user_desc or "")
        finally:  # a new trial version: its pages, its privacy scan
            wechat_reads.forget(mp, wechat_reads.VERSIONS, wechat_reads.PRIVACY, wechat_reads.SUBMIT_DEFAULTS)
    row = CodeCommit(miniprogram_id=mp.id, tenant_id=mp.tenant_id, template_id=template_id,
                     user_version=user_version, user_desc=user_desc, ext_json=get_json(ext), created_by=created_by)
    db.session.add(row)
    return row


def request_commit(mp, actor, template_id, user_version, user_desc):
    """Enqueue the commit job; returns (run, created), created False when one was already running.
    :raise ValidationFailed: bad version."""
    if not USER_VERSION.match(user_version or ""):
        raise ValidationFailed(_("A version has 1-64 letters, digits, “.”, “-” or “_”, e.g. 1.2.0."))
    wechat.api(mp)
    params = {"template_id": int(template_id), "user_version": user_version, "user_desc": (user_desc or "")[:255]}
    return jobs.start("commit", mp, actor, f"commit:{mp.id}", params, "portal.jobs.releases.commit_job")


def commit_step(run):
    """The single upload job's step: `upload`, committed at once, then the note on what the trial version
    holds and the app's domains set for it. The template may not be in our library yet, so whether it is a
    standard one is asked of WeChat then (`library.is_standard_template`)."""
    mp, params = run.miniprogram, run.get_params()
    standard = library.is_standard_template(params["template_id"])
    upload(mp, params["template_id"], params["user_version"], params["user_desc"], standard=standard,
           created_by=run.actor_id, attempt=job_attempt(run, "committing"))
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
    try:
        if not app_params.apply_domains(mp, actor, log=False):
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
    with wechat.wechat_errors():
        return wechat.api(mp).code.get_qrcode(path or None)
