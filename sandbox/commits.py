"""Committing code (``/wxa/commit``) and what follows from the committed version.

Validates a commit like WeChat: ``template_id`` must be a JSON number naming a template of the platform
(85014), ``ext_json`` must be a JSON-encoded *string* (47001) that parses (85048) into an object of the
right shape (85013; standard templates accept only extAppid/ext/window), whose pages/extPages exist in the
template (85045), whose tabBar points at listed pages (85046), with non-empty pages (85047). A commit makes
the trial (体验版) version and restarts the privacy scan (61039 until it finishes).
"""

from __future__ import annotations

import json

from . import library
from .errors import ApiError

STANDARD_TEMPLATE_KEYS = {"extAppid", "ext", "window", "extEnable", "directCommit"}
DICT_KEYS = ("ext", "extPages", "window", "networkTimeout", "tabBar", "plugins")


def require_miniprogram(sb, call):
    """The account behind an authorizer token; 85015 for official accounts, 48001 without set 18."""
    account = sb.state.accounts[call.appid]
    if not account.is_miniprogram:
        raise ApiError(85015)
    auth = sb.state.authorization(call.component_appid, call.appid)
    if 18 not in auth.func_info:
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
    if template.template_type == 1 and set(ext) - STANDARD_TEMPLATE_KEYS:
        raise ApiError(85013, "invalid ext config: standard templates accept only extAppid, ext and window")
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
                   "privacy_keys": list(template.privacy_keys), "location_apis": list(template.location_apis),
                   "required_private_infos": list(ext.get("requiredPrivateInfos", [])),
                   "commit_id": sb.state.next_id("commit")}
    sb.state.dirty = True
    return account.dev


def require_dev(account, errcode: int = 85086) -> dict:
    if not account.dev:
        raise ApiError(errcode)
    return account.dev


def undeclared_privacy_keys(account) -> list[str]:
    setting = (account.privacy or {}).get("dev") or {}
    declared = {item.get("privacy_key") for item in setting.get("setting_list", [])}
    return [key for key in account.dev.get("privacy_keys", []) if key not in declared]


def missing_location_declarations(account) -> list[str]:
    dev = account.dev
    return [api for api in dev.get("location_apis", []) if api not in dev.get("required_private_infos", [])]


def code_privacy_info(sb, account) -> dict:
    """security/get_code_privacy_info: 61039 while the post-commit scan runs."""
    dev = require_dev(account, 86001)
    if sb.now() < dev["scan_done_at"]:
        raise ApiError(61039)
    return {"without_auth_list": missing_location_declarations(account),
            "without_conf_list": undeclared_privacy_keys(account)}
