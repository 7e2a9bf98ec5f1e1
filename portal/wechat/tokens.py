"""The token interface the WeChat client needs; no implementation lives here.

The portal implements `TokenStore` over MySQL (refresh tokens, authoritative) and Redis (cached access tokens,
refresh lock). The client only reads tokens and, when WeChat rejects one with 40001/40014/42001, asks the store
to drop it *if it is still the cached one* (compare-and-invalidate), so a token that another worker just
refreshed is never thrown away. Standard library only; must not import Flask, Redis, SQLAlchemy or
``portal.*``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenStore(Protocol):
    """Source of access tokens for `WeChatClient`.

    ``get_*`` return a currently valid token, refreshing it (single-flight) when needed; they may raise
    `portal.wechat.errors.WeChatError` subclasses (e.g. `AuthorizationLost` on 61023) from the refresh call.
    ``invalidate_*`` must be compare-and-invalidate: forget the cached token only if it still equals
    ``failed_token``; otherwise do nothing.
    """

    def get_component_token(self) -> str: ...

    def get_authorizer_token(self, appid: str) -> str: ...

    def invalidate_component_token(self, failed_token: str) -> None: ...

    def invalidate_authorizer_token(self, appid: str, failed_token: str) -> None: ...
