"""Authorizing a mini-program to the platform: the authorization page, the redirect back, and the
`authorized` push that completes it even when the merchant's browser never comes back.

Both paths end in `_complete`, serialized per pre-auth session, so a code is exchanged once: WeChat's
authorization code is short-lived and the redirect and the push race each other. When both were lost, the
daily sync finds the account in WeChat's authorizer list and staff bind it with `assign_unclaimed`, which
stores it through the same `_upsert`.
"""

import hashlib
import json
import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from portal.errors import Conflict, NotFound, ValidationFailed, WeChatFailed
from portal.extensions import db
from portal.models import CallbackEvent, MiniProgram, PreAuthSession, Tenant
from portal.models.callback import OUTCOME_APPLIED, OUTCOME_FAILED
from portal.models.miniprogram import AUTH_AUTHORIZED, CODE_MANAGEMENT_FUNCSCOPE
from portal.secretbox import SecretDecryptError
from portal.services import activity
from portal.services.authorizers import get_unclaimed
from portal.services.locks import named_lock
from portal.services.wechat import get_client, human_error  # noqa: F401 - human_error re-exported
from portal.timeutil import epoch, utcnow
from portal.wechat import callbacks as events
from portal.wechat.component import Authorization
from portal.wechat.errors import WeChatError

log = logging.getLogger("portal.authorization")
STATE_MAX_AGE = 3600


def _hash(code):
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wechat-authorization")


def start_authorization(user, tenant_id, redirect_base):
    """Create a fresh pre-auth code (api_create_preauthcode) and both authorization URLs. Called when the
    merchant clicks (a POST), never to show a page: each code is a WeChat call.

    :raise WeChatFailed: with a human message when WeChat refuses.
    """
    client = get_client()
    try:
        code = client.component.create_preauthcode()
    except WeChatError as exc:
        raise human_error(exc) from exc
    purge_expired_sessions()
    session = PreAuthSession(code_hash=_hash(code.pre_auth_code), tenant_id=tenant_id, user_id=user.id,
                             expires_at=utcnow() + timedelta(seconds=code.expires_in))
    db.session.add(session)
    db.session.commit()
    state = _serializer().dumps({"t": tenant_id, "u": user.id, "s": session.id})
    redirect_uri = f"{redirect_base.rstrip('/')}/{state}"
    return {
        "pc_url": client.component.pc_authorization_url(code.pre_auth_code, redirect_uri, auth_type=2),
        "mobile_url": client.component.mobile_authorization_url(code.pre_auth_code, redirect_uri, auth_type=2),
        "expires_in": code.expires_in,
    }


def purge_expired_sessions():
    """Delete the pre-auth sessions nobody can use any more: expired for longer than a signed `state` lives.

    Done each time a session is created (in that transaction) rather than by a periodic job: rows are only
    ever added here, so the table stays as small as the last hour's clicks however the portal is deployed
    (with or without workers), and the delete walks the `expires_at` index. The grace keeps a row for a
    merchant who comes back, or an `authorized` push that arrives, a little after the code expired.
    """
    cutoff = utcnow() - timedelta(seconds=STATE_MAX_AGE)
    return db.session.execute(delete(PreAuthSession).where(PreAuthSession.expires_at < cutoff)).rowcount


def read_state(state, user):
    """The pre-auth session a signed `state` names, if it is fresh and belongs to `user`."""
    try:
        data = _serializer().loads(state, max_age=STATE_MAX_AGE)
    except SignatureExpired:
        raise ValidationFailed(_("The authorization took too long. Please start again.")) from None
    except BadSignature:
        raise NotFound() from None
    if data.get("u") != user.id or (not user.is_staff and data.get("t") != user.tenant_id):
        raise NotFound()
    session = db.session.get(PreAuthSession, data.get("s"))
    if session is None:
        raise NotFound()
    return session


def complete_from_redirect(auth_code, session, user):
    """The merchant came back from WeChat's page with `auth_code`; returns (mini-program, warnings)."""
    if not auth_code:
        raise ValidationFailed(_("WeChat did not send an authorization code. Please try again."))
    return _complete(auth_code, session, actor=user)


