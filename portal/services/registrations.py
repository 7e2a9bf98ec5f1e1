"""Fast registration (快速注册) of a mini-program for a tenant that has none: enterprise
(fastregisterweapp, confirmed by the legal person) or personal (fastregisterpersonalweapp, confirmed by the
person on the task's authorize_url). The `notify_third_fasteregister` push ends a task: on status 0 its
auth_code is exchanged (api_query_auth) and the new mini-program bound to the tenant that started it.

A registration WeChat refuses leaves no row: the merchant corrects the form and sends it again, and the
refusal stays in the activity log. One whose answer was lost stays `submitted` (enterprise: `refresh` asks
WeChat) or fails with that reason (personal: without the taskid nothing can reach the task).
"""

import logging

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import Conflict, ValidationFailed, WeChatFailed
from portal.extensions import db
from portal.models import CallbackEvent, FastRegistration, Tenant
from portal.models.activity import OUTCOME_FAILED as ACTIVITY_FAILED
from portal.models.callback import OUTCOME_APPLIED, OUTCOME_FAILED, OUTCOME_IGNORED
from portal.models.registration import (
    FAILED,
    KIND_ENTERPRISE,
    KIND_PERSONAL,
    OPEN_STATES,
    SUBMITTED,
    SUCCEEDED,
    WAITING,
)
from portal.secretbox import SecretDecryptError
from portal.services import activity, authorization
from portal.services.locks import named_lock
from portal.services.wechat import get_client, human_error
from portal.timeutil import utcnow
from portal.wechat import callbacks as events
from portal.wechat import errcodes
from portal.wechat.errors import RegistrationNotFound, RegistrationPending, TransportError, WeChatError

log = logging.getLogger("portal.registrations")


def _lang():
    locale = get_locale()
    return locale.language if locale else "zh"


def start_enterprise(actor, tenant_id, name, code, code_type, legal_persona_wechat, legal_persona_name,
                     component_phone=""):
    """Register an enterprise mini-program for `tenant_id` (fastregisterweapp?action=create); the legal person
    then confirms in WeChat. :raise ValidationFailed: unknown tenant. :raise WeChatFailed: WeChat refused."""
    details = {"code": code, "code_type": int(code_type), "legal_persona_wechat": legal_persona_wechat,
               "legal_persona_name": legal_persona_name, "component_phone": component_phone}
    return _start(actor, tenant_id, KIND_ENTERPRISE, name, details, lambda client: client.fast_register_weapp(
        name, code, int(code_type), legal_persona_wechat, legal_persona_name, component_phone))


def start_personal(actor, tenant_id, idname, wxuser, component_phone=""):
    """Register a personal mini-program (fastregisterpersonalweapp?action=create); the person opens the
    answered authorize_url. :raise ValidationFailed: unknown tenant. :raise WeChatFailed: WeChat refused."""
    details = {"idname": idname, "wxuser": wxuser, "component_phone": component_phone}
    return _start(actor, tenant_id, KIND_PERSONAL, idname, details,
                  lambda client: client.fast_register_personal(idname, wxuser, component_phone))


def _start(actor, tenant_id, kind, name, details, call):
    if tenant_id is None or db.session.get(Tenant, tenant_id) is None:
        raise ValidationFailed(_("Choose a tenant."))
    row = FastRegistration(tenant_id=tenant_id, kind=kind, name=name, created_by=actor.id, state=SUBMITTED)
    row.details = details
    db.session.add(row)
    db.session.commit()  # the intent, before WeChat acts on it
    try:
        answer = call(get_client().component)
    except WeChatError as exc:
        return _not_started(row, actor, exc)
    row.state = WAITING
    if kind == KIND_PERSONAL:
        row.taskid = str(answer.get("taskid") or "")[:64]
        row.details = dict(details, authorize_url=answer.get("authorize_url") or "")
    activity.record(f"registration.{kind}.started", actor=actor, tenant_id=tenant_id, detail=name)
    db.session.commit()
    return row


def _not_started(row, actor, exc):
    error = human_error(exc)
    kind, name, tenant_id = row.kind, row.name, row.tenant_id
    if isinstance(exc, TransportError) and exc.maybe_sent and kind == KIND_ENTERPRISE:
        row.failure = error.message[:500]  # stays submitted: `refresh` asks WeChat whether the task exists
    elif isinstance(exc, TransportError) and exc.maybe_sent:
        row.state, row.failure, row.completed_at = FAILED, error.message[:500], utcnow()
    else:
        db.session.delete(row)
    activity.record(f"registration.{kind}.refused", actor=actor, tenant_id=tenant_id,
                    outcome=ACTIVITY_FAILED, detail=f"{name}: {error.message}")
    db.session.commit()
    raise error


def refresh(row_id, tenant_id):
    """Ask WeChat where an open task stands (enterprise: action=search; personal: action=query) and record
    what ended it. Returns a sentence for the user. :raise NotFound: not this tenant's. :raise WeChatFailed."""
    row = FastRegistration.get_for_tenant(row_id, tenant_id)
    if not row.is_open:
        return _("This registration has ended.")
    client = get_client().component
    try:
        if row.is_personal:
            return _refresh_personal(row, client.query_fast_register_personal(row.taskid))
        d = row.details
        client.search_fast_register(row.name, d["legal_persona_wechat"], d["legal_persona_name"])
    except WeChatError as exc:
        return _refresh_refused(row, exc)
    row.state = WAITING
    db.session.commit()
    return _("WeChat has finished the task; its result arrives by push.")


