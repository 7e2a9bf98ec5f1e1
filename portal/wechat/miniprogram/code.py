"""Code upload and inspection: commit a template as the trial version, pages, categories, trial QR code,
version info and the post-commit privacy scan.

``/wxa/commit`` is strict about types: ``template_id`` must be a JSON number (a quoted id gives 85014) and
``ext_json`` must be a JSON-encoded *string* (an object gives 47001); `CodeAPI.commit` enforces both.
Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..http import Image
from .base import FamilyAPI

MAX_USER_VERSION = 64


def encode_ext_json(ext_json: Mapping[str, Any] | str) -> str:
    """Return ``ext_json`` as the JSON string WeChat wants; a given string must hold a JSON object."""
    if isinstance(ext_json, str):
        try:
            parsed = json.loads(ext_json)
        except ValueError:
            raise ValueError("ext_json is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("ext_json must encode a JSON object")
        return ext_json
    if isinstance(ext_json, Mapping):
        return json.dumps(dict(ext_json), ensure_ascii=False, separators=(",", ":"))
    raise TypeError("ext_json must be a mapping or a JSON string")


def _template_id(template_id: int | str) -> int:
    if isinstance(template_id, bool):
        raise TypeError("template_id must be a number")
    try:
        value = int(str(template_id).strip())
    except ValueError:
        raise ValueError("template_id must be a number") from None
    if value < 0:
        raise ValueError("template_id must not be negative")
    return value


@dataclass(frozen=True)
class CodePrivacyInfo:
    """get_code_privacy_info: privacy APIs used but not permitted / not declared."""

    without_auth_list: tuple[str, ...]
    without_conf_list: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_clean(self) -> bool:
        return not self.without_auth_list and not self.without_conf_list


class CodeAPI(FamilyAPI):
    """``client.miniprogram(appid).code``."""

    def commit(self, template_id: int | str, ext_json: Mapping[str, Any] | str, user_version: str,
               user_desc: str = "") -> dict[str, Any]:
        """Upload template code as the trial version (/wxa/commit).

        ``template_id`` is sent as a number and ``ext_json`` as a JSON string, always. Never sent twice (each
        commit restarts WeChat's privacy scan): after a lost answer compare `get_version_info`'s ``exp_info``.
        :raise ReviewError: 85013, 85014, 85043-85048. :raise InvalidRequest: 47001.
        :raise PermissionDenied: 48001. :raise TokenError, TransportError, APIError.
        """
        if not user_version or len(user_version) > MAX_USER_VERSION:
            raise ValueError("user_version must be 1..64 characters")
        body = {"template_id": _template_id(template_id), "ext_json": encode_ext_json(ext_json),
                "user_version": user_version, "user_desc": user_desc}
        return self._post("/wxa/commit", "commit", body)

    def get_page(self) -> list[str]:
        """Pages of the uploaded code (/wxa/get_page). :raise TokenError, TransportError, APIError."""
        return [str(p) for p in self._get("/wxa/get_page", "get_page", idempotent=True).get("page_list") or ()]

    def get_category(self) -> list[dict[str, Any]]:
        """Categories usable in submit_audit ``item_list`` (/wxa/get_category).

        :raise TokenError, TransportError, APIError.
        """
        return list(self._get("/wxa/get_category", "get_category", idempotent=True).get("category_list") or ())

    def get_qrcode(self, path: str | None = None) -> Image:
        """Trial-version QR code image (/wxa/get_qrcode); ``path`` is a page with optional query.

        :raise TokenError, TransportError, APIError.
        """
        params = {"path": path} if path else None
        return self._get("/wxa/get_qrcode", "get_qrcode", params, binary=True, idempotent=True)

    def get_version_info(self) -> dict[str, Any]:
        """``exp_info`` and ``release_info`` (/wxa/getversioninfo); use it to reconcile 85020/85052."""
        return self._post("/wxa/getversioninfo", "getversioninfo", {}, idempotent=True)

    def get_code_privacy_info(self) -> CodePrivacyInfo:
        """Result of the post-commit privacy scan (/wxa/security/get_code_privacy_info).

        Poll this until it stops raising 61039 before submit_audit; never re-commit to "retry".
        :raise ReviewError: 61039 scan not finished. :raise TokenError, TransportError, APIError.
        """
        data = self._get("/wxa/security/get_code_privacy_info", "get_code_privacy_info", idempotent=True)
        return CodePrivacyInfo(tuple(data.get("without_auth_list") or ()),
                               tuple(data.get("without_conf_list") or ()), data)

    def upload_media(self, filename: str, content: bytes, content_type: str = "image/png") -> str:
        """Upload a picture/video for submit_audit ``preview_info`` (/wxa/uploadmedia); returns ``mediaid``.

        :raise TokenError, TransportError, APIError.
        """
        data = self._upload("/wxa/uploadmedia", "uploadmedia", "media", filename, content, content_type)
        return str(data.get("mediaid", ""))
