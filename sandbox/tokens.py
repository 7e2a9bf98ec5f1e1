"""Access tokens and refresh tokens: issuing, rotating and validating them like WeChat.

Tokens are random opaque strings of a fixed shape (``NN_`` + 110 URL-safe characters). A token of the
wrong shape answers 40014, an unknown one (or one of another kind, or of a revoked authorization) 40001,
an expired one 42001, and a missing one 41001. Issuing a new token leaves the previous one valid for
``token_overlap`` seconds (5 min), as WeChat does. Refresh tokens may rotate per component; a superseded
refresh token answers 61023. Callers hold no lock; this module takes ``state.lock`` itself.
"""

from __future__ import annotations

import re
import secrets

from .errors import ApiError
from .model import Authorization, TokenRecord

TOKEN_SHAPE = re.compile(r"^\d{2}_[A-Za-z0-9_-]{40,200}$")
COMPONENT, AUTHORIZER = "component", "authorizer"


def _new_token() -> str:
    return f"{secrets.randbelow(90) + 10}_{secrets.token_urlsafe(82)}"  # 110 URL-safe characters


def new_refresh_token() -> str:
    return "refreshtoken@@@" + secrets.token_urlsafe(32)


def issue_access_token(sb, kind: str, component_appid: str, appid: str) -> TokenRecord:
    """Create a new token for (kind, component, appid); the previous one starts its 5-minute overlap."""
    now = sb.now()
    state = sb.state
    with state.lock:
        owner = f"{kind}|{component_appid}|{appid}"
        previous = state.tokens.get(state.latest_tokens.get(owner, ""))
        if previous and not previous.superseded_at:
            previous.superseded_at = now
        record = TokenRecord(token=_new_token(), kind=kind, component_appid=component_appid, appid=appid,
                             issued_at=now, expires_at=now + sb.options.token_ttl)
        state.tokens[record.token] = record
        state.latest_tokens[owner] = record.token
        prune_if_large(sb, now)
        state.dirty = True
        return record


def prune_if_large(sb, now: float) -> None:
    """Forget dead tokens and codes once the tables grow; amortised O(1) per issued token or code.

    A token is dead when expired or superseded past its overlap; it then answers 40001 instead of
    42001, which WeChat also does for long-gone tokens. Caller holds the lock.
    """
    state = sb.state
    if len(state.tokens) + len(state.codes) <= state.prune_threshold:
        return
    overlap = sb.options.token_overlap
    for token in [t for t, r in state.tokens.items()
                  if r.expires_at < now or (r.superseded_at and r.superseded_at + overlap < now)]:
        del state.tokens[token]
    for code in [c for c, r in state.codes.items() if r.expires_at < now]:
        del state.codes[code]
    state.prune_threshold = max(20000, 2 * (len(state.tokens) + len(state.codes)))


def peek(sb, raw: str | None) -> TokenRecord | None:
    """Look a token up without validating it (to know whose call this is)."""
    return sb.state.tokens.get(raw) if raw else None


def check_access_token(sb, kind: str, raw: str | None) -> TokenRecord:
    if not raw:
        raise ApiError(41001)
    if not TOKEN_SHAPE.match(raw):
        raise ApiError(40014)
    now = sb.now()
    with sb.state.lock:
        record = sb.state.tokens.get(raw)
        if record is None or record.kind != kind or record.component_appid not in sb.state.components:
            raise ApiError(40001)
        if now >= record.expires_at:
            raise ApiError(42001)
        if record.superseded_at and now >= record.superseded_at + sb.options.token_overlap:
            raise ApiError(40001)
        if kind == AUTHORIZER:
            auth = sb.state.authorization(record.component_appid, record.appid)
            if auth is None or not auth.is_authorized or auth.revoked_at > record.issued_at:
                raise ApiError(40001)
        return record


def bind_refresh_token(sb, auth: Authorization, token: str) -> None:
    """Make ``token`` the current refresh token of ``auth`` (caller holds the lock)."""
    if auth.refresh_token and auth.refresh_token != token:
        auth.superseded_refresh_tokens.append(auth.refresh_token)
    auth.refresh_token = token
    sb.state.refresh_tokens[token] = sb.state.auth_key(auth.component_appid, auth.authorizer_appid)


def refresh_authorizer_token(sb, component_appid: str, authorizer_appid: str, refresh_token) -> dict:
    """api_authorizer_token: 61003 when not authorized, 61023 for a wrong/superseded refresh token."""
    with sb.state.lock:
        component = sb.state.components[component_appid]
        auth = sb.state.authorization(component_appid, authorizer_appid or "")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise ApiError(61023)
        if auth is None or not auth.is_authorized:
            raise ApiError(61003)
        if refresh_token != auth.refresh_token:
            raise ApiError(61023)
        if component.rotate_refresh_tokens:
            bind_refresh_token(sb, auth, new_refresh_token())
        record = issue_access_token(sb, AUTHORIZER, component_appid, authorizer_appid)
        return {"authorizer_access_token": record.token, "expires_in": sb.options.token_ttl,
                "authorizer_refresh_token": auth.refresh_token}


def revoke_tokens(sb, component_appid: str, appid: str) -> None:
    """Forget the newest-token pointer so a re-authorization starts clean (old tokens fail by auth time)."""
    with sb.state.lock:
        sb.state.latest_tokens.pop(f"{AUTHORIZER}|{component_appid}|{appid}", None)
