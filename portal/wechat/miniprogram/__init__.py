"""Authorizer-token (mini-program) API, one module per family, reached through the `MiniProgram` facade.

``client.miniprogram(appid)`` returns a `MiniProgram` whose attributes are the families: ``domains``,
``testers``, ``code``, ``audit``, ``release``, ``privacy``, ``qrcode``, ``setup``. Standard library and this package
only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from typing import Any

from ..http import WeChatHTTP
from ..tokens import TokenStore
from .audit import AuditAPI, AuditState, AuditStatus, Quota, parse_audit_status
from .base import FamilyAPI
from .code import CodeAPI, CodePrivacyInfo, encode_ext_json
from .domains import DomainsAPI
from .privacy import PRIVACY_DEV, PRIVACY_LIVE, PrivacyAPI
from .qrcode import QRCodeAPI
from .release import ReleaseAPI
from .setup import SetupAPI
from .testers import TestersAPI


class MiniProgram(FamilyAPI):
    """All authorizer-token APIs of one mini-program (``appid``)."""

    def __init__(self, http: WeChatHTTP, tokens: TokenStore, appid: str) -> None:
        super().__init__(http, tokens, appid)
        self.domains = DomainsAPI(http, tokens, appid)
        self.testers = TestersAPI(http, tokens, appid)
        self.code = CodeAPI(http, tokens, appid)
        self.audit = AuditAPI(http, tokens, appid)
        self.release = ReleaseAPI(http, tokens, appid)
        self.privacy = PrivacyAPI(http, tokens, appid)
        self.qrcode = QRCodeAPI(http, tokens, appid)
        self.setup = SetupAPI(http, tokens, appid)

    def clear_quota(self) -> dict[str, Any]:
        """Reset this mini-program's API call quotas (/cgi-bin/clear_quota; 10 a month).

        :raise InvalidRequest: 48006. :raise TokenError, TransportError, APIError.
        """
        return self._post("/cgi-bin/clear_quota", "clear_quota", {"appid": self.appid})


__all__ = [
    "AuditAPI", "AuditState", "AuditStatus", "CodeAPI", "CodePrivacyInfo", "DomainsAPI", "MiniProgram",
    "PRIVACY_DEV", "PRIVACY_LIVE", "PrivacyAPI", "QRCodeAPI", "Quota", "ReleaseAPI", "SetupAPI", "TestersAPI",
    "encode_ext_json", "parse_audit_status",
]