def _refresh_refused(row, exc):
    if isinstance(exc, RegistrationPending):
        row.state, row.failure = WAITING, None
        db.session.commit()
        return human_error(exc).message
    if isinstance(exc, RegistrationNotFound) and row.state == SUBMITTED:
        row.state, row.failure, row.completed_at = FAILED, human_error(exc).message[:500], utcnow()
        db.session.commit()
        return row.failure
    raise human_error(exc) from exc


def _refresh_personal(row, answer):
    status = answer.get("status")
    if errcodes.is_failed_personal_task(status):
        row.state, row.status, row.completed_at = FAILED, status, utcnow()
        db.session.commit()
        return describe_failure(row)
    return _("WeChat reports task status %(status)s; the person has not finished yet.", status=status)


def describe_failure(row, lang=None):
    """Why a registration failed, in the user's language."""
    lang = lang or _lang()
    if row.failure:
        return row.failure
    if row.status is None:
        return ""
    return errcodes.describe_fast_register_status(row.status, lang, personal=row.is_personal)


def complete_from_push(event_id):
    """The `notify_third_fasteregister` push arrived: bind the new mini-program (status 0) or record why
    WeChat did not create it. Returns the registration's id, or None when no registration matches."""
    row = db.session.get(CallbackEvent, event_id)
    if row is None:
        return None
    try:
        event = events.parse_event(row.payload)
    except SecretDecryptError as exc:
        log.error("%s", exc)
        return _event_outcome(row, OUTCOME_FAILED, "the stored push cannot be decrypted")
    reg = _match(event)
    if reg is None:
        return _event_outcome(row, OUTCOME_IGNORED, "no open registration matches")
    if not event.is_success:
        reg.state, reg.status, reg.completed_at = FAILED, event.status, utcnow()
        activity.record(f"registration.{reg.kind}.failed", tenant_id=reg.tenant_id, outcome=ACTIVITY_FAILED,
                        detail=f"{reg.name}: status {event.status} {event.msg}")
        _event_outcome(row, OUTCOME_APPLIED, f"registration {reg.id} failed ({event.status})")
        return reg.id
    return _bind(row, reg, event)


def _bind(row, reg, event):
    with named_lock(f"authorization:{event.appid}"):
        db.session.commit()  # see the other workers' commits
        db.session.refresh(reg)
        if reg.state == SUCCEEDED:
            return _event_outcome(row, OUTCOME_IGNORED, f"registration {reg.id} already bound")
        try:
            mp = authorization.bind_new_miniprogram(event.auth_code, reg.tenant_id, reg.created_by)
        except (Conflict, WeChatFailed) as exc:
            db.session.rollback()
            reg.failure = exc.message[:500]
            return _event_outcome(row, OUTCOME_FAILED, exc.message[:2000])
        reg.state, reg.status, reg.failure, reg.completed_at = SUCCEEDED, 0, None, utcnow()
        reg.authorizer_appid, reg.miniprogram_id = mp.authorizer_appid, mp.id
        activity.record(f"registration.{reg.kind}.succeeded", miniprogram=mp, detail=reg.name)
        _event_outcome(row, OUTCOME_APPLIED, f"registration {reg.id} bound {mp.authorizer_appid}")
    authorization.cache_token(mp)
    return reg.id


def _event_outcome(row, outcome, detail):
    row.outcome, row.detail = outcome, detail
    db.session.commit()
    return None


def _match(event):
    """The open registration a push ends: a personal one by its taskid or the person's WeChat id, an
    enterprise one by the echoed name and company code."""
    info = event.info or {}
    kind = KIND_PERSONAL if event.is_personal else KIND_ENTERPRISE
    if kind == KIND_PERSONAL and event.taskid:
        found = db.session.scalar(select(FastRegistration).where(FastRegistration.taskid == event.taskid))
        if found is not None and found.is_open:
            return found
    name = str(info.get("idname" if kind == KIND_PERSONAL else "name") or "")
    key, value = ("wxuser", info.get("wxuser")) if kind == KIND_PERSONAL else ("code", info.get("code"))
    candidates = db.session.scalars(select(FastRegistration).where(
        FastRegistration.kind == kind, FastRegistration.name == name, FastRegistration.state.in_(OPEN_STATES),
    ).order_by(FastRegistration.id.desc())).all()
    return next((c for c in candidates if str(c.details.get(key)) == str(value)), None)


def for_tenant(tenant_id):
    """A tenant's registrations, newest first."""
    return db.session.scalars(select(FastRegistration).where(FastRegistration.tenant_id == tenant_id)
                              .order_by(FastRegistration.id.desc())).all()


def all_registrations(limit=200):
    """Every tenant's registrations (staff), newest first, with their tenant."""
    return db.session.execute(select(FastRegistration, Tenant).join(Tenant, Tenant.id == FastRegistration.tenant_id)
                              .order_by(FastRegistration.id.desc()).limit(limit)).all()


def get(row_id, tenant_id):
    """One registration of `tenant_id` (None: staff, any). :raise NotFound."""
    return FastRegistration.get_for_tenant(row_id, tenant_id)
