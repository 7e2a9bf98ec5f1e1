"""The portal's `TokenStore`: component and authorizer access tokens that never die, refresh tokens that
are never lost.

- The database is the authoritative copy (ciphertext): the component token on `weixin_account`, each
  authorizer's access and refresh token on its row, written together in one transaction. An authorizer is a
  mini-program (`wxminiprograms`) or an official account (`wxuser`); both models carry the same token
  columns under the same names, and an appid is one account in WeChat, so one code path serves both.
- The app's coordination caches access tokens (Redis when configured; nothing is cached in embedded mode)
  and holds the single-flight refresh lock (in Redis `SET NX PX`, released by compare-and-delete), so many
  workers on many machines refresh a token once. Without Redis (embedded mode, one process) a per-key
  thread lock does the same.
- Tokens are refreshed `REFRESH_MARGIN` seconds before they expire; after taking the lock the cache is
  read again, so waiters reuse the token the winner fetched.
- On 40001/40014/42001 the client calls `invalidate_*` with the token that failed; the cache is dropped
  only if it still holds that token (WxJava #1300).
- On 61023 a refresh token another process has stored meanwhile is used (or the token it fetched with it);
  else the refresh token is re-read from `api_get_authorizer_list`; if WeChat no longer lists the app it is
  marked "needs re-authorization".
The store uses its own database session so it never commits a caller's unfinished work.
"""

import hashlib
import json
import logging
import time
from contextlib import contextmanager

from flask import g, has_app_context, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import ComponentAccount, MiniProgram, OfficialAccount
from portal.models.miniprogram import AUTH_AUTHORIZED, AUTH_NEEDS_REAUTH
from portal.secretbox import SecretDecryptError, binding
from portal.services.connections import holds_sqlite_write_lock
from portal.services.locks import LockBusy, named_lock
from portal.timeutil import utcnow
from portal.wechat.errors import AppNotAuthorized, AuthorizationLost, RefreshTokenInvalid, WeChatError

log = logging.getLogger("portal.tokens")
AUTHORIZER_MODELS = (MiniProgram, OfficialAccount)  # the account kinds whose tokens the store keeps

REFRESH_MARGIN = 600  # seconds before expiry when a token counts as stale
TICKET_MAX_AGE = 12 * 3600  # WeChat's ticket validity
LOCK_TTL_MS = 20_000  # longer than a refresh can take (timeouts included); a crashed holder frees it then
LOCK_WAIT_SECONDS = 25.0
# A refresh token another process replaced meanwhile (61023) is followed this many times, pausing a little
# longer each time for that process to store what it fetched.
ROTATION_ATTEMPTS = 4
ROTATION_PAUSE_SECONDS = 0.05


def find_authorizer(session, appid):
    """The row of `appid` in `session`, whichever kind of account it is (an appid is one account in
    WeChat), or None."""
    for model in AUTHORIZER_MODELS:
        row = session.scalar(select(model).where(model.authorizer_appid == appid))
        if row is not None:
            return row
    return None


class TokenUnavailable(WeChatError):
    """No token could be obtained now (no ticket yet, lock held too long); retry later."""

    retryable = True
    retry_after = 10.0
    _human = ("暂时无法获取接口调用凭据，请稍后重试。", "WeChat credentials are not available right now; try again shortly.")


class NotAuthorized(AppNotAuthorized):
    """The account (mini-program or official account) is not (or no longer) authorized to the platform."""

    def __init__(self, appid):
        super().__init__(self.errcode, "account is not authorized to this platform", "token", None)
        self.appid = appid


def _request_memo():
    """The tokens this web request (or `read_once` block) has read already ({cache key: (token,
    expires_at)}) and those it could not have ({("failed", cache key): the error}), so a page that calls
    WeChat several times reads each token once; elsewhere, an empty dict nobody keeps."""
    if not has_request_context() and not (has_app_context() and g.get("wechat_tokens_read_once")):
        return {}
    return g.setdefault("wechat_tokens", {})


