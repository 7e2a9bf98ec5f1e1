"""Committing code (``/wxa/commit``) and what follows from the committed version.

Validates a commit like WeChat: ``template_id`` must be a JSON number naming a template of the platform
(85014), ``ext_json`` must be a JSON-encoded *string* (47001) that parses (85048) into an object of the
right shape (85013), whose pages/extPages exist in the template (85045), whose tabBar points at listed
pages (85046), with non-empty pages (85047). A standard template (template_type 1) takes only extAppid, ext
and window (9402203 标准模板extjson错误 for any other key). A commit makes the trial (体验版) version and
restarts the privacy scan (61039 until it finishes).

Location APIs (wx.getLocation …) the code calls must be declared in ext_json ``requiredPrivateInfos``
(which names them without "wx.") and granted to the mini-program (its ``location_permissions``, what
apply_privacy_interface obtains); get_code_privacy_info lists the ones lacking either, by API name.
"""

from __future__ import annotations

import json

from . import library
from .errors import ApiError

# commit doc, template_id: "如果该模板id为标准模板库的模板id,则ext_json可支持的参数为:{"extAppid":" ", "ext": {}, "window": {}}"
STANDARD_TEMPLATE_KEYS = {"extAppid", "ext", "window"}
STANDARD_EXT_JSON_ERROR = 9402203
# The location APIs that need permission (apply_privacy_interface) and a requiredPrivateInfos entry.
LOCATION_APIS = ("wx.getFuzzyLocation", "wx.getLocation", "wx.onLocationChange", "wx.chooseAddress",
                 "wx.choosePoi", "wx.chooseLocation", "wx.startLocationUpdate", "wx.startLocationUpdateBackground")
DICT_KEYS = ("ext", "extPages", "window", "networkTimeout", "tabBar", "plugins")


def require_miniprogram(sb, call, permission_sets=(18,)):
    """The account behind an authorizer token; 85015 for official accounts, 48001 when the authorization
    holds none of ``permission_sets`` (each page names its own: 「该接口所属的权限集 id 为：18」 for most)."""
    account = sb.state.accounts[call.appid]
    if not account.is_miniprogram:
        raise ApiError(85015)
    auth = sb.state.authorization(call.component_appid, call.appid)
    if not set(permission_sets) & set(auth.func_info):
        raise ApiError(48001)
    return account


def parse_ext_json(raw, template, appid: str) -> dict:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise ApiError(47001, "data format error: ext_json must be a JSON string")
    try:
        ext = json.loads(raw)
    except ValueError:
        raise ApiError(85048) from None
    if not isinstance(ext, dict):
        raise ApiError(85013)
    extra = sorted(set(ext) - STANDARD_TEMPLATE_KEYS) if template.template_type == 1 else []
    if extra:
        raise ApiError(STANDARD_EXT_JSON_ERROR, "标准模板extjson错误: a standard template's ext_json takes only "
                                                "extAppid, ext and window, not " + ", ".join(extra))
    if "extAppid" in ext and ext["extAppid"] != appid:
        raise ApiError(85013, "invalid ext config: extAppid does not match the authorizer appid")
    if any(key in ext and not isinstance(ext[key], dict) for key in DICT_KEYS):
        raise ApiError(85013)
    for key in ("pages", "requiredPrivateInfos"):
        if key in ext and not (isinstance(ext[key], list) and all(isinstance(p, str) for p in ext[key])):
            raise ApiError(85013)
    return ext


def committed_pages(ext: dict, template) -> list[str]:
    known = set(template.pages)
    pages = ext.get("pages", template.pages)
    if not pages:
        raise ApiError(85047)
    if any(page not in known for page in list(pages) + list(ext.get("extPages", {}))):
        raise ApiError(85045)
    tab_items = ext.get("tabBar", {}).get("list", [])
    if any(not isinstance(i, dict) or i.get("pagePath") not in pages for i in tab_items):
        raise ApiError(85046)
    return list(pages)


