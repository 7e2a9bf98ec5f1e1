"""Shared plumbing of the authorizer-token (mini-program) API families.

`FamilyAPI` binds one authorizer appid to the `WeChatHTTP` sender and the `TokenStore`, so each family module
(domains, testers, code, audit, release, privacy, qrcode) only states paths and bodies. Each call site says
whether it only reads (``idempotent=True``: `WeChatHTTP` may send it again after a 5xx or a timeout); every
other call changes something and is never sent twice. Imports the standard library and this package only;
no Flask or ``portal.*``.
"""

from __future__ import annotations

from typing import Any

from ..http import TokenBinding, WeChatHTTP
from ..tokens import TokenStore


class FamilyAPI:
    """Base of one API family for one authorizer appid."""

    def __init__(self, http: WeChatHTTP, tokens: TokenStore, appid: str) -> None:
        if not appid:
            raise ValueError("authorizer appid is required")
        self.http = http
        self.appid = appid
        self._token = TokenBinding(
            "access_token",
            lambda: tokens.get_authorizer_token(appid),
            lambda failed: tokens.invalidate_authorizer_token(appid, failed),
        )

    def _post(self, path: str, api: str, body: dict[str, Any] | None = None, *,
              params: dict[str, Any] | None = None, binary: bool = False, idempotent: bool = False) -> Any:
        return self.http.call("POST", path, api=api, token=self._token, appid=self.appid,
                              json={} if body is None else body, params=params, binary=binary,
                              idempotent=idempotent)

    def _get(self, path: str, api: str, params: dict[str, Any] | None = None, *, binary: bool = False,
             idempotent: bool = False) -> Any:
        return self.http.call("GET", path, api=api, token=self._token, appid=self.appid, params=params,
                              binary=binary, idempotent=idempotent)

    def _upload(self, path: str, api: str, field_name: str, filename: str, content: bytes,
                content_type: str) -> Any:
        files = {field_name: (filename, content, content_type)}
        return self.http.call("POST", path, api=api, token=self._token, appid=self.appid, files=files)


def compact(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that are not None (WeChat rejects explicit nulls in several bodies)."""
    return {key: value for key, value in fields.items() if value is not None}
