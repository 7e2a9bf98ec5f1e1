"""Code review (审核): submit, query, withdraw, speed up, quota.

Both status queries are normalised into `AuditStatus`; ``get_latest_auditstatus`` spells the screenshot
field ``ScreenShot`` while ``get_auditstatus`` uses ``screenshot``, and both forms are accepted.
Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import FamilyAPI, compact

MAX_ITEMS = 5
MAX_FEEDBACK_INFO = 200


class AuditState(enum.IntEnum):
    APPROVED = 0
    REJECTED = 1
    IN_REVIEW = 2
    WITHDRAWN = 3
    DELAYED = 4


@dataclass(frozen=True)
class AuditStatus:
    auditid: int | None
    status: int
    reason: str
    screenshots: tuple[str, ...]
    user_version: str = ""
    user_desc: str = ""
    submit_audit_time: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def state(self) -> AuditState | None:
        try:
            return AuditState(self.status)
        except ValueError:
            return None


@dataclass(frozen=True)
class Quota:
    rest: int
    limit: int
    speedup_rest: int
    speedup_limit: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_audit_status(data: Mapping[str, Any], auditid: int | None = None) -> AuditStatus:
    """Build an `AuditStatus` from either status response."""
    shots = data.get("ScreenShot") or data.get("screenshot") or data.get("Screenshot") or ""
    raw_id = data.get("auditid", auditid)
    return AuditStatus(
        auditid=int(raw_id) if raw_id not in (None, "") else None, status=int(data.get("status", -1)),
        reason=str(data.get("reason") or ""), screenshots=tuple(s for s in str(shots).split("|") if s),
        user_version=str(data.get("user_version") or ""), user_desc=str(data.get("user_desc") or ""),
        submit_audit_time=int(data.get("submit_audit_time") or 0), raw=dict(data),
    )


class AuditAPI(FamilyAPI):
    """``client.miniprogram(appid).audit``."""

    def submit_audit(self, *, item_list: Sequence[Mapping[str, Any]] | None = None,
                     preview_info: Mapping[str, Any] | None = None, version_desc: str | None = None,
                     feedback_info: str | None = None, feedback_stuff: str | Sequence[str] | None = None,
                     ugc_declare: Mapping[str, Any] | None = None, privacy_api_not_use: bool | None = None,
                     order_path: str | None = None) -> int:
        """Submit the trial version for review (/wxa/submit_audit); returns ``auditid``.

        Never sent twice: when the answer is lost (``TransportError.maybe_sent``) read
        `get_latest_audit_status` to learn whether WeChat took it.

        ``feedback_stuff`` may be a list of media ids (joined with ``|``).
        :raise ReviewError: 85009 already in review, 85085 monthly quota, 85086, 86002, 85077, 85087,
            61039 privacy scan unfinished, 61040 privacy API undeclared. :raise TokenError, TransportError.
        """
        if item_list is not None and len(item_list) > MAX_ITEMS:
            raise ValueError("item_list takes at most 5 entries")
        if feedback_info is not None and len(feedback_info) > MAX_FEEDBACK_INFO:
            raise ValueError("feedback_info takes at most 200 characters")
        if feedback_stuff is not None and not isinstance(feedback_stuff, str):
            feedback_stuff = "|".join(feedback_stuff)
        body = compact(
            item_list=[dict(i) for i in item_list] if item_list is not None else None,
            preview_info=dict(preview_info) if preview_info is not None else None,
            version_desc=version_desc, feedback_info=feedback_info, feedback_stuff=feedback_stuff,
            ugc_declare=dict(ugc_declare) if ugc_declare is not None else None,
            privacy_api_not_use=privacy_api_not_use, order_path=order_path,
        )
        data = self._post("/wxa/submit_audit", "submit_audit", body)
        return int(data["auditid"])

    def get_audit_status(self, auditid: int) -> AuditStatus:
        """Status of one submission (/wxa/get_auditstatus).

        :raise ReviewError: 85012 invalid auditid, 86000, 86001. :raise TokenError, TransportError.
        """
        data = self._post("/wxa/get_auditstatus", "get_auditstatus", {"auditid": int(auditid)}, idempotent=True)
        return parse_audit_status(data, int(auditid))

    def get_latest_audit_status(self) -> AuditStatus:
        """Status of the latest submission (/wxa/get_latest_auditstatus).

        :raise ReviewError: 86000, 86001. :raise TokenError, TransportError, APIError.
        """
        return parse_audit_status(self._get("/wxa/get_latest_auditstatus", "get_latest_auditstatus",
                                            idempotent=True))

    def undo_code_audit(self) -> None:
        """Withdraw the submission under review (/wxa/undocodeaudit).

        :raise ReviewError: 87013 withdraw limit. :raise TokenError, TransportError, APIError.
        """
        self._get("/wxa/undocodeaudit", "undocodeaudit")

    def speedup_audit(self, auditid: int) -> None:
        """Ask for an expedited review (/wxa/speedupaudit); limited by ``speedup_rest``.

        :raise ReviewError: 89402 not in the review queue, 89403 kind not expeditable, 89404 already sped up,
            89405 the month's speed-ups spent. :raise SystemBusy: 89401. :raise TokenError, TransportError.
        """
        self._post("/wxa/speedupaudit", "speedupaudit", {"auditid": int(auditid)})

    def query_quota(self) -> Quota:
        """Remaining review submissions and speed-ups this month (/wxa/queryquota).

        :raise TokenError, TransportError, APIError.
        """
        data = self._get("/wxa/queryquota", "queryquota", idempotent=True)
        return Quota(int(data.get("rest") or 0), int(data.get("limit") or 0),
                     int(data.get("speedup_rest") or 0), int(data.get("speedup_limit") or 0), data)
