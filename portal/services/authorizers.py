"""Reconciling with WeChat's authorizer list (api_get_authorizer_list): nightly, from the CLI, and when
staff ask for it ("sync with WeChat now").

WeChat's list is the truth about who has authorized the platform. A sync reads every page of it, stores the
refresh token it lists for each app (the canonical recovery for lost tokens, WxJava #1119), and reports
three kinds of drift, each kept as an `AuthorizerSyncFinding` of the run:
- accounts it lists that the portal has no row for (their push and their administrator's return were both
  lost): noted as `UnclaimedAuthorizer` rows for staff to assign (`authorization.assign_unclaimed`);
- apps authorized here that it no longer lists (the `unauthorized` push was lost): marked unauthorized, as
  that push would have;
- mini-programs whose permission sets changed (an `updateauthorized` push was lost): the list does not
  carry func_info, so each listed mini-program is read with api_get_authorizer_info and its func_info
  stored anew.
One sync runs at a time (`AuthorizerSync.active_key`); its row carries the progress the report page polls.
"""

import json
import logging
import time
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq import get_current_job
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.errors import NotFound
from portal.extensions import db
from portal.models import (
    AuthorizerSync,
    AuthorizerSyncFinding,
    MiniProgram,
    OfficialAccount,
    UnclaimedAuthorizer,
)
from portal.models.authorizer_sync import (
    ACTIVE_KEY,
    FOUND_LOST,
    FOUND_PERMISSIONS,
    FOUND_UNKNOWN,
    ORIGIN_SCHEDULED,
    ORIGIN_STAFF,
    STEP_CHECKING,
    STEP_LISTING,
    SYNC_DONE,
    SYNC_FAILED,
    SYNC_QUEUED,
    SYNC_RUNNING,
)
from portal.models.miniprogram import AUTH_AUTHORIZED, AUTH_UNAUTHORIZED
from portal.queueing import enqueue
from portal.services import activity
from portal.services.jobs import in_every_language, wechat_error_in_every_language
from portal.services.wechat import get_client
from portal.timeutil import from_epoch, utcnow
from portal.wechat.errors import AuthorizationLost, WeChatError

log = logging.getLogger("portal.authorizers")

SYNC_JOB = "portal.jobs.tokens.sync_authorizers"
STALE_SECONDS = 1800  # a sync whose heartbeat is older lost its worker: another may start
PROGRESS_EVERY = 20  # apps checked between two progress writes
CHECK_SECONDS = 600  # time for api_get_authorizer_info calls per sync, within the maintenance queue's 900 s
LOST_WORKER = _l("This sync stopped without finishing (its worker was lost). Start it again.")
UNEXPECTED = _l("An unexpected error stopped this sync. The platform staff were told.")


def start_sync(actor):
    """Staff: run the sync now, as a job. Returns (sync, created); while one runs, that one, not created."""
    run, created = _claim(ORIGIN_STAFF, actor)
    if created:
        enqueue(SYNC_JOB, run.id, queue="maintenance", job_id=f"authorizer-sync:{run.id}")
    return run, created


def _claim(origin, actor=None):
    _release_stale()
    run = AuthorizerSync(origin=origin, actor_id=getattr(actor, "id", None), state=SYNC_QUEUED,
                         active_key=ACTIVE_KEY)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # the unique active_key: another sync is queued or running
        db.session.rollback()
        existing = db.session.scalar(select(AuthorizerSync).where(AuthorizerSync.active_key == ACTIVE_KEY))
        if existing is not None:
            return existing, False
        raise
    return run, True


def _release_stale():
    seconds = current_app.config.get("AUTHORIZER_SYNC_STALE_SECONDS", STALE_SECONDS)
    row = db.session.scalar(select(AuthorizerSync).where(AuthorizerSync.active_key == ACTIVE_KEY))
    if row is not None and (row.heartbeat_at or row.created_at) < utcnow() - timedelta(seconds=seconds):
        log.warning("authorizer sync %s lost its worker", row.id)
        _finish(row, SYNC_FAILED, in_every_language(LOST_WORKER))


