"""Component (third-party platform) API: credentials, authorization flow, authorizer list, quotas, templates.

`ComponentAPI` wraps the ``/cgi-bin/component/*`` endpoints that use the component_access_token (or no token),
builds the PC and mobile authorization-page URLs, and manages the platform's template library. Results with a
known shape come back as small frozen dataclasses that keep the decoded JSON in ``raw``. Tokens come from the
injected `TokenStore`; the component token itself is *fetched* here (`get_component_token`) but stored by
the caller. Imports requests (via `http`) and the standard library only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .http import TokenBinding, WeChatHTTP
from .settings import WeChatConfig
from .templates import TemplateAPI
from .tokens import TokenStore

MAX_AUTHORIZER_PAGE = 500


@dataclass(frozen=True)
class ComponentToken:
    access_token: str = field(repr=False)
    expires_in: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class PreAuthCode:
    pre_auth_code: str = field(repr=False)
    expires_in: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class AuthorizerToken:
    """api_authorizer_token result: store ``refresh_token`` (WeChat may rotate it) with the access token."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str = field(repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Authorization:
    """api_query_auth result (``authorization_info``)."""

    authorizer_appid: str
    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str = field(repr=False)
    func_ids: tuple[int, ...]  # granted permission-set ids (funcscope_category.id)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class AuthorizerInfo:
    """api_get_authorizer_info result; ``is_miniprogram`` when ``MiniProgramInfo`` is present."""

    appid: str
    nick_name: str
    head_img: str
    user_name: str  # original id gh_...
    principal_name: str
    is_miniprogram: bool
    func_ids: tuple[int, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class AuthorizerListItem:
    authorizer_appid: str
    refresh_token: str = field(repr=False)
    auth_time: int


@dataclass(frozen=True)
class AuthorizerPage:
    total_count: int
    items: tuple[AuthorizerListItem, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _func_ids(func_info: Any) -> tuple[int, ...]:
    ids = []
    for item in func_info or ():
        try:
            ids.append(int(item["funcscope_category"]["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(ids)


class ComponentAPI:
    """Calls made as the third-party platform.

    ``tokens`` is a `TokenStore`, or a function that builds one from this `ComponentAPI`: a store that
    refreshes tokens itself calls WeChat through this API (api_component_token, api_authorizer_token,
    api_get_authorizer_list), and those calls ask the store for the component token in turn.
    """

    def __init__(self, http: WeChatHTTP, config: WeChatConfig,
                 tokens: TokenStore | Callable[[ComponentAPI], TokenStore] | None = None) -> None:
        self.http = http
        self.config = config
        if callable(tokens) and not isinstance(tokens, TokenStore):
            tokens = tokens(self)
        self.tokens: TokenStore | None = tokens
        self.templates = TemplateAPI(http, self)  # the template library also uses the component token

    def _token(self, param: str = "component_access_token") -> TokenBinding:
        if self.tokens is None:
            raise RuntimeError("this call needs a TokenStore; pass tokens= to WeChatClient")
        store = self.tokens
        return TokenBinding(param, store.get_component_token, store.invalidate_component_token)

    def _post(self, path: str, api: str, body: dict[str, Any], *, appid: str | None = None,
              token_param: str | None = "component_access_token", params: dict[str, Any] | None = None,
              idempotent: bool = False) -> Any:
        # Every POST here that is not marked idempotent issues something (a token, a pre-auth code, a
        # rotated refresh token) or changes something, so a lost answer is never answered by a repeat.
        token = self._token(token_param) if token_param else None
        return self.http.call("POST", path, api=api, token=token, appid=appid, json=body, params=params,
                              idempotent=idempotent)

    # --- credentials ---

    def get_component_token(self, ticket: str) -> ComponentToken:
        """Exchange the latest component_verify_ticket for a component_access_token (api_component_token).

        The caller stores the token (with a margin before ``expires_in``).
        :raise TicketError: 61005/61006. :raise PermissionDenied: 61004 IP not whitelisted.
        :raise RateLimited: 45009. :raise InvalidRequest: 40013/40125. :raise TransportError.
        """
        if not ticket:
            raise ValueError("component_verify_ticket is empty; wait for the next ticket push")
        data = self._post("/cgi-bin/component/api_component_token", "api_component_token", {
            "component_appid": self.config.component_appid,
            "component_appsecret": self.config.component_appsecret,
            "component_verify_ticket": ticket,
        }, token_param=None)
        return ComponentToken(str(data["component_access_token"]), int(data.get("expires_in", 7200)), data)

    def start_push_ticket(self) -> dict[str, Any]:
        """Ask WeChat to (re)start component_verify_ticket pushes (api_start_push_ticket).

        :raise InvalidRequest: 40013. :raise TransportError.
        """
        return self._post("/cgi-bin/component/api_start_push_ticket", "api_start_push_ticket", {
            "component_appid": self.config.component_appid,
            "component_secret": self.config.component_appsecret,
        }, token_param=None)

    # --- authorization flow ---

    def create_preauthcode(self) -> PreAuthCode:
        """Create a single-use pre_auth_code for the authorization page (api_create_preauthcode).

        :raise TokenError, TransportError, APIError.
        """
        data = self._post("/cgi-bin/component/api_create_preauthcode", "api_create_preauthcode",
                          {"component_appid": self.config.component_appid})
        return PreAuthCode(str(data["pre_auth_code"]), int(data.get("expires_in", 600)), data)

    def _auth_query(self, pre_auth_code: str, redirect_uri: str, auth_type: int | None,
                    biz_appid: str | None) -> list[tuple[str, Any]]:
        if not pre_auth_code or not redirect_uri:
            raise ValueError("pre_auth_code and redirect_uri are required")
        query: list[tuple[str, Any]] = [("component_appid", self.config.component_appid),
                                        ("pre_auth_code", pre_auth_code), ("redirect_uri", redirect_uri)]
        # 授权流程技术说明 calls the two fields exclusive ("auth_type、biz_appid 两个字段互斥"), so only one is
        # sent, and biz_appid wins: a link for one account names that account only, and its own type decides
        # what the page offers.
        if biz_appid:
            query.append(("biz_appid", biz_appid))
        elif auth_type is not None:
            query.append(("auth_type", int(auth_type)))
        return query

    def pc_authorization_url(self, pre_auth_code: str, redirect_uri: str, auth_type: int | None = 2,
                             biz_appid: str | None = None) -> str:
        """PC scan page ``{mp_base}/cgi-bin/componentloginpage?…`` (no API call).

        ``auth_type`` 1 = official accounts, 2 = mini-programs (default), 3 = both; None omits it.
        ``biz_appid`` restricts the page to one account; ``auth_type`` is then left out (the two exclude each
        other).
        """
        query = self._auth_query(pre_auth_code, redirect_uri, auth_type, biz_appid)
        return f"{self.config.mp_base}/cgi-bin/componentloginpage?{urlencode(query)}"

    def mobile_authorization_url(self, pre_auth_code: str, redirect_uri: str, auth_type: int | None = 2,
                                 biz_appid: str | None = None) -> str:
        """In-WeChat H5 page ``{open_base}/wxaopen/safe/bindcomponent?…#wechat_redirect`` (no API call)."""
        query = [("action", "bindcomponent"), ("no_scan", 1)]
        query += self._auth_query(pre_auth_code, redirect_uri, auth_type, biz_appid)
        return f"{self.config.open_base}/wxaopen/safe/bindcomponent?{urlencode(query)}#wechat_redirect"

    def query_auth(self, authorization_code: str) -> Authorization:
        """Exchange an authorization code for the authorizer's tokens (api_query_auth).

        Persist ``refresh_token`` at once: it is the only durable credential for this authorizer.
        :raise InvalidRequest: 61010 code expired. :raise TokenError, TransportError, APIError.
        """
        data = self._post("/cgi-bin/component/api_query_auth", "api_query_auth", {
            "component_appid": self.config.component_appid, "authorization_code": authorization_code})
        info = data.get("authorization_info") or {}
        return Authorization(
            authorizer_appid=str(info["authorizer_appid"]), access_token=str(info["authorizer_access_token"]),
            expires_in=int(info.get("expires_in", 7200)),
            refresh_token=str(info.get("authorizer_refresh_token") or ""),
            func_ids=_func_ids(info.get("func_info")), raw=data,
        )

    def refresh_authorizer_token(self, authorizer_appid: str, refresh_token: str) -> AuthorizerToken:
        """Get a new authorizer_access_token (api_authorizer_token).

        Store the returned ``refresh_token`` too: WeChat may rotate it (falls back to the one sent).
        :raise AuthorizationLost: 61023 refresh token invalid, 61003 not authorized.
        :raise TokenError, TransportError, APIError.
        """
        if not refresh_token:
            # Sending an empty/null refresh token is a classic cause of 61023; fail before calling.
            raise ValueError("refresh_token is empty; recover it with get_authorizer_list()")
        data = self._post("/cgi-bin/component/api_authorizer_token", "api_authorizer_token", {
            "component_appid": self.config.component_appid, "authorizer_appid": authorizer_appid,
            "authorizer_refresh_token": refresh_token,
        }, appid=authorizer_appid)
        return AuthorizerToken(
            access_token=str(data["authorizer_access_token"]), expires_in=int(data.get("expires_in", 7200)),
            refresh_token=str(data.get("authorizer_refresh_token") or refresh_token), raw=data,
        )

    def get_authorizer_info(self, authorizer_appid: str) -> AuthorizerInfo:
        """Account profile and granted permissions (api_get_authorizer_info).

        :raise AuthorizationLost, TokenError, TransportError, APIError.
        """
        data = self._post("/cgi-bin/component/api_get_authorizer_info", "api_get_authorizer_info", {
            "component_appid": self.config.component_appid, "authorizer_appid": authorizer_appid,
        }, appid=authorizer_appid, idempotent=True)
        info = data.get("authorizer_info") or {}
        auth = data.get("authorization_info") or {}
        return AuthorizerInfo(
            appid=authorizer_appid, nick_name=str(info.get("nick_name", "")),
            head_img=str(info.get("head_img", "")), user_name=str(info.get("user_name", "")),
            principal_name=str(info.get("principal_name", "")), is_miniprogram="MiniProgramInfo" in info,
            func_ids=_func_ids(auth.get("func_info")), raw=data,
        )

    def get_authorizer_list(self, offset: int = 0, count: int = MAX_AUTHORIZER_PAGE) -> AuthorizerPage:
        """One page of authorized accounts with their refresh tokens (api_get_authorizer_list).

        This is the official recovery path for lost refresh tokens (61023).
        :raise TokenError, TransportError, APIError.
        """
        if not 1 <= count <= MAX_AUTHORIZER_PAGE or offset < 0:
            raise ValueError("count must be 1..500 and offset >= 0")
        data = self._post("/cgi-bin/component/api_get_authorizer_list", "api_get_authorizer_list", {
            "component_appid": self.config.component_appid, "offset": offset, "count": count}, idempotent=True)
        items = tuple(
            AuthorizerListItem(str(row.get("authorizer_appid", "")), str(row.get("refresh_token", "")),
                               int(row.get("auth_time") or 0))
            for row in data.get("list") or ()
        )
        return AuthorizerPage(int(data.get("total_count") or 0), items, data)

    def iter_authorizers(self, page_size: int = MAX_AUTHORIZER_PAGE) -> Iterator[AuthorizerListItem]:
        """Every authorized account, page by page (api_get_authorizer_list)."""
        offset = 0
        while True:
            page = self.get_authorizer_list(offset, page_size)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total_count:
                return

    # --- quotas ---

    def clear_quota(self) -> dict[str, Any]:
        """Reset the platform's API call quotas (/cgi-bin/component/clear_quota; 10 a month).

        :raise InvalidRequest: 48006 monthly resets used up. :raise TokenError, TransportError.
        """
        return self._post("/cgi-bin/component/clear_quota", "component_clear_quota",
                          {"component_appid": self.config.component_appid})

    def clear_quota_v2(self, appid: str | None = None) -> dict[str, Any]:
        """Reset quotas with the AppSecret instead of a token (/cgi-bin/component/clear_quota/v2).

        Use it when api_component_token itself is quota-blocked (45009). ``appid`` resets an authorizer's quota.
        :raise InvalidRequest: 48006. :raise TransportError.
        """
        body = {"component_appid": self.config.component_appid, "appsecret": self.config.component_appsecret}
        if appid:
            body["appid"] = appid
        return self._post("/cgi-bin/component/clear_quota/v2", "component_clear_quota_v2", body,
                          appid=appid, token_param=None)

    # --- fast registration ---

    def fast_register_weapp(self, name: str, code: str, code_type: int, legal_persona_wechat: str,
                            legal_persona_name: str, component_phone: str = "") -> dict[str, Any]:
        """Register an enterprise mini-program quickly (fastregisterweapp?action=create).

        WeChat then asks the legal person to confirm (face check); the result arrives later as a
        `FastRegisterEvent` push. :raise InvalidRequest: 89248-89253, 89255, 86004, 61070.
        :raise PermissionDenied: 89254.
        """
        body = {"name": name, "code": code, "code_type": int(code_type),
                "legal_persona_wechat": legal_persona_wechat, "legal_persona_name": legal_persona_name}
        if component_phone:
            body["component_phone"] = component_phone
        return self._post("/cgi-bin/component/fastregisterweapp", "fastregisterweapp_create", body,
                          params={"action": "create"})

    def search_fast_register(self, name: str, legal_persona_wechat: str,
                             legal_persona_name: str) -> dict[str, Any]:
        """Query a fast-registration task (fastregisterweapp?action=search). :raise InvalidRequest: 89250."""
        return self._post("/cgi-bin/component/fastregisterweapp", "fastregisterweapp_search", {
            "name": name, "legal_persona_wechat": legal_persona_wechat, "legal_persona_name": legal_persona_name,
        }, params={"action": "search"}, idempotent=True)

    def fast_register_personal(self, idname: str, wxuser: str, component_phone: str = "") -> dict[str, Any]:
        """Register a personal mini-program quickly (/wxa/component/fastregisterpersonalweapp?action=create).

        Answers ``taskid`` and ``authorize_url`` (the page the person opens within 24 h to check identity,
        face and phone); the new appid arrives as a `FastRegisterEvent` push. :raise InvalidRequest: 86004,
        61070, 47001.
        """
        body = {"idname": idname, "wxuser": wxuser}
        if component_phone:
            body["component_phone"] = component_phone
        return self._post("/wxa/component/fastregisterpersonalweapp", "fastregisterpersonalweapp_create", body,
                          params={"action": "create"})

    def query_fast_register_personal(self, taskid: str) -> dict[str, Any]:
        """The state of a personal registration task (fastregisterpersonalweapp?action=query): ``status`` from
        the doc's enum (0 created ... 12 created the mini-program). :raise InvalidRequest: 89250."""
        return self._post("/wxa/component/fastregisterpersonalweapp", "fastregisterpersonalweapp_query",
                          {"taskid": taskid}, params={"action": "query"}, idempotent=True)
