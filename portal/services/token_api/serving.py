"""Access tokens for the operator's other systems, served from the portal's one `PortalTokenStore`.

- A token is refreshed as the portal's own calls refresh it: single-flight across threads and processes,
  ahead of expiry, the database the authority (`portal.services.tokens`).
- WeChat unreachable: a token that is still valid is served as it is (with its remaining lifetime); only
  when none is held does the caller get `WeChatUnavailable`.
- `invalidate_authorizer_token` is the caller's report of a 40001/42001 for the token it was handed. The
  store drops that token only if it is still the current one, under the same lock as the refresh, so a
  hundred callers reporting one stale token cause one `api_authorizer_token` call and all get its result.
- Scope: a key scoped to tenants reaches their authorized apps; the component token, which acts for every
  tenant's apps, needs a key for all tenants.
"""

import time
from typing import NamedTuple

from portal.extensions import db
from portal.models.miniprogram import AUTH_AUTHORIZED
from portal.services.token_api.errors import (
    NeedsReauthorization,
    OutOfScope,
    UnknownApp,
    WeChatRefused,
    WeChatUnavailable,
)
from portal.services.tokens import REFRESH_MARGIN, NotAuthorized, find_authorizer
from portal.services.wechat import explain, get_client
from portal.wechat.errors import AuthorizationLost, TicketError, WeChatError


class ServedToken(NamedTuple):
    access_token: str
    expires_in: int  # seconds from now
    appid: str


def component_token(caller):
    """The component access token (api_component_token, through the store).

    :raise OutOfScope: the key is scoped to some tenants only. :raise WeChatUnavailable, WeChatRefused:
    """
    db.session.commit()  # end the key's read: a refresh may wait on WeChat, holding no connection meanwhile
    if not caller.all_tenants:
        raise OutOfScope("The component token acts for every tenant: it needs a key for all tenants.")
    store = get_client().tokens
    appid = get_client().config.component_appid
    return _serve(store.get_component_token, store.current_component_token, appid, held_first=True)


def authorizer_token(caller, appid):
    """A mini-program's authorizer access token (api_authorizer_token, through the store).

    :raise UnknownApp, OutOfScope, NeedsReauthorization, WeChatUnavailable, WeChatRefused:
    """
    _check_app(caller, appid)
    store = get_client().tokens
    return _serve(lambda: store.get_authorizer_token(appid), lambda: store.current_authorizer_token(appid), appid,
                  held_first=True)


def invalidate_authorizer_token(caller, appid, rejected_token):
    """WeChat rejected `rejected_token` (40001/42001): refresh if it is still the current token, then return
    the current one (see the module docstring). Never hands back `rejected_token`.

    :raise UnknownApp, OutOfScope, NeedsReauthorization, WeChatUnavailable, WeChatRefused:
    """
    _check_app(caller, appid)
    store = get_client().tokens

    def fetch():
        store.invalidate_authorizer_token(appid, rejected_token)
        return store.get_authorizer_token(appid)

    return _serve(fetch, lambda: store.current_authorizer_token(appid), appid, rejected=rejected_token)


def _check_app(caller, appid):
    account = find_authorizer(db.session, appid)  # a mini-program or an official account
    tenant_id, state = (account.tenant_id, account.auth_state) if account is not None else (None, None)
    db.session.commit()  # the store uses sessions of its own: hold no connection while it may wait on WeChat
    if account is None:
        raise UnknownApp(f"No mini-program or official account {appid} is known to the portal.")
    if not caller.may_reach(tenant_id):
        raise OutOfScope(f"The key may not reach {appid}.")
    if state != AUTH_AUTHORIZED:
        raise _needs_reauthorization(appid)


def _needs_reauthorization(appid):
    return NeedsReauthorization(f"{appid} is not authorized to the platform any more: its administrator "
                                "must authorize it again.")


def _serve(fetch, current, appid, rejected=None, held_first=False):
    """Fetch through the store, then report what the store holds (the token and its expiry). `held_first`:
    a held token that the store would not refresh yet is served from one read, without the fetch."""
    if held_first:
        held = _still_valid(current, rejected)
        if held is not None and held[1] > REFRESH_MARGIN:
            return ServedToken(held[0], held[1], appid)
    try:
        fetch()
    except (NotAuthorized, AuthorizationLost) as exc:
        raise _needs_reauthorization(appid) from exc
    except WeChatError as exc:
        if not (exc.retryable or isinstance(exc, TicketError)):
            raise WeChatRefused(explain(exc, "en")) from exc
        held = _still_valid(current, rejected)
        if held is None:
            raise WeChatUnavailable("WeChat cannot be reached and no valid token is held; retry shortly.") from exc
        return ServedToken(held[0], held[1], appid)
    held = _still_valid(current, rejected)
    if held is None:  # refreshed, then rejected again by another caller in between: rare, retryable
        raise WeChatUnavailable("The token changed while it was being read; retry.")
    return ServedToken(held[0], held[1], appid)


def _still_valid(current, rejected):
    try:
        found = current()
    except NotAuthorized:
        return None
    if not found or found[0] == rejected:
        return None
    expires_in = int(found[1] - time.time())
    return (found[0], expires_in) if expires_in > 0 else None
