"""Authorizing a mini-program or an official account to the platform: the authorization page, the redirect
back, and the `authorized` push that completes it even when the merchant's browser never comes back.

The merchant picks the kind of account WeChat's page offers (`auth_type` 2 mini-programs, 1 official
accounts, 3 both). The administrator confirms one account per visit (授权流程技术说明, 步骤五: the page
redirects with one 授权码, and api_query_auth answers with one `authorizer_appid`), so "both" still yields
one account per return. Its kind is read from api_get_authorizer_info (`MiniProgramInfo` is present only for
a mini-program: 「可根据这个字段判断是否为小程序类型授权」) and it is stored in `wxminiprograms` or `wxuser`.

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
from portal.models import CallbackEvent, MiniProgram, OfficialAccount, PreAuthSession, Tenant
from portal.models.callback import OUTCOME_APPLIED, OUTCOME_FAILED
from portal.models.miniprogram import AUTH_AUTHORIZED, CODE_MANAGEMENT_FUNCSCOPE
from portal.secretbox import SecretDecryptError
from portal.services import activity
from portal.services.authorizers import get_unclaimed
from portal.services.locks import named_lock
from portal.services.tokens import find_authorizer
from portal.services.wechat import get_client, human_error  # noqa: F401 - human_error re-exported
from portal.timeutil import epoch, utcnow
from portal.wechat import callbacks as events
from portal.wechat.component import Authorization
from portal.wechat.errors import WeChatError

log = logging.getLogger("portal.authorization")
STATE_MAX_AGE = 3600
# The account kinds a merchant may offer on WeChat's page, and the auth_type each one is (授权流程技术说明:
# 「1 则商户点击链接后，手机端仅展示公众号；2 表示仅展示小程序；3 表示公众号和小程序都展示」).
AUTH_TYPES = {"miniprogram": 2, "official_account": 1, "both": 3}


def _hash(code):
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wechat-authorization")


def start_authorization(user, tenant_id, redirect_base, account_kind="miniprogram"):
    """Create a fresh pre-auth code (api_create_preauthcode) and both authorization URLs offering the
    `account_kind` (a key of AUTH_TYPES). Called when the merchant clicks (a POST), never to show a page:
    each code is a WeChat call.

    :raise WeChatFailed: with a human message when WeChat refuses. :raise ValidationFailed: unknown kind.
    """
    if account_kind not in AUTH_TYPES:
        raise ValidationFailed(_("Choose the kind of account to authorize."))
    auth_type = AUTH_TYPES[account_kind]
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
        "pc_url": client.component.pc_authorization_url(code.pre_auth_code, redirect_uri, auth_type=auth_type),
        "mobile_url": client.component.mobile_authorization_url(code.pre_auth_code, redirect_uri,
                                                                auth_type=auth_type),
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
    """The merchant came back from WeChat's page with `auth_code`; returns (account, warnings), the account
    a `MiniProgram` or an `OfficialAccount`."""
    if not auth_code:
        raise ValidationFailed(_("WeChat did not send an authorization code. Please try again."))
    return _complete(auth_code, session, actor=user)


def complete_from_push(event_id):
    """The `authorized`/`updateauthorized` push arrived: finish the authorization from it alone. Returns the
    appid stored, or None."""
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
    return mp.authorizer_appid


def _complete(auth_code, session, actor, expected_appid=None):
    lock = f"authorization:{session.id if session else expected_appid}"
    with named_lock(lock):
        db.session.commit()  # end any open transaction so the next reads see other workers' commits
        if session is not None:
            db.session.refresh(session)
            if session.completed_appid:
                account = find_authorizer(db.session, session.completed_appid)
                if account is not None and account.is_authorized:
                    return account, _warnings(account)
        client = get_client()
        auth, info = _query_auth(auth_code)
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

    A mini-program lands in `wxminiprograms`, an official account in `wxuser`.

    :raise NotFound: no such unclaimed account. :raise ValidationFailed: unknown tenant, no refresh token. :raise Conflict: bound to another tenant meanwhile. :raise WeChatFailed: WeChat refused.
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
    """Store the authorized account with its tokens: a mini-program in `wxminiprograms`, an official account
    in `wxuser` (the kind api_get_authorizer_info gave)."""
    model = MiniProgram if info.is_miniprogram else OfficialAccount
    row = db.session.scalar(select(model).where(model.authorizer_appid == auth.authorizer_appid))
    if row is not None and row.tenant_id and tenant_id and row.tenant_id != tenant_id:
        raise Conflict(_("This mini-program is already bound to another tenant. Ask the platform staff to "
                         "transfer it.") if info.is_miniprogram else
                       _("This official account is already bound to another tenant. Ask the platform staff to "
                         "transfer it."))
    created = row is None
    if created:
        row = model(authorizer_appid=auth.authorizer_appid, tenant_id=tenant_id, uid=user_id)
        db.session.add(row)
    elif row.tenant_id is None:
        row.tenant_id = tenant_id
    (_fill_profile if info.is_miniprogram else _fill_official_profile)(row, info, auth)
    row.auth_state, row.authorized_at, row.unauthorized_at = AUTH_AUTHORIZED, utcnow(), None
    # The refresh token is written in the same transaction as the row: it is never lost.
    row.authorizer_access_token, row.authorizer_expires = auth.access_token, epoch() + auth.expires_in
    row.authorizer_refresh_token, row.refresh_token_updated_at = auth.refresh_token, utcnow()
    if user_id and not row.uid:
        row.uid = user_id
    db.session.flush()
    action = "authorization.granted" if created else "authorization.updated"
    if info.is_miniprogram:
        activity.record(action, actor=actor, miniprogram=row, detail=f"permission sets {list(auth.func_ids)}")
    else:
        activity.record(action, actor=actor, tenant_id=row.tenant_id,
                        detail=f"official account {row.appid}, permission sets {list(auth.func_ids)}")
    return row


def _fill_official_profile(oa, info, auth):
    """The `wxuser` columns from api_get_authorizer_info's official-account answer."""
    raw = info.raw.get("authorizer_info") or {}
    oa.nick_name, oa.head_img, oa.user_name = info.nick_name[:64], info.head_img[:512], info.user_name[:45]
    oa.principal_name, oa.alias = info.principal_name[:128], (raw.get("alias") or "")[:64] or None
    oa.qrcode_url = (raw.get("qrcode_url") or "")[:512] or None
    oa.service_type_info, oa.verify_type_info = info.service_type, info.verify_type
    oa.business_info = json.dumps(raw.get("business_info") or {}, ensure_ascii=False)
    oa.func_info = json.dumps(_func_info(auth, info), ensure_ascii=False)


def _func_info(auth, info):
    return (auth.raw.get("authorization_info") or {}).get("func_info") or \
        (info.raw.get("authorization_info") or {}).get("func_info") or []


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
    mp.func_info = json.dumps(_func_info(auth, info), ensure_ascii=False)


def _warnings(mp):
    if isinstance(mp, MiniProgram) and CODE_MANAGEMENT_FUNCSCOPE not in mp.funcscope_ids:
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
