"""Reconciling with WeChat's authorizer list (api_get_authorizer_list), daily and from the CLI.

WeChat's list is the truth about who has authorized the platform. `sync_authorizers` stores the refresh
token it lists for each authorized account, mini-program or official account (the canonical recovery for lost tokens, WxJava #1119), flags apps
it no longer lists, and notes the accounts it lists that the portal has no row for (their push and their
administrator's return were both lost) as `UnclaimedAuthorizer` rows, for staff to assign to a tenant
(`authorization.assign_unclaimed`).
"""

import logging

from sqlalchemy import select

from portal.errors import NotFound
from portal.extensions import db
from portal.models import MiniProgram, OfficialAccount, UnclaimedAuthorizer
from portal.models.miniprogram import AUTH_AUTHORIZED
from portal.services.wechat import get_client
from portal.timeutil import from_epoch, utcnow
from portal.wechat.errors import WeChatError

log = logging.getLogger("portal.authorizers")


def sync_authorizers():
    """Read every page of api_get_authorizer_list and reconcile; returns counts for the job log."""
    client = get_client()
    listed = {item.authorizer_appid: item for item in client.component.iter_authorizers()}
    counts = {"listed": len(listed), "updated": 0, "lost": 0}
    rows = [row for model in (MiniProgram, OfficialAccount)
            for row in db.session.scalars(select(model).where(model.auth_state == AUTH_AUTHORIZED))]
    for mp in rows:
        item = listed.get(mp.authorizer_appid)
        if item is None:
            counts["lost"] += 1
            db.session.commit()
            client.tokens.mark_needs_reauth(mp.authorizer_appid, "not in api_get_authorizer_list")
        elif item.refresh_token and item.refresh_token != mp.authorizer_refresh_token:
            mp.authorizer_refresh_token, mp.refresh_token_updated_at = item.refresh_token, utcnow()
            counts["updated"] += 1
    db.session.commit()
    counts["unclaimed"] = _note_unclaimed(client, listed)
    return counts


def _note_unclaimed(client, listed):
    """Keep one `UnclaimedAuthorizer` per listed account without a wxminiprograms or wxuser row; drop the
    others."""
    known = set(db.session.scalars(select(MiniProgram.authorizer_appid))) | \
        set(db.session.scalars(select(OfficialAccount.appid)))
    wanted = {appid: item for appid, item in listed.items() if appid not in known}
    rows = {row.authorizer_appid: row for row in db.session.scalars(select(UnclaimedAuthorizer))}
    for appid, row in rows.items():
        if appid not in wanted:  # no longer listed, or authorized the usual way since
            db.session.delete(row)
    now = utcnow()
    for appid, item in wanted.items():
        row = rows.get(appid) or UnclaimedAuthorizer(authorizer_appid=appid, first_seen_at=now)
        row.refresh_token = item.refresh_token or row.refresh_token
        row.authorized_at = from_epoch(item.auth_time)
        row.last_seen_at = now
        db.session.add(row)
        if row.is_miniprogram is None:
            _describe(client, row)
    db.session.commit()
    return len(wanted)


def _describe(client, row):
    """Name and kind from api_get_authorizer_info, once; a failure is retried by the next sync."""
    try:
        info = client.component.get_authorizer_info(row.authorizer_appid)
    except WeChatError as exc:
        log.warning("api_get_authorizer_info for unclaimed %s failed: %s", row.authorizer_appid,
                    exc.errcode or exc.__class__.__name__)
        return
    row.nick_name, row.principal_name = info.nick_name[:64] or None, info.principal_name[:128] or None
    row.is_miniprogram = info.is_miniprogram


def list_unclaimed():
    """Unclaimed accounts for the staff page: mini-programs (and not yet known kinds) first, newest first."""
    return db.session.scalars(select(UnclaimedAuthorizer).order_by(
        UnclaimedAuthorizer.is_miniprogram.is_(False), UnclaimedAuthorizer.first_seen_at.desc(),
        UnclaimedAuthorizer.id.desc())).all()


def get_unclaimed(row_id):
    """:raise NotFound: no such row (assigned or gone since)."""
    row = db.session.get(UnclaimedAuthorizer, row_id)
    if row is None:
        raise NotFound()
    return row