def sync_authorizers(sync_id=None, origin=ORIGIN_SCHEDULED):
    """Run a sync: the one staff started (`sync_id`), or a new one from `origin` (the nightly job, or
    ORIGIN_COMMAND for the CLI). Returns counts for the job log. A WeChat failure fails the run with its
    reason in words, and the next run tries again; nothing is retried here, as each run starts from
    WeChat's list anew."""
    if sync_id is None:
        run, created = _claim(origin)
        if not created:
            return {"skipped": True, "running": run.id}
    else:
        run = db.session.get(AuthorizerSync, sync_id)
        if run is None or not run.is_active:
            return {"sync": sync_id, "skipped": True}
    try:
        counts = _reconcile(run)
    except WeChatError as exc:
        db.session.rollback()
        log.warning("authorizer sync %s failed: %s", run.id, exc.errcode or exc.__class__.__name__)
        _finish(run, SYNC_FAILED, wechat_error_in_every_language(exc))
        return {"sync": run.id, "failed": True}
    except Exception:
        db.session.rollback()
        _finish(run, SYNC_FAILED, in_every_language(UNEXPECTED))
        raise
    _finish(run, SYNC_DONE)
    return {"sync": run.id, **counts}


def _reconcile(run):
    client = get_client()
    run.state, run.started_at = SYNC_RUNNING, utcnow()
    since = run.started_at.replace(microsecond=0)  # as a DATETIME column without fractions keeps it
    _progress(run, STEP_LISTING, 0, 0)
    listed = {}
    for item in client.component.iter_authorizers():
        listed[item.authorizer_appid] = item
        if len(listed) % 500 == 0:  # one page
            _progress(run, STEP_LISTING, len(listed), 0)
    run.listed = len(listed)
    rows = [row for model in (MiniProgram, OfficialAccount)
            for row in db.session.scalars(select(model).where(model.auth_state == AUTH_AUTHORIZED).order_by(model.id))]
    saved, lost, listed_here = 0, 0, []
    for mp in rows:
        item = listed.get(mp.authorizer_appid)
        if item is None and _authorized_meanwhile(client, mp, since):
            continue  # the next sync sees it listed
        if item is None:
            mark_unauthorized(mp, "no longer in api_get_authorizer_list")
            _found(run, FOUND_LOST, mp.authorizer_appid, mp)
            lost += 1
            continue
        if isinstance(mp, MiniProgram):
            listed_here.append(mp.id)
        if item.refresh_token and item.refresh_token != mp.authorizer_refresh_token:
            mp.authorizer_refresh_token, mp.refresh_token_updated_at = item.refresh_token, utcnow()
            saved += 1
    run.tokens_saved, run.lost_count = saved, lost
    db.session.commit()
    run.changed_count, run.unchecked_count = _check_permissions(client, run, listed_here)
    run.unknown_count = _note_unclaimed(client, listed, run)
    return {"listed": run.listed, "updated": saved, "lost": run.lost_count, "unclaimed": run.unknown_count,
            "changed": run.changed_count, "unchecked": run.unchecked_count}


def _authorized_meanwhile(client, mp, since):
    """Whether an app missing from the list was authorized while the list was read (pages shift as accounts
    come and go). Only apps authorized since the sync began are asked, of api_get_authorizer_info, which
    answers 61003 for an account not authorized; for the others the list is the truth."""
    if mp.authorized_at is None or mp.authorized_at < since:
        return False
    try:
        client.component.get_authorizer_info(mp.authorizer_appid)
    except AuthorizationLost:
        return False
    except WeChatError:
        return True  # not known now: the next sync decides
    return True


def mark_unauthorized(account, detail):
    """Record that `account` (a mini-program or an official account) is no longer authorized to the
    platform and drop its tokens (the `unauthorized` push, or a sync that no longer finds it in WeChat's
    list). The caller commits."""
    account.auth_state, account.unauthorized_at = AUTH_UNAUTHORIZED, utcnow()
    account.authorizer_access_token = account.authorizer_refresh_token = None
    if isinstance(account, OfficialAccount):
        account.authorizer_expires = 0  # as the seed's `unauthorized` handler leaves wxuser
        activity.record("authorization.revoked", tenant_id=account.tenant_id,
                        detail=f"official account {account.appid}: {detail}")
    else:
        account.authorizer_expires = None
        activity.record("authorization.revoked", miniprogram=account, detail=detail)
    get_client().tokens.forget_authorizer(account.authorizer_appid)