def commit(sb, account, component_appid: str, body: dict) -> dict:
    template = library.find_template(sb, component_appid, body.get("template_id"))
    if template is None:
        raise ApiError(85014)
    ext = parse_ext_json(body.get("ext_json"), template, account.appid)
    pages = committed_pages(ext, template)
    user_version, user_desc = body.get("user_version", ""), body.get("user_desc", "")
    if not isinstance(user_version, str) or not user_version or len(user_version) > 64:
        raise ApiError(40097, "invalid args: user_version must be 1-64 characters")
    now = sb.now()
    account.dev = {"template_id": template.template_id, "user_version": user_version,
                   "user_desc": str(user_desc), "ext_json": body.get("ext_json") or "", "pages": pages,
                   "commit_time": now, "scan_done_at": now + sb.options.privacy_scan_seconds,
                   "privacy_keys": list(template.privacy_keys),
                   "location_apis": [api_name(a) for a in template.location_apis],
                   "required_private_infos": [api_name(a) for a in ext.get("requiredPrivateInfos", [])],
                   "commit_id": sb.state.next_id("commit")}
    sb.state.dirty = True
    return account.dev


def require_dev(account, errcode: int = 85086) -> dict:
    if not account.dev:
        raise ApiError(errcode)
    return account.dev


def api_name(name: str) -> str:
    """"getLocation" (requiredPrivateInfos' spelling) or "wx.getLocation" (the scan's) -> "wx.getLocation"."""
    return name if name.startswith("wx.") else "wx." + name


def undeclared_privacy_keys(account) -> list[str]:
    """Privacy keys the committed code uses that the dev privacy guideline (setprivacysetting) has no text for."""
    setting = (account.privacy or {}).get("dev") or {}
    declared = {item.get("privacy_key") for item in setting.get("setting_list", [])}
    return [key for key in account.dev.get("privacy_keys", []) if key not in declared]


def location_scan(account) -> dict:
    """The scan's findings by API name (getCodePrivacyInfo: without_auth_list 没权限的隐私接口的api英文名,
    without_conf_list 没配置的隐私接口的api英文名): location APIs the code calls or ext.json declares that the
    mini-program has no permission for, and ones the code calls that requiredPrivateInfos does not declare."""
    dev, granted = account.dev, {api_name(a) for a in account.location_permissions}
    used, configured = dev.get("location_apis", []), dev.get("required_private_infos", [])
    concerned = used + [a for a in configured if a not in used and a in LOCATION_APIS]
    return {"without_auth_list": [a for a in concerned if a not in granted],
            "without_conf_list": [a for a in used if a not in configured]}


def location_refusal(account, privacy_api_not_use) -> str | None:
    """submit_audit's 61040 text, or None. Declared in ext.json but not granted: refused even with
    privacy_api_not_use ("ext.json配置的隐私接口xxx无权限,请申请权限后再提交审核"). Called but not declared:
    refused unless privacy_api_not_use declares them unused ("代码中含有ext.json未配置隐私接口xxx(暂无权限),
    请配置并申请权限或者承诺不使用这些接口(设置参数privacy_api_not_use为true)后再提交审核")."""
    scan = location_scan(account)
    unconfigured = scan["without_conf_list"]
    not_granted = [a for a in scan["without_auth_list"] if a not in unconfigured]
    if not_granted:
        return f"ext.json配置的隐私接口{'/'.join(not_granted)}无权限,请申请权限后再提交审核。"
    if unconfigured and not privacy_api_not_use:
        return (f"代码中含有ext.json未配置隐私接口{'/'.join(unconfigured)},请配置并申请权限或者承诺不使用这些接口"
                "(设置参数privacy_api_not_use为true)后再提交审核。")
    return None


def code_privacy_info(sb, account) -> dict:
    """security/get_code_privacy_info: 61039 while the post-commit scan runs."""
    dev = require_dev(account, 86001)
    if sb.now() < dev["scan_done_at"]:
        raise ApiError(61039)
    return location_scan(account)