@contextmanager
def read_once():
    """Within the block, each token is read once, as in a web request: for a job's unit of work that makes
    several WeChat calls for one app within a second or so (a fleet step), each of which would otherwise
    read and decrypt the cached token again. A token WeChat rejects is dropped from the memo as from the
    cache (`_invalidate`), so the retry reads the new one. Needs the job's own app context."""
    outer = g.get("wechat_tokens_read_once")
    g.wechat_tokens_read_once = True
    try:
        yield
    finally:
        if not outer:
            g.pop("wechat_tokens_read_once", None)
            if not has_request_context():
                g.pop("wechat_tokens", None)


def fingerprint(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


class PortalTokenStore:
    """Implements `portal.wechat.tokens.TokenStore` for one app (see the module docstring)."""

    def __init__(self, app, component):
        self.app = app
        self.component = component  # the `ComponentAPI` that fetches tokens (and asks this store for its own)

    # --- protocol ---

    def get_component_token(self):
        return self._get("component", self._read_component, self._refresh_component)

    def get_authorizer_token(self, appid):
        return self._get(f"authorizer:{appid}", lambda: self._read_authorizer(appid),
                         lambda: self._refresh_authorizer(appid))

    def invalidate_component_token(self, failed_token):
        self._invalidate("component", failed_token, lambda: self._expire_component(failed_token))

    def invalidate_authorizer_token(self, appid, failed_token):
        self._invalidate(f"authorizer:{appid}", failed_token, lambda: self._expire_authorizer(appid, failed_token))

    # --- what is held now, without refreshing (the token service API reads expiries here) ---

    def current_component_token(self):
        """(token, expires_at epoch seconds) as cached or stored, or None; never calls WeChat."""
        return self._cache_read("component") or self._read_component()

    def current_authorizer_token(self, appid):
        """(token, expires_at) as cached or stored, or None; never calls WeChat. :raise NotAuthorized:"""
        return self._cache_read(f"authorizer:{appid}") or self._read_authorizer(appid)

    # --- operations used by jobs and the token page ---

    def force_refresh_authorizer(self, appid):
        """Refresh now, whatever the expiry (single-flight); returns the new access token."""
        with self._lock(f"authorizer:{appid}"):
            return self._refresh_authorizer(appid)

    def force_refresh_component(self):
        with self._lock("component"):
            return self._refresh_component()

    def refresh_if_expiring(self, appid, within):
        """Refresh the authorizer token if it expires within `within` seconds (the proactive refresher).

        Re-checked under the lock, so several schedulers running at once still refresh once.
        """
        key = f"authorizer:{appid}"
        with self._lock(key):
            cached = self._cache_read(key, fresh=True) or self._read_authorizer(appid)
            if cached and cached[1] - within > time.time():
                return False
            self._refresh_authorizer(appid)
            return True

    def refresh_component_if_expiring(self, within):
        with self._lock("component"):
            cached = self._cache_read("component", fresh=True) or self._read_component()
            if cached and cached[1] - within > time.time():
                return False
            self._refresh_component()
            return True

    # --- the single-flight skeleton ---

    def _get(self, key, read, refresh):
        failed = _request_memo().get(("failed", self._cache_key(key)))
        if failed is not None:
            raise failed  # this request could not have the token a moment ago: its next call fails alike
        try:
            cached = self._cache_read(key) or self._remember(key, read())
            if cached and cached[1] - REFRESH_MARGIN > time.time():
                return cached[0]
            with self._lock(key):
                cached = self._cache_read(key, fresh=True) or self._remember(key, read())
                if cached and cached[1] - REFRESH_MARGIN > time.time():
                    return cached[0]
                return refresh()
        except (TokenUnavailable, NotAuthorized) as exc:
            _request_memo()[("failed", self._cache_key(key))] = exc
            raise

    def _invalidate(self, key, failed_token, expire_in_db):
        with self._lock(key):
            cached = self._cache_read(key, fresh=True)
            if cached and cached[0] != failed_token:
                return  # someone already refreshed: keep the new token
            self._cache_drop(key)
            expire_in_db()

    # --- cache (the coordination's shared cache: Redis when configured; values are ciphertext) ---

    @property
    def _coordination(self):
        return self.app.extensions["coordination"]

    @property
    def _box(self):
        return self.app.extensions["secretbox"]

    def _cache_key(self, key):
        return f"wxtok:{self.component.config.component_appid}:{key}"

    def _cache_read(self, key, fresh=False):
        """What the cache holds, through this request's memo; `fresh` (under the refresh lock, where another
        process may just have refreshed) skips the memo, or the re-check would see the token it re-checks."""
        memo = _request_memo()
        if not fresh and self._cache_key(key) in memo:
            return memo[self._cache_key(key)]
        value = self._shared_cache_read(key)
        if value is not None:
            memo[self._cache_key(key)] = value
        return value

    def _shared_cache_read(self, key):
        raw = self._coordination.cache_get(self._cache_key(key))
        if raw is None:
            return None
        data = json.loads(raw)
        try:  # bound to its cache key; one written under a retired data key is a miss
            return self._box.decrypt(data["t"], binding("redis", "wxtok", self._cache_key(key))), data["e"]
        except SecretDecryptError:
            return None

    def _remember(self, key, value):
        """Put a (token, expires_at) read from the database into this request's memo and into the cache
        (when one is shared: sealing it for nothing costs AES); returns it."""
        if value:
            _request_memo()[self._cache_key(key)] = value
        coordination = self._coordination
        if value and coordination.is_shared and value[1] > time.time():
            sealed = self._box.encrypt(value[0], binding("redis", "wxtok", self._cache_key(key)))
            coordination.cache_set(self._cache_key(key), json.dumps({"t": sealed, "e": value[1]}),
                                   value[1] - time.time())
        return value

    def _cache_drop(self, key):
        _request_memo().pop(self._cache_key(key), None)
        self._coordination.cache_drop(self._cache_key(key))

    # --- locks ---

    @contextmanager
    def _lock(self, key):
        """Single-flight across processes. The cache and the lock are never the only copy: while the shared
        store is down, refreshes are single-flight per process only; WeChat keeps a replaced access token valid
        for five minutes, and a refresh token a second process used after the first replaced it (61023) is
        followed to the one stored (`_refresh_authorizer`)."""
        try:
            with named_lock(self._cache_key(key), this_process_only=not self._coordination.is_reachable(),
                            ttl_ms=int(self.app.config.get("TOKEN_LOCK_TTL_MS", LOCK_TTL_MS)),
                            wait_seconds=LOCK_WAIT_SECONDS):
                yield
        except LockBusy as exc:
            raise TokenUnavailable("token refresh lock busy") from exc

    @contextmanager
    def _session(self):
        """A session of its own, so a token is kept whatever becomes of the caller's work; on SQLite, while
        this thread's transaction writes, a savepoint inside it instead (another connection could not write
        until that transaction ends). Should the caller then roll back, the access token is still cached, and
        a rotated refresh token lost with it is read back from api_get_authorizer_list (61023 recovery)."""
        caller = db.session()
        if holds_sqlite_write_lock(caller):
            session = Session(bind=caller.connection(), join_transaction_mode="create_savepoint",
                              expire_on_commit=False)
        else:
            session = Session(db.engine, expire_on_commit=False)
        try:
            yield session
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    # --- component token ---

    def _account(self, session):
        appid = self.component.config.component_appid
        row = session.scalar(select(ComponentAccount).where(ComponentAccount.component_appid == appid))
        if row is None:
            row = ComponentAccount(component_appid=appid)
            session.add(row)
        return row

    def _read_component(self):
        with self._session() as s:
            row = self._account(s)
            if row.component_access_token and row.token_expires:
                return row.component_access_token, row.token_expires
        return None

    def _refresh_component(self):
        with self._session() as s:
            row = self._account(s)
            ticket, ticket_time = row.component_verify_ticket, row.ticket_time
            s.commit()
        if not ticket or (utcnow() - ticket_time).total_seconds() > TICKET_MAX_AGE:
            self._restart_ticket_push()
            raise TokenUnavailable("no fresh component_verify_ticket yet; asked WeChat to push one")
        result = self.component.get_component_token(ticket)
        expires_at = int(time.time()) + result.expires_in
        with self._session() as s:
            row = self._account(s)
            row.component_access_token, row.token_expires = result.access_token, expires_at
            s.commit()
        self._remember("component", (result.access_token, expires_at))
        log.info("component token refreshed (fp %s)", fingerprint(result.access_token))
        return result.access_token

    def _restart_ticket_push(self):
        try:
            self.component.start_push_ticket()
        except WeChatError as exc:
            log.warning("api_start_push_ticket failed: %s", exc.errcode or exc.__class__.__name__)

    def _expire_component(self, failed_token):
        with self._session() as s:
            row = self._account(s)
            if row.component_access_token == failed_token:
                row.token_expires = 0
                s.commit()

    # --- authorizer tokens ---

    @staticmethod
    def _authorizer(session, appid):
        return find_authorizer(session, appid)

    def _read_authorizer(self, appid):
        with self._session() as s:
            row = self._authorizer(s, appid)
            if row is None or row.auth_state != AUTH_AUTHORIZED:
                raise NotAuthorized(appid)
            if row.authorizer_access_token and row.authorizer_expires:
                return row.authorizer_access_token, row.authorizer_expires
        return None

    def _refresh_authorizer(self, appid):
        refresh_token, replaced = self._stored_refresh_token(appid), self._read_authorizer(appid)
        try:
            for attempt in range(1, ROTATION_ATTEMPTS + 1):
                try:
                    result = self._call_refresh(appid, refresh_token)
                    break
                except AuthorizationLost:
                    # 61023 (refresh token invalid) or 61003 (not authorized). Another process may have used
                    # the same refresh token a moment ago (its lock was its own: embedded mode, or the shared
                    # store unreachable) and WeChat replaced it: follow what it stored, the access token it
                    # fetched or its new refresh token. Else WeChat's authorizer list is the truth: recover
                    # the refresh token from it, or mark the app as needing re-authorization.
                    if attempt == ROTATION_ATTEMPTS:
                        raise
                    time.sleep(ROTATION_PAUSE_SECONDS * attempt)  # the other process's save lands meanwhile
                    current = self._read_authorizer(appid)
                    if current and current != replaced and current[1] - REFRESH_MARGIN > time.time():
                        self._remember(f"authorizer:{appid}", current)
                        return current[0]
                    stored = self._stored_refresh_token(appid)
                    refresh_token = stored if stored and stored != refresh_token else \
                        self.recover_refresh_token(appid)
        except WeChatError as exc:
            self._record_refresh_failure(appid, exc)
            raise
        self.save_authorizer_tokens(appid, result.access_token, result.expires_in, result.refresh_token)
        return result.access_token

    def _stored_refresh_token(self, appid):
        with self._session() as s:
            row = self._authorizer(s, appid)
            if row is None or row.auth_state != AUTH_AUTHORIZED:
                raise NotAuthorized(appid)
            return row.authorizer_refresh_token

    def _record_refresh_failure(self, appid, exc):
        """Note on the app's row that its last refresh failed and why, in words (the token health page).
        Best effort: a database error here must not hide WeChat's answer from the caller."""
        languages = tuple(self.app.config.get("LANGUAGES") or ("zh", "en"))
        result = {"errcode": exc.errcode, **{lang: exc.human(lang) for lang in languages}}
        try:
            with self._session() as s:
                row = self._authorizer(s, appid)
                if row is not None:
                    row.token_refreshed_at, row.token_refresh_ok = utcnow(), False
                    row.token_refresh_result = json.dumps(result, ensure_ascii=False)
                    s.commit()
        except SQLAlchemyError as db_exc:
            log.warning("could not record the failed refresh of %s: %s", appid, db_exc.__class__.__name__)

    def _call_refresh(self, appid, refresh_token):
        if not refresh_token:
            raise RefreshTokenInvalid.from_portal("no refresh token stored", "api_authorizer_token")
        return self.component.refresh_authorizer_token(appid, refresh_token)

    def save_authorizer_tokens(self, appid, access_token, expires_in, refresh_token):
        """Write access and refresh token in ONE transaction, then cache the access token."""
        expires_at = int(time.time()) + int(expires_in)
        with self._session() as s:
            row = self._authorizer(s, appid)
            if row is None:
                raise NotAuthorized(appid)
            row.authorizer_access_token, row.authorizer_expires = access_token, expires_at
            row.token_refreshed_at, row.token_refresh_ok, row.token_refresh_result = utcnow(), True, None
            if refresh_token and refresh_token != row.authorizer_refresh_token:
                row.authorizer_refresh_token = refresh_token
                row.refresh_token_updated_at = utcnow()
            s.commit()
        self._remember(f"authorizer:{appid}", (access_token, expires_at))
        log.info("authorizer token refreshed for %s (fp %s)", appid, fingerprint(access_token))

    def recover_refresh_token(self, appid):
        """61023 recovery: re-read the refresh token from api_get_authorizer_list and store it.

        :raise AuthorizationLost: WeChat no longer lists the app (marked needs re-authorization).
        """
        for item in self.component.iter_authorizers():
            if item.authorizer_appid == appid and item.refresh_token:
                with self._session() as s:
                    row = self._authorizer(s, appid)
                    row.authorizer_refresh_token, row.refresh_token_updated_at = item.refresh_token, utcnow()
                    s.commit()
                log.warning("recovered the refresh token of %s from api_get_authorizer_list", appid)
                return item.refresh_token
        self.mark_needs_reauth(appid, "refresh token invalid (61023) and the app is not in the authorizer list")
        raise RefreshTokenInvalid.from_portal("authorizer no longer listed by WeChat", "api_get_authorizer_list")

    def mark_needs_reauth(self, appid, why):
        from portal.services import activity

        with self._session() as s:
            row = self._authorizer(s, appid)
            if row is None:
                return
            row.auth_state = AUTH_NEEDS_REAUTH
            row.authorizer_access_token, row.authorizer_expires = None, None
            s.commit()
            tenant_id = row.tenant_id
            mp_id = row.id if isinstance(row, MiniProgram) else None
        self._cache_drop(f"authorizer:{appid}")
        with self._session() as s:
            s.add(activity.build("authorization.lost", tenant_id=tenant_id, miniprogram_id=mp_id,
                                 outcome="failed", detail=why if mp_id else f"{appid}: {why}"))
            s.commit()
        log.warning("%s needs re-authorization: %s", appid, why)

    def _expire_authorizer(self, appid, failed_token):
        with self._session() as s:
            row = self._authorizer(s, appid)
            if row is not None and row.authorizer_access_token == failed_token:
                row.authorizer_expires = 0
                s.commit()

    def cache_authorizer_token(self, appid, access_token, expires_at):
        """Cache an access token that a caller already stored in the database."""
        self._remember(f"authorizer:{appid}", (access_token, expires_at))

    def forget_authorizer(self, appid):
        """Drop the cached access token (used when an app is unauthorized)."""
        self._cache_drop(f"authorizer:{appid}")


def refresh_expiring_tokens(store, within=3 * REFRESH_MARGIN):
    """Refresh, through `store` (the app's `PortalTokenStore`, `get_client().tokens`), the component token
    and every authorized account's token (mini-programs and official accounts) that expires within `within` seconds, so request paths rarely refresh
    inline. Returns counts for the job log."""
    counts = {"component": 0, "refreshed": 0, "failed": 0}
    try:
        counts["component"] = int(store.refresh_component_if_expiring(within))
    except WeChatError as exc:
        log.warning("component token refresh failed: %s", exc.errcode or exc.__class__.__name__)
        return counts
    deadline = int(time.time()) + within
    appids = [appid for model in AUTHORIZER_MODELS for appid in db.session.scalars(
        select(model.authorizer_appid).where(
            model.auth_state == AUTH_AUTHORIZED,
            (model.authorizer_expires.is_(None)) | (model.authorizer_expires < deadline)))]
    db.session.commit()
    for appid in appids:
        try:
            counts["refreshed"] += int(store.refresh_if_expiring(appid, within))
        except WeChatError as exc:
            counts["failed"] += 1
            log.warning("token refresh for %s failed: %s", appid, exc.errcode or exc.__class__.__name__)
    return counts