def complete_from_push(event_id):
    """The `authorized`/`updateauthorized` push arrived: finish the authorization from it alone."""
    row = db.session.get(CallbackEvent, event_id)
    if row is None:
        return None
    try:
        event = events.parse_event(row.payload)
    except SecretDecryptError as exc:  # the push is the only copy: kept, and the merchant's return still works
        log.error("%s", exc)
        row.outcome, row.detail = OUTCOME_FAILED, "the stored push cannot be decrypted"
        db.session.commit()
        return None
    session = db.session.scalar(select(PreAuthSession).where(PreAuthSession.code_hash == _hash(event.pre_auth_code))) \
        if event.pre_auth_code else None
    try:
        mp, _warnings = _complete(event.authorization_code, session, actor=None, expected_appid=event.appid)
    except (Conflict, ValidationFailed, WeChatFailed) as exc:
        row.outcome, row.detail = OUTCOME_FAILED, exc.message[:2000]
        db.session.commit()
        return None
    row.outcome, row.detail = OUTCOME_APPLIED, f"authorized {mp.authorizer_appid}"
    db.session.commit()
    return mp.id


def _complete(auth_code, session, actor, expected_appid=None):
    lock = f"authorization:{session.id if session else expected_appid}"
    with named_lock(lock):
        db.session.commit()  # end any open transaction so the next reads see other workers' commits
        if session is not None:
            db.session.refresh(session)
            if session.completed_appid:
                mp = db.session.scalar(select(MiniProgram).where(MiniProgram.authorizer_appid == session.completed_appid))
                if mp is not None and mp.is_authorized:
                    return mp, _warnings(mp)
        client = get_client()
        auth, info = _query_auth(auth_code)
        if not info.is_miniprogram:
            raise ValidationFailed(_("This account is not a mini-program. Please authorize a mini-program."))
        tenant_id = session.tenant_id if session else None
        mp = _upsert(auth, info, tenant_id, session.user_id if session else None, actor)
        if session is not None:
            session.completed_appid = mp.authorizer_appid
        db.session.commit()
        client.tokens.cache_authorizer_token(mp.authorizer_appid, mp.authorizer_access_token, mp.authorizer_expires)
        return mp, _warnings(mp)


def bind_new_miniprogram(auth_code, tenant_id, user_id=None):
    """A mini-program WeChat created for `tenant_id` (fast registration): api_query_auth with the push's
    `auth_code`, then api_get_authorizer_info, stored as an authorization is. The caller holds the lock of
    `authorization:<appid>` and commits; returns the row (the token is cached once that commit is done, by
    `cache_token`).

    :raise Conflict: the appid is bound to another tenant. :raise WeChatFailed: WeChat refused.
    """
    auth, info = _query_auth(auth_code)
    return _upsert(auth, info, tenant_id, user_id, actor=None)


def _query_auth(auth_code):
    """api_query_auth, then api_get_authorizer_info of the account it names. :raise WeChatFailed."""
    component = get_client().component
    try:
        auth = component.query_auth(auth_code)
        return auth, component.get_authorizer_info(auth.authorizer_appid)
    except WeChatError as exc:
        raise human_error(exc) from exc


def cache_token(mp):
    """Cache a just-committed authorization's access token for the other processes."""
    get_client().tokens.cache_authorizer_token(mp.authorizer_appid, mp.authorizer_access_token, mp.authorizer_expires)


