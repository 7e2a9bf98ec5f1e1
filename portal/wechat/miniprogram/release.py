"""Release, roll back, gray release and visit status of a mini-program.

``/wxa/release`` needs the literal body ``{}``. Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from typing import Any

from .base import FamilyAPI, compact

VISIT_OPEN = 1  # getvisitstatus: "1表示未暂停服务"


class ReleaseAPI(FamilyAPI):
    """``client.miniprogram(appid).release``."""

    def release(self) -> None:
        """Publish the approved version (/wxa/release, body ``{}``). Never sent twice: after a lost answer
        compare `CodeAPI.get_version_info`'s ``release_info`` (a repeat answers 85052 at best).

        :raise ReviewError: 85019 nothing approved, 85020 status not allowed, 85052 already released.
        :raise TokenError, TransportError, APIError.
        """
        self._post("/wxa/release", "release", {})

    def revert_code_release(self, app_version: int | None = None) -> None:
        """Roll back to the previous (or the given) released version (/wxa/revertcoderelease).

        :raise TokenError, TransportError, APIError.
        """
        params = {"app_version": int(app_version)} if app_version is not None else None
        self._get("/wxa/revertcoderelease", "revertcoderelease", params)

    def get_history_versions(self) -> list[dict[str, Any]]:
        """Versions available for rollback (/wxa/revertcoderelease?action=get_history_version).

        :raise TokenError, TransportError, APIError.
        """
        data = self._get("/wxa/revertcoderelease", "revertcoderelease_history",
                         {"action": "get_history_version"}, idempotent=True)
        return list(data.get("version_list") or ())

    def gray_release(self, gray_percentage: int, *, support_debuger_first: bool | None = None,
                     support_experiencer_first: bool | None = None) -> None:
        """Release to a percentage of users first (/wxa/grayrelease): 0..100, where 0 reaches only project
        members or testers, so it needs one of the two flags (「如果gray_percentage=0，support_experiencer_first与
        support_debuger_first二选一必填」).

        :raise ReviewError: 85079-85082 (no live version, not approved, bad or lower percentage).
        :raise TokenError, TransportError, APIError.
        """
        if not 0 <= int(gray_percentage) <= 100:
            raise ValueError("gray_percentage must be 0..100")
        if int(gray_percentage) == 0 and not (support_debuger_first or support_experiencer_first):
            raise ValueError("gray_percentage 0 needs support_debuger_first or support_experiencer_first")
        body = compact(gray_percentage=int(gray_percentage), support_debuger_first=support_debuger_first,
                       support_experiencer_first=support_experiencer_first)
        self._post("/wxa/grayrelease", "grayrelease", body)

    def get_gray_release_plan(self) -> dict[str, Any]:
        """The current ``gray_release_plan`` (/wxa/getgrayreleaseplan); status 0-4.

        :raise TokenError, TransportError, APIError.
        """
        data = self._get("/wxa/getgrayreleaseplan", "getgrayreleaseplan", idempotent=True)
        return dict(data.get("gray_release_plan") or {})

    def revert_gray_release(self) -> None:
        """Cancel the gray release (/wxa/revertgrayrelease). :raise TokenError, TransportError, APIError."""
        self._get("/wxa/revertgrayrelease", "revertgrayrelease")

    def change_visit_status(self, action: str) -> None:
        """Open or close the online version to visitors (/wxa/change_visitstatus, action ``open``/``close``).

        :raise TokenError, TransportError, APIError.
        """
        if action not in ("open", "close"):
            raise ValueError("action must be 'open' or 'close'")
        self._post("/wxa/change_visitstatus", "change_visitstatus", {"action": action})

    def is_open_to_visitors(self) -> bool:
        """Whether the live version serves visitors (/wxa/getvisitstatus, body ``{}``: WeChat answers 44002
        without it). ``status`` 1 is 未暂停服务 (open), 0 已暂停服务 (paused, by the owner or for a violation).

        :raise TokenError, TransportError, APIError.
        """
        return self._post("/wxa/getvisitstatus", "getvisitstatus", {}, idempotent=True).get("status") == VISIT_OPEN
