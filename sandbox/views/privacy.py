"""Privacy-guideline endpoints (authorizer token): ``cgi-bin/component/setprivacysetting`` and
``getprivacysetting``. Version 2 (dev) settings go live when a version is released; version 1 (live) may
only change ``owner_setting`` and needs an existing live guideline (86074).
"""

from __future__ import annotations

from flask import Blueprint

from .. import commits
from ..errors import ApiError
from .api import AUTHORIZER, api_route

bp = Blueprint("privacy", __name__)
CONTACTS = ("contact_email", "contact_phone", "contact_qq", "contact_weixin")
PRIVACY_LABELS = {
    "UserInfo": "用户信息（微信昵称、头像）", "Location": "位置信息", "Address": "地址", "Invoice": "发票信息",
    "RunData": "微信运动步数", "Record": "麦克风", "Album": "选中的照片或视频信息", "Camera": "摄像头",
    "PhoneNumber": "手机号码", "Contact": "通讯录（仅写入）权限", "DeviceInfo": "设备信息",
    "EXIDNumber": "身份证号码", "EXOrderInfo": "订单信息", "EXUserPublishContent": "发布内容",
    "EXUserFollowAcct": "所关注账号", "EXUserOpLog": "操作日志", "AlbumWriteOnly": "相册（仅写入）权限",
    "LicensePlate": "车牌号", "BlueTooth": "蓝牙", "CalendarWriteOnly": "日历（仅写入）权限", "Email": "邮箱",
    "MessageFile": "选中的文件",
}


def _check_owner_setting(owner) -> dict:
    """86069 when a required owner_setting field is missing: 「4种联系方式至少要填一种」 and notice_method 是.

    The code is not in the doc; WeChat's answer to a body without a contact is on record in the community:
    {"errcode":86069,"errmsg":"owner_setting必填字段字段缺失"}. An owner_setting that is not an object (e.g. a
    JSON string) is a format error, 47001, as reported there too.
    """
    if owner is not None and not isinstance(owner, dict):
        raise ApiError(47001)
    if not owner or not any(owner.get(k) for k in CONTACTS) or not owner.get("notice_method"):
        raise ApiError(86069)
    return dict(owner)


def _check_setting_list(items) -> list:
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("privacy_key"), str) and i.get("privacy_text") for i in items):
        raise ApiError(40097, "invalid args: setting_list")
    return [{"privacy_key": i["privacy_key"], "privacy_text": i["privacy_text"]} for i in items]


@api_route(bp, "/cgi-bin/component/setprivacysetting", "setprivacysetting", AUTHORIZER)
def setprivacysetting(call):
    account = commits.require_miniprogram(call.sb, call)
    body = call.body
    version = body.get("privacy_ver", 2)
    owner = _check_owner_setting(body.get("owner_setting"))
    if version == 1:
        if "setting_list" in body:
            raise ApiError(40097, "invalid args: setting_list must be absent for privacy_ver 1")
        if not account.privacy.get("live"):
            raise ApiError(86074)
        account.privacy["live"]["owner_setting"] = owner
        account.privacy["live"]["update_time"] = int(call.sb.now())
    elif version == 2:
        account.privacy["dev"] = {"owner_setting": owner, "setting_list": _check_setting_list(body.get("setting_list")),
                                  "update_time": int(call.sb.now())}
    else:
        raise ApiError(40097)
    call.sb.state.dirty = True
    return {}


@api_route(bp, "/cgi-bin/component/getprivacysetting", "getprivacysetting", AUTHORIZER)
def getprivacysetting(call):
    account = commits.require_miniprogram(call.sb, call)
    version = call.body.get("privacy_ver", 2)
    if version not in (1, 2):
        raise ApiError(40097)
    setting = account.privacy.get("live" if version == 1 else "dev") or {}
    code = account.release if version == 1 else account.dev
    privacy_list = list(code.get("privacy_keys", [])) if code else []
    settings = [{**item, "privacy_label": PRIVACY_LABELS.get(item["privacy_key"], item["privacy_key"])}
                for item in setting.get("setting_list", [])]
    return {"code_exist": 1 if code else 0, "privacy_list": privacy_list, "setting_list": settings,
            "update_time": setting.get("update_time", 0), "owner_setting": setting.get("owner_setting", {}),
            "privacy_desc": {"privacy_desc_list": [{"privacy_key": k, "privacy_desc": v}
                                                   for k, v in PRIVACY_LABELS.items()]}}
