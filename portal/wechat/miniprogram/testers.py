"""Testers (体验者) of a mini-program: bind, unbind and list.

WeChat returns only opaque ``userstr`` values when listing, never WeChat ids, so the portal keeps its own
wechatid -> userstr mapping from `bind_tester`. Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from .base import FamilyAPI


class TestersAPI(FamilyAPI):
    """``client.miniprogram(appid).testers``."""

    __test__ = False  # not a pytest test class despite the name

    def bind_tester(self, wechatid: str) -> str:
        """Bind a tester by WeChat id (/wxa/bind_tester); returns its ``userstr``.

        :raise InvalidRequest: 85001 not found, 85002/85003 limits, 85004 already bound.
        :raise TokenError, TransportError, APIError.
        """
        if not wechatid:
            raise ValueError("wechatid is required")
        data = self._post("/wxa/bind_tester", "bind_tester", {"wechatid": wechatid})
        return str(data.get("userstr", ""))

    def unbind_tester(self, *, wechatid: str | None = None, userstr: str | None = None) -> None:
        """Unbind a tester by WeChat id or by ``userstr`` (exactly one) (/wxa/unbind_tester).

        :raise TokenError, TransportError, APIError.
        """
        if bool(wechatid) == bool(userstr):
            raise ValueError("give exactly one of wechatid or userstr")
        body = {"wechatid": wechatid} if wechatid else {"userstr": userstr}
        self._post("/wxa/unbind_tester", "unbind_tester", body)

    def list_testers(self) -> list[str]:
        """``userstr`` of every tester (/wxa/memberauth, action get_experiencer).

        :raise TokenError, TransportError, APIError.
        """
        data = self._post("/wxa/memberauth", "memberauth", {"action": "get_experiencer"}, idempotent=True)
        return [str(m.get("userstr", "")) for m in data.get("members") or ()]
