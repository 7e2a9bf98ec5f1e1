"""Mini-program code endpoints (authorizer token): commit, get_page, get_category, get_qrcode,
security/get_code_privacy_info, getwxacodeunlimit and uploadmedia. The rules live in ``sandbox.commits``.
"""

from __future__ import annotations

import io
import secrets
from urllib.parse import urlencode

import segno
from flask import Blueprint, Response, request

from .. import commits, setup
from ..errors import ApiError
from .api import AUTHORIZER, api_route

bp = Blueprint("code", __name__)


def qr_png(content: str) -> Response:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=5, border=2)
    return Response(buffer.getvalue(), mimetype="image/png")


@api_route(bp, "/wxa/commit", "commit", AUTHORIZER)
def commit(call):
    account = commits.require_miniprogram(call.sb, call)
    # The commit doc marks all four 必填; ext_json may be "{}" but must be sent.
    body = call.require("template_id", "ext_json", "user_version", "user_desc")
    commits.commit(call.sb, account, call.component_appid, body)
    return {}


@api_route(bp, "/wxa/get_page", "get_page", AUTHORIZER, method="GET")
def get_page(call):
    account = commits.require_miniprogram(call.sb, call)
    return {"page_list": list(commits.require_dev(account, 86001)["pages"])}


@api_route(bp, "/wxa/get_category", "get_category", AUTHORIZER, method="GET")
def get_category(call):
    account = commits.require_miniprogram(call.sb, call)
    return {"category_list": [{"first_class": c.get("first_class", ""), "second_class": c.get("second_class", ""),
                               "third_class": c.get("third_class", ""), "first_id": c.get("first_id", 0),
                               "second_id": c.get("second_id", 0), "third_id": c.get("third_id", 0)}
                              for c in setup.approved_categories(account)]}


@api_route(bp, "/wxa/get_qrcode", "get_qrcode", AUTHORIZER, method="GET")
def get_qrcode(call):
    """The trial version's QR code: a real PNG encoding appid, version and path. Permission set 18 or 86."""
    account = commits.require_miniprogram(call.sb, call, permission_sets=(18, 86))
    dev = commits.require_dev(account, 86001)
    query = urlencode({"version": dev["user_version"], "env": "trial", "path": request.args.get("path", "")})
    return qr_png(f"https://sandbox.weixin.qq.com/a/{account.appid}?{query}")


@api_route(bp, "/wxa/security/get_code_privacy_info", "get_code_privacy_info", AUTHORIZER,
           method="GET")
def get_code_privacy_info(call):
    account = commits.require_miniprogram(call.sb, call)
    return commits.code_privacy_info(call.sb, account)


@api_route(bp, "/wxa/getwxacodeunlimit", "getwxacodeunlimit", AUTHORIZER)
def getwxacodeunlimit(call):
    """Permission set 17. A missing, empty or over-32-character scene gets WeChat's 40169 ("invalid length for
    scene, or the data is not json string", as reported in the community; the doc lists no code for it)."""
    account = commits.require_miniprogram(call.sb, call, permission_sets=(17,))
    body = call.body
    scene, page = body.get("scene"), body.get("page", "")
    env = body.get("env_version", "release")
    if not isinstance(scene, str) or not 0 < len(scene) <= 32:
        raise ApiError(40169)
    if env not in ("release", "trial", "develop"):
        raise ApiError(40097)
    version = account.release if env == "release" else account.dev
    if body.get("check_path", True) and page and (not version or page not in version["pages"]):
        raise ApiError(41030)
    query = urlencode({"env": env, "page": page, "scene": scene})
    return qr_png(f"https://sandbox.weixin.qq.com/wxacode/{account.appid}?{query}")


# uploadmedia: "图片（image）: 2M，支持PNG\JPEG\JPG\GIF格式 视频（video）：10MB，支持MP4格式".
# The file name's extension picks the kind, and the bytes must be of that format (40005 otherwise).
MEDIA_KINDS = {"png": "image", "jpeg": "image", "jpg": "image", "gif": "image", "mp4": "video"}
MEDIA_LIMITS = {"image": 2 * 1024 * 1024, "video": 10 * 1024 * 1024}


def media_format(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[4:8] == b"ftyp":
        return "mp4"
    return None


@api_route(bp, "/wxa/uploadmedia", "uploadmedia", AUTHORIZER)
def uploadmedia(call):
    """提审素材: a multipart ``media`` file; answers the ``mediaid`` to use in submit_audit preview_info.
    41005 no file; 40005 not a PNG/JPEG/GIF image or MP4 video; 40006 an image over 2 MB, a video over 10 MB."""
    commits.require_miniprogram(call.sb, call)
    media = request.files.get("media")
    content = media.read() if media is not None else b""
    if not content:
        raise ApiError(41005)
    name = media.filename or ""
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    kind = MEDIA_KINDS.get(extension)
    if kind is None or media_format(content[:12]) != ("jpeg" if extension == "jpg" else extension):
        raise ApiError(40005)
    if len(content) > MEDIA_LIMITS[kind]:
        raise ApiError(40006)
    return {"mediaid": "sandbox_media_" + secrets.token_hex(12), "type": kind}