def _check_permissions(client, run, mp_ids):
    """Compare the listed apps' stored permission sets with api_get_authorizer_info's func_info and store
    the new ones, the apps checked longest ago first, within a time budget: one call per app does not fit
    a job's timeout at every fleet size, so what is left is checked first by the next sync. Returns
    (changed, unchecked); an app WeChat does not answer for is unchecked too."""
    deadline = time.monotonic() + current_app.config.get("AUTHORIZER_SYNC_CHECK_SECONDS", CHECK_SECONDS)
    order = db.session.scalars(select(MiniProgram.id).where(MiniProgram.id.in_(mp_ids)).order_by(
        MiniProgram.permissions_checked_at.is_(None).desc(), MiniProgram.permissions_checked_at,
        MiniProgram.id)).all() if mp_ids else []
    changed = unchecked = 0
    _progress(run, STEP_CHECKING, 0, len(order))
    for done, mp_id in enumerate(order, start=1):
        if time.monotonic() > deadline:
            unchecked += len(order) - done + 1
            log.warning("authorizer sync %s: %d apps left for the next sync", run.id, len(order) - done + 1)
            break
        outcome = _check_one(client, run, db.session.get(MiniProgram, mp_id))
        changed, unchecked = changed + (outcome is True), unchecked + (outcome is None)
        if done % PROGRESS_EVERY == 0 or done == len(order):
            _progress(run, STEP_CHECKING, done, len(order))
    db.session.commit()
    return changed, unchecked


def _check_one(client, run, mp):
    """True when the app's permission sets changed (stored anew), False when not, None when WeChat did
    not answer."""
    try:
        info = client.component.get_authorizer_info(mp.authorizer_appid)
    except WeChatError as exc:
        log.warning("api_get_authorizer_info for %s failed: %s", mp.authorizer_appid,
                    exc.errcode or exc.__class__.__name__)
        return None
    mp.permissions_checked_at = utcnow()
    before, after = set(mp.funcscope_ids), set(info.func_ids)
    if before == after:
        return False
    mp.func_info = json.dumps((info.raw.get("authorization_info") or {}).get("func_info") or [], ensure_ascii=False)
    added, removed = sorted(after - before), sorted(before - after)
    _found(run, FOUND_PERMISSIONS, mp.authorizer_appid, mp, added=added, removed=removed)
    activity.record("authorization.permissions", miniprogram=mp,
                    detail=f"permission sets added {added}, removed {removed} (api_get_authorizer_info)")
    return True


def _note_unclaimed(client, listed, run):
    """Keep one `UnclaimedAuthorizer` per listed account without a wxminiprograms row; drop the others.
    WeChat is asked about new ones before anything is written, so no write waits on its answers."""
    db.session.commit()  # the findings so far
    known = set(db.session.scalars(select(MiniProgram.authorizer_appid))) | \
        set(db.session.scalars(select(OfficialAccount.appid)))
    wanted = {appid: item for appid, item in listed.items() if appid not in known}
    rows = {row.authorizer_appid: row for row in db.session.scalars(select(UnclaimedAuthorizer))}
    described = {appid: _describe(client, appid) for appid in wanted
                 if appid not in rows or rows[appid].is_miniprogram is None}
    for appid, row in rows.items():
        if appid not in wanted:  # no longer listed, or authorized the usual way since
            db.session.delete(row)
    now = utcnow()
    for appid, item in wanted.items():
        row = rows.get(appid) or UnclaimedAuthorizer(authorizer_appid=appid, first_seen_at=now)
        row.refresh_token = item.refresh_token or row.refresh_token
        row.authorized_at = from_epoch(item.auth_time)
        row.last_seen_at = now
        info = described.get(appid)
        if info is not None:
            row.nick_name, row.principal_name = info.nick_name[:64] or None, info.principal_name[:128] or None
            row.is_miniprogram = info.is_miniprogram
        db.session.add(row)
        _found(run, FOUND_UNKNOWN, appid, name=row.nick_name)
    db.session.commit()
    return len(wanted)


