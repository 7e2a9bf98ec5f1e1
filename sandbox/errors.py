"""WeChat-style API errors raised by the sandbox's handlers.

WeChat answers almost every failure with HTTP 200 and a JSON body ``{"errcode": n, "errmsg": "..."}``;
``ApiError`` carries exactly that, and ``ERRMSG`` holds the default message text for each code the
sandbox emits. This module imports nothing from the rest of the sandbox.
"""

from __future__ import annotations

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40005: "invalid file type",
    40006: "invalid media size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40097: "invalid args",
    40125: "invalid appsecret",
    40169: "invalid length for scene, or the data is not json string",
    41001: "access_token missing",
    41002: "appid missing",
    41005: "media data missing",
    41030: "invalid page rid",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    47001: "data format error",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    61003: "component is not authorized by this account",
    61004: "access clientip is not registered",
    61005: "component ticket is expired",
    61006: "component ticket is invalid",
    61007: "api is unauthorized to component",
    61009: "code is invalid",
    61010: "code is expired",
    61011: "invalid component",
    61023: "refresh_token is invalid",
    61039: "the privacy scan of the committed code is not finished, please retry later",
    61040: "ext.json privacy interface is not configured or not permitted",
    85001: "wechat id not exist or can not be searched",
    85002: "mini program testers reach limit",
    85004: "wechat id already bound",
    85009: "already submit a version under review",
    85012: "invalid audit id",
    85013: "invalid ext config",
    85014: "invalid template id",
    85015: "this account is not a mini program",
    85016: "domain count reach limit",
    85017: "no domain to modify after filtered, please confirm the domain has been set in miniprogram or open",
    85019: "no approved version to release",
    85020: "status not allowed",
    85023: "item size is not in valid range",
    85045: "some path in ext_json not exist",
    85046: "tabBar path not exist in pages",
    85047: "pages are empty",
    85048: "ext.json parse failed",
    85052: "this version has been released",
    85064: "template not found",
    85065: "template list is full",
    85081: "invalid gray percentage",
    85085: "submit audit reach limit, please try again later",
    85086: "must commit code before submit audit",
    86001: "no code submitted by the third party",
    86002: "小程序还未设置昵称、头像、简介。请先设置完后再重新提交 (nickname, avatar or intro not set)",
    86074: "no live privacy setting exists",
    87011: "gray release in progress, can not revert",
    87012: "this version can not be reverted",
    87013: "undo code audit reach limit",
    86004: "invalid wechat",
    61070: "name, wechat name not in accordance",
    86102: "每个月只能修改50次，超过域名修改次数限制",  # the description in the doc's errcode table
    86069: "owner_setting必填字段字段缺失",  # sic: WeChat doubles 字段
    89019: "webview domain not changed",
    89021: "the domain is not a business domain of the third party platform",
    89248: "invalid code type",
    89249: "task running",
    89250: "task not found",
    89251: "legal person checking",
    89253: "lack of some params",
    89255: "enterprise code invalid",
    89402: "该审核单不在待审核队列，请检查是否已提交审核或已审完",
    89404: "本单已加速成功，请勿重复提交",
    89405: "本月加急额度已用完，请提高提审质量以获取更多额度",
    9402203: "标准模板extjson错误",
}


class ApiError(Exception):
    """A WeChat error answer: errcode/errmsg in a JSON body (HTTP 200 unless told otherwise)."""

    def __init__(self, errcode: int, errmsg: str | None = None, http_status: int = 200):
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "error")
        self.http_status = http_status
        super().__init__(f"{errcode}: {self.errmsg}")

    def as_dict(self) -> dict:
        return {"errcode": self.errcode, "errmsg": self.errmsg}