def assign_unclaimed(row_id, tenant_id, actor):
    """Staff bind an account found in WeChat's authorizer list to a tenant: api_get_authorizer_info, then
    api_authorizer_token with the refresh token the list gave, stored (encrypted) as an authorization is.

    :raise NotFound: no such unclaimed account. :raise ValidationFailed: unknown tenant, not a mini-program,
    no refresh token. :raise Conflict: bound to another tenant meanwhile. :raise WeChatFailed: WeChat refused.
    """
    row = get_unclaimed(row_id)
    if db.session.get(Tenant, tenant_id) is None:
        raise ValidationFailed(_("Choose a tenant."))
    if not row.refresh_token:
        raise ValidationFailed(_("WeChat's list gave no refresh token for this account. Ask its administrator "
                                 "to authorize the platform again."))
    appid, client = row.authorizer_appid, get_client()
    with named_lock(f"authorization:{appid}"):
        try:
            info = client.component.get_authorizer_info(appid)
            if not info.is_miniprogram:
                raise ValidationFailed(_("This account is not a mini-program. Please authorize a mini-program."))
            token = client.component.refresh_authorizer_token(appid, row.refresh_token)
        except WeChatError as exc:
            raise human_error(exc) from exc
        auth = Authorization(appid, token.access_token, token.expires_in, token.refresh_token, info.func_ids)
        mp = _upsert(auth, info, tenant_id, None, actor)
        db.session.delete(row)
        db.session.commit()
    client.tokens.cache_authorizer_token(appid, mp.authorizer_access_token, mp.authorizer_expires)
    return mp


def _upsert(auth, info, tenant_id, user_id, actor):
    mp = db.session.scalar(select(MiniProgram).where(MiniProgram.authorizer_appid == auth.authorizer_appid))
    if mp is not None and mp.tenant_id and tenant_id and mp.tenant_id != tenant_id:
        raise Conflict(_("This mini-program is already bound to another tenant. Ask the platform staff to "
                         "transfer it."))
    created = mp is None
    if created:
        mp = MiniProgram(authorizer_appid=auth.authorizer_appid, tenant_id=tenant_id, uid=user_id)
        db.session.add(mp)
    elif mp.tenant_id is None:
        mp.tenant_id = tenant_id
    _fill_profile(mp, info, auth)
    mp.auth_state, mp.authorized_at, mp.unauthorized_at = AUTH_AUTHORIZED, utcnow(), None
    # The refresh token is written in the same transaction as the row: it is never lost.
    mp.authorizer_access_token, mp.authorizer_expires = auth.access_token, epoch() + auth.expires_in
    mp.authorizer_refresh_token, mp.refresh_token_updated_at = auth.refresh_token, utcnow()
    if user_id and not mp.uid:
        mp.uid = user_id
    db.session.flush()
    activity.record("authorization.granted" if created else "authorization.updated", actor=actor, miniprogram=mp,
                    detail=f"permission sets {list(auth.func_ids)}")
    return mp


def _fill_profile(mp, info, auth):
    """Copy every seed column WeChat gives us from api_get_authorizer_info / api_query_auth."""
    raw = info.raw.get("authorizer_info") or {}
    mp.nick_name, mp.head_img, mp.user_name = info.nick_name[:64], info.head_img[:512], info.user_name[:45]
    mp.principal_name, mp.alias = info.principal_name[:128], (raw.get("alias") or "")[:64] or None
    mp.signature, mp.qrcode_url = (raw.get("signature") or "")[:255] or None, (raw.get("qrcode_url") or "")[:512] or None
    mp.verify_type_info = (raw.get("verify_type_info") or {}).get("id")
    mp.business_info = json.dumps(raw.get("business_info") or {}, ensure_ascii=False)
    mp.miniprograminfo = json.dumps(raw.get("MiniProgramInfo") or {}, ensure_ascii=False)
    mp.idc = raw.get("idc")
    func_info = (auth.raw.get("authorization_info") or {}).get("func_info") or \
        (info.raw.get("authorization_info") or {}).get("func_info") or []
    mp.func_info = json.dumps(func_info, ensure_ascii=False)


def _warnings(mp):
    if CODE_MANAGEMENT_FUNCSCOPE not in mp.funcscope_ids:
        return [_("The permission set “development management” (18) was not granted, so code upload, audit and "
                  "release will not work. Authorize again and keep it ticked.")]
    return []


def transfer(mp_id, tenant_id, actor):
    """Staff move a mini-program to another tenant."""
    mp = db.session.get(MiniProgram, mp_id)
    if mp is None:
        raise NotFound()
    old = mp.tenant_id
    mp.tenant_id = tenant_id
    activity.record("authorization.transfer", actor=actor, miniprogram=mp, detail=f"tenant {old} -> {tenant_id}")
    db.session.commit()
    return mp