def _describe(client, appid):
    """Name and kind from api_get_authorizer_info, once; None after a failure (the next sync asks again)."""
    try:
        return client.component.get_authorizer_info(appid)
    except WeChatError as exc:
        log.warning("api_get_authorizer_info for unclaimed %s failed: %s", appid, exc.errcode or exc.__class__.__name__)
        return None


def _found(run, kind, appid, mp=None, name=None, added=None, removed=None):
    db.session.add(AuthorizerSyncFinding(
        sync_id=run.id, kind=kind, authorizer_appid=appid,
        miniprogram_id=mp.id if isinstance(mp, MiniProgram) else None,
        name=(name or getattr(mp, "nick_name", None) or "")[:64] or None,
        added=None if added is None else json.dumps(added), removed=None if removed is None else json.dumps(removed)))


def _progress(run, step, done, total):
    """Where the run is, committed (the report page polls it) and mirrored in RQ's job.meta."""
    run.step, run.progress_done, run.progress_total, run.heartbeat_at = step, done, total, utcnow()
    db.session.commit()
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = f"{step} {done}/{total}"
        job.save_meta()


def _finish(run, state, texts=None):
    run.state, run.finished_at, run.active_key = state, utcnow(), None
    run.message = json.dumps(texts, ensure_ascii=False) if texts else None
    db.session.commit()
    log.info("authorizer sync %s %s", run.id, state)


# --- what the pages read ---

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


def latest_sync():
    """The newest sync (running or ended) with the staff member who started it, or None."""
    return db.session.scalar(select(AuthorizerSync).options(joinedload(AuthorizerSync.actor))
                             .order_by(AuthorizerSync.id.desc()).limit(1))


def get_sync(sync_id):
    """:raise NotFound: no such sync."""
    run = db.session.get(AuthorizerSync, sync_id)
    if run is None:
        raise NotFound()
    return run


def findings(run, limit=200):
    """{kind: (total, the first `limit` findings)} of a sync."""
    totals = dict(db.session.execute(select(AuthorizerSyncFinding.kind, db.func.count())
                                     .where(AuthorizerSyncFinding.sync_id == run.id)
                                     .group_by(AuthorizerSyncFinding.kind)).all())
    result = {}
    for kind in (FOUND_UNKNOWN, FOUND_LOST, FOUND_PERMISSIONS):
        rows = db.session.scalars(select(AuthorizerSyncFinding).where(
            AuthorizerSyncFinding.sync_id == run.id, AuthorizerSyncFinding.kind == kind)
            .order_by(AuthorizerSyncFinding.id).limit(limit)).all() if totals.get(kind) else []
        result[kind] = (totals.get(kind, 0), rows)
    return result


def latest_permission_change(mp_id):
    """The newest permission-set change a sync found for the app, or None."""
    return db.session.scalar(select(AuthorizerSyncFinding).where(
        AuthorizerSyncFinding.miniprogram_id == mp_id, AuthorizerSyncFinding.kind == FOUND_PERMISSIONS)
        .order_by(AuthorizerSyncFinding.id.desc()).limit(1))


def describe(run, lang):
    """What the status endpoint returns (the shape static/js/jobs.js follows)."""
    return {"id": run.id, "state": run.state, "active": run.is_active, "message": progress_text(run, lang)}


def progress_text(run, lang):
    """Where a sync is, or why it failed, in words."""
    if run.state == SYNC_FAILED:
        texts = json.loads(run.message or "{}")
        return texts.get(lang) or next(iter(texts.values()), "")
    if run.state == SYNC_QUEUED:
        return _("Waiting for a worker.")
    if run.state == SYNC_RUNNING and run.step == STEP_LISTING:
        return _("Reading WeChat's authorizer list: %(n)d accounts so far.", n=run.progress_done)
    if run.state == SYNC_RUNNING:
        return _("Checking permission sets: %(done)d of %(total)d apps.", done=run.progress_done,
                 total=run.progress_total)
    return ""
