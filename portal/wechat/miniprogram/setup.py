"""Setting up a mini-program: basic information, categories and location-API permissions.

Basic information (permission sets 3/30): getaccountbasicinfo, setnickname (a name that hits a keyword is
audited: ``audit_id``, then api_wxa_querynickname and the ``wxa_nickname_audit`` push), modifyheadimage
(a temporary ``media_id`` from cgi-bin/media/upload, never /wxa/uploadmedia's), modifysignature.
Categories (set 30): getallcategories, getcategory, addcategory (qualification documents as temporary
media ids), deletecategory. Location APIs (set 18): get_privacy_interface, apply_privacy_interface.
Standard library and this package only; no Flask or ``portal.*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import FamilyAPI, compact

NAME_PENDING, NAME_REJECTED, NAME_APPROVED = 1, 2, 3  # api_wxa_querynickname audit_stat
CATEGORY_PENDING, CATEGORY_REJECTED, CATEGORY_APPROVED = 1, 2, 3  # getcategory audit_status
# get_privacy_interface status: 1 待申请开通, 2 无权限, 3 申请中, 4 申请失败, 5 已开通
INTERFACE_NOT_APPLIED, INTERFACE_NO_PERMISSION, INTERFACE_PENDING, INTERFACE_REJECTED, INTERFACE_OPEN = 1, 2, 3, 4, 5


class SetupAPI(FamilyAPI):
    """``client.miniprogram(appid).setup``."""

    def basic_info(self) -> dict[str, Any]:
        """/cgi-bin/account/getaccountbasicinfo: ``nickname``, ``head_image_info``, ``signature_info``...

        :raise TokenError, TransportError, APIError.
        """
        return self._post("/cgi-bin/account/getaccountbasicinfo", "getaccountbasicinfo", {}, idempotent=True)

    def set_nickname(self, nick_name: str, *, license_media_id: str | None = None,
                     id_card_media_id: str | None = None, other_media_ids: Sequence[str] = ()) -> dict[str, Any]:
        """/wxa/setnickname: ``audit_id`` (non-zero when the name hits a keyword and is audited) and ``wording``.

        :raise InvalidRequest: the name or its proof is refused. :raise TokenError, TransportError, APIError.
        """
        body = compact(nick_name=nick_name, license=license_media_id, id_card=id_card_media_id,
                       **{f"naming_other_stuff_{i}": m for i, m in enumerate(other_media_ids[:5], 1)})
        return self._post("/wxa/setnickname", "setnickname", body)

    def query_nickname(self, audit_id: int | str) -> dict[str, Any]:
        """/wxa/api_wxa_querynickname: ``nickname``, ``audit_stat`` (1/2/3), ``fail_reason``.

        :raise APIError: 91011 no such audit. :raise TokenError, TransportError.
        """
        return self._post("/wxa/api_wxa_querynickname", "api_wxa_querynickname", {"audit_id": int(audit_id)},
                          idempotent=True)

    def upload_image(self, filename: str, content: bytes, content_type: str) -> str:
        """/cgi-bin/media/upload?type=image (临时素材): the ``media_id`` modifyheadimage and addcategory take.

        :raise InvalidRequest: 40005 type, 40009 size. :raise TokenError, TransportError, APIError.
        """
        files = {"media": (filename, content, content_type)}
        data = self.http.call("POST", "/cgi-bin/media/upload", api="media_upload", token=self._token,
                              appid=self.appid, params={"type": "image"}, files=files)
        return str(data.get("media_id", ""))

    def modify_head_image(self, media_id: str, crop: tuple[float, float, float, float] = (0, 0, 1, 1)) -> None:
        """/cgi-bin/account/modifyheadimage with a temporary media id and the crop box (x1, y1, x2, y2 in [0, 1]).

        :raise APIError: 40007 not a temporary media id of this app, 53205 a bad crop box.
        """
        x1, y1, x2, y2 = (str(v) for v in crop)
        self._post("/cgi-bin/account/modifyheadimage", "modifyheadimage",
                   {"head_img_media_id": media_id, "x1": x1, "y1": y1, "x2": x2, "y2": y2})

    def modify_signature(self, signature: str) -> None:
        """/cgi-bin/account/modifysignature (功能介绍).

        :raise APIError: 53204 length outside 4-120. :raise TokenError, TransportError.
        """
        self._post("/cgi-bin/account/modifysignature", "modifysignature", {"signature": signature})

    def all_categories(self) -> list[dict[str, Any]]:
        """/cgi-bin/wxopen/getallcategories: every category, each with ``father``, ``children``, ``qualify``."""
        data = self._get("/cgi-bin/wxopen/getallcategories", "getallcategories", idempotent=True)
        return list((data.get("categories_list") or {}).get("categories") or ())

    def categories(self) -> dict[str, Any]:
        """/cgi-bin/wxopen/getcategory: the account's ``categories`` (with ``audit_status``), ``limit``, ``quota``."""
        return self._get("/cgi-bin/wxopen/getcategory", "getcategory", idempotent=True)

    def add_category(self, first: int, second: int, certificates: Mapping[str, str] | None = None) -> None:
        """/cgi-bin/wxopen/addcategory with one category; ``certificates`` maps a document's name to its media id.

        :raise InvalidRequest: the category is refused (e.g. its documents are missing).
        """
        item = {"first": int(first), "second": int(second),
                "certicates": [{"key": k, "value": v} for k, v in (certificates or {}).items()]}
        self._post("/cgi-bin/wxopen/addcategory", "addcategory", {"categories": [item]})

    def delete_category(self, first: int, second: int) -> None:
        """/cgi-bin/wxopen/deletecategory."""
        self._post("/cgi-bin/wxopen/deletecategory", "deletecategory", {"first": int(first), "second": int(second)})

    def privacy_interfaces(self) -> list[dict[str, Any]]:
        """/wxa/security/get_privacy_interface: each location API with its ``status`` (1-5)."""
        data = self._get("/wxa/security/get_privacy_interface", "get_privacy_interface", idempotent=True)
        return list(data.get("interface_list") or ())

    def apply_privacy_interface(self, api_name: str, content: str, *, url_list: Sequence[str] = (),
                                pic_list: Sequence[str] = (), video_list: Sequence[str] = ()) -> int:
        """/wxa/security/apply_privacy_interface: the application's ``audit_id``.

        :raise InvalidRequest: 61031 one is in review, 61034 a field is missing, 61035 no need to apply.
        """
        body = compact(api_name=api_name, content=content, url_list=list(url_list) or None,
                       pic_list=list(pic_list) or None, video_list=list(video_list) or None)
        return int(self._post("/wxa/security/apply_privacy_interface", "apply_privacy_interface", body)
                   .get("audit_id") or 0)
