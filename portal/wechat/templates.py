"""The platform's code-template library (drafts -> templates), called with the component token.

`TemplateAPI` wraps ``/wxa/gettemplatedraftlist``, ``/wxa/addtotemplate``, ``/wxa/gettemplatelist`` (GET; POST
was the old form) and ``/wxa/deletetemplate``. WeChat's docs pass the component token as ``access_token`` on
these ``/wxa/`` paths (unlike ``/cgi-bin/component/*``, which use ``component_access_token``). Imports requests
(via `http`) and the standard library only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .http import TokenBinding, WeChatHTTP
from .tokens import TokenStore

TEMPLATE_NORMAL = 0
TEMPLATE_STANDARD = 1


@dataclass(frozen=True)
class TemplateDraft:
    draft_id: int
    user_version: str
    user_desc: str
    create_time: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Template:
    template_id: int
    user_version: str
    user_desc: str
    create_time: int
    template_type: int
    source_miniprogram_appid: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class TemplateAPI:
    """Template library of the platform. ``tokens`` is read at call time (may be attached later)."""

    TOKEN_PARAM = "access_token"

    def __init__(self, http: WeChatHTTP, tokens_owner: Any) -> None:
        self.http = http
        self._owner = tokens_owner  # anything with a ``tokens`` attribute holding a TokenStore

    def _token(self) -> TokenBinding:
        store: TokenStore | None = self._owner.tokens
        if store is None:
            raise RuntimeError("this call needs a TokenStore; pass tokens= to WeChatClient")
        return TokenBinding(self.TOKEN_PARAM, store.get_component_token, store.invalidate_component_token)

    def get_drafts(self) -> list[TemplateDraft]:
        """Drafts uploaded from developer tools (gettemplatedraftlist). :raise APIError, TransportError."""
        data = self.http.call("GET", "/wxa/gettemplatedraftlist", api="gettemplatedraftlist", token=self._token(),
                              idempotent=True)
        return [
            TemplateDraft(int(row.get("draft_id", 0)), str(row.get("user_version", "")),
                          str(row.get("user_desc", "")), int(row.get("create_time") or 0), row)
            for row in data.get("draft_list") or ()
        ]

    def add_to_template(self, draft_id: int, template_type: int = TEMPLATE_NORMAL) -> dict[str, Any]:
        """Turn a draft into a template (addtotemplate).

        :raise ReviewError: 85064 draft not found, 85065 library full. :raise TransportError.
        """
        return self.http.call("POST", "/wxa/addtotemplate", api="addtotemplate", token=self._token(),
                              json={"draft_id": int(draft_id), "template_type": int(template_type)})

    def get_templates(self, template_type: int | None = None) -> list[Template]:
        """Templates in the library (gettemplatelist, GET). :raise APIError, TransportError."""
        params = {"template_type": int(template_type)} if template_type is not None else None
        data = self.http.call("GET", "/wxa/gettemplatelist", api="gettemplatelist", token=self._token(),
                              params=params, idempotent=True)
        return [
            Template(int(row.get("template_id", 0)), str(row.get("user_version", "")),
                     str(row.get("user_desc", "")), int(row.get("create_time") or 0),
                     int(row.get("template_type") or 0), str(row.get("source_miniprogram_appid", "")), row)
            for row in data.get("template_list") or ()
        ]

    def delete_template(self, template_id: int) -> dict[str, Any]:
        """Delete a template (deletetemplate). :raise ReviewError: 85064. :raise TransportError."""
        return self.http.call("POST", "/wxa/deletetemplate", api="deletetemplate", token=self._token(),
                              json={"template_id": int(template_id)})
