"""Server and business (web-view) domains of a mini-program.

Two strategies exist and WeChat asks platforms not to mix them: ``modify_domain`` (domains must first be
registered on the platform) and ``modify_domain_directly`` (no pre-registration; effective at next release).
``get_effective_domain`` shows what is live. Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import FamilyAPI

ACTIONS = ("add", "delete", "set", "get")
DOMAIN_FIELDS = ("requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain", "udpdomain",
                 "tcpdomain")


def _domain_body(action: str, lists: dict[str, Sequence[str] | None]) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    body: dict[str, Any] = {"action": action}
    if action != "get":
        for name, values in lists.items():
            if values is not None:
                body[name] = [str(v) for v in values]
    return body


class DomainsAPI(FamilyAPI):
    """``client.miniprogram(appid).domains``."""

    def modify_domain(self, action: str, *, requestdomain: Sequence[str] | None = None,
                      wsrequestdomain: Sequence[str] | None = None, uploaddomain: Sequence[str] | None = None,
                      downloaddomain: Sequence[str] | None = None, udpdomain: Sequence[str] | None = None,
                      tcpdomain: Sequence[str] | None = None) -> dict[str, Any]:
        """Add/delete/set/get server domains registered on the platform (/wxa/modify_domain).

        :raise InvalidRequest: 85015-85018, 85301 (domain not registered on the platform / breaks the rules).
        :raise TokenError, TransportError, APIError.
        """
        body = _domain_body(action, dict(
            requestdomain=requestdomain, wsrequestdomain=wsrequestdomain, uploaddomain=uploaddomain,
            downloaddomain=downloaddomain, udpdomain=udpdomain, tcpdomain=tcpdomain))
        return self._post("/wxa/modify_domain", "modify_domain", body, idempotent=action == "get")

    def modify_domain_directly(self, action: str, *, requestdomain: Sequence[str] | None = None,
                               wsrequestdomain: Sequence[str] | None = None,
                               uploaddomain: Sequence[str] | None = None,
                               downloaddomain: Sequence[str] | None = None,
                               udpdomain: Sequence[str] | None = None,
                               tcpdomain: Sequence[str] | None = None) -> dict[str, Any]:
        """Same as `modify_domain` without platform pre-registration (/wxa/modify_domain_directly).

        :raise InvalidRequest, TokenError, TransportError, APIError.
        """
        body = _domain_body(action, dict(
            requestdomain=requestdomain, wsrequestdomain=wsrequestdomain, uploaddomain=uploaddomain,
            downloaddomain=downloaddomain, udpdomain=udpdomain, tcpdomain=tcpdomain))
        return self._post("/wxa/modify_domain_directly", "modify_domain_directly", body,
                          idempotent=action == "get")

    def get_effective_domain(self) -> dict[str, Any]:
        """``mp_domain``, ``third_domain``, ``direct_domain`` and ``effective_domain`` (/wxa/get_effective_domain).

        :raise TokenError, TransportError, APIError.
        """
        return self._post("/wxa/get_effective_domain", "get_effective_domain", {}, idempotent=True)

    def set_webview_domain(self, action: str, webviewdomain: Sequence[str] | None = None) -> dict[str, Any]:
        """Business (web-view) domains registered on the platform (/wxa/setwebviewdomain).

        :raise InvalidRequest: 89019-89021, 89029, 89231. :raise TokenError, TransportError, APIError.
        """
        body = _domain_body(action, {"webviewdomain": webviewdomain})
        return self._post("/wxa/setwebviewdomain", "setwebviewdomain", body, idempotent=action == "get")

    def set_webview_domain_directly(self, action: str,
                                    webviewdomain: Sequence[str] | None = None) -> dict[str, Any]:
        """Business domains without platform registration (/wxa/setwebviewdomain_directly).

        The confirm file (`get_webviewdomain_confirmfile`) must be served at each domain's root first.
        :raise InvalidRequest, TokenError, TransportError, APIError.
        """
        body = _domain_body(action, {"webviewdomain": webviewdomain})
        return self._post("/wxa/setwebviewdomain_directly", "setwebviewdomain_directly", body,
                          idempotent=action == "get")

    def get_webviewdomain_confirmfile(self) -> dict[str, Any]:
        """``file_name`` and ``file_content`` of the confirm file (/wxa/get_webviewdomain_confirmfile)."""
        return self._post("/wxa/get_webviewdomain_confirmfile", "get_webviewdomain_confirmfile", {},
                          idempotent=True)

    def get_effective_webviewdomain(self) -> dict[str, Any]:
        """Effective business domains by source (/wxa/get_effective_webviewdomain)."""
        return self._post("/wxa/get_effective_webviewdomain", "get_effective_webviewdomain", {},
                          idempotent=True)
