"""Privacy guideline (用户隐私保护指引) of a mini-program: read and write.

``privacy_ver`` 2 (default) is the development version and takes ``setting_list``; version 1 (live) may only
change ``owner_setting`` and must not carry ``setting_list``. Standard library and this package only; no Flask
or ``portal.*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import FamilyAPI, compact

PRIVACY_LIVE = 1
PRIVACY_DEV = 2
CONTACT_FIELDS = ("contact_email", "contact_phone", "contact_qq", "contact_weixin")


class PrivacyAPI(FamilyAPI):
    """``client.miniprogram(appid).privacy``."""

    def set_privacy_setting(self, owner_setting: Mapping[str, Any],
                            setting_list: Sequence[Mapping[str, Any]] | None = None, *,
                            privacy_ver: int = PRIVACY_DEV,
                            sdk_privacy_info_list: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Write the privacy guideline (/cgi-bin/component/setprivacysetting).

        :raise ReviewError: 86074 no live guideline (privacy_ver 1). :raise TokenError, TransportError.
        :raise ValueError: no contact or no notice_method, checked here first (WeChat answers 86069).
        """
        if privacy_ver not in (PRIVACY_LIVE, PRIVACY_DEV):
            raise ValueError("privacy_ver must be 1 (live) or 2 (development)")
        if privacy_ver == PRIVACY_LIVE and setting_list is not None:
            raise ValueError("setting_list must be absent for privacy_ver 1")
        if not any(owner_setting.get(name) for name in CONTACT_FIELDS):
            raise ValueError("owner_setting needs at least one of " + ", ".join(CONTACT_FIELDS))
        if not owner_setting.get("notice_method"):
            raise ValueError("owner_setting.notice_method is required")
        body = compact(
            privacy_ver=privacy_ver, owner_setting=dict(owner_setting),
            setting_list=[dict(s) for s in setting_list] if setting_list is not None else None,
            sdk_privacy_info_list=[dict(s) for s in sdk_privacy_info_list] if sdk_privacy_info_list else None,
        )
        self._post("/cgi-bin/component/setprivacysetting", "setprivacysetting", body)

    def get_privacy_setting(self, privacy_ver: int = PRIVACY_DEV) -> dict[str, Any]:
        """Read the guideline (/cgi-bin/component/getprivacysetting): ``privacy_list`` (keys found in the
        code), ``setting_list``, ``owner_setting``, ``code_exist``...

        :raise TokenError, TransportError, APIError.
        """
        return self._post("/cgi-bin/component/getprivacysetting", "getprivacysetting",
                          {"privacy_ver": int(privacy_ver)}, idempotent=True)

    def undeclared_privacy_keys(self, privacy_ver: int = PRIVACY_DEV) -> list[str]:
        """Keys detected in the code (``privacy_list``) that ``setting_list`` does not declare yet."""
        data = self.get_privacy_setting(privacy_ver)
        declared = {str(s.get("privacy_key")) for s in data.get("setting_list") or ()}
        return [str(k) for k in data.get("privacy_list") or () if str(k) not in declared]
