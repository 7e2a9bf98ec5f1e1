"""Setting up a mini-program: name, avatar, introduction, categories and location-API permissions.

The rules behind ``views/setup.py``, each from its doc page (see FIDELITY.md):

- ``set_nickname``: 「当名称没有命中关键词，则直接设置成功；当名称命中关键词，需提交证明材料，并需要审核」. A name
  with one of ``NAME_KEYWORDS`` needs ``license`` and opens a name audit (``audit_id``); the name is set only
  when the audit passes. 「不支持包含“小程序”关键字的昵称」 is refused.
- ``add_categories``: a category whose ``qualify`` lists documents (「如果需要资质的类目，则该字段必填」) is
  refused without ``certicates`` and, with them, waits for the category audit; the others are set at once.
- ``apply_interface``: 「url_list、pic_list、video_list三选一填写」; the application waits for its audit, and
  ``location_permissions`` gains the API when it passes.

Audits of names, categories and location APIs never decide themselves: the control API decides them
(``decide_*``), and each decision pushes ``wxa_nickname_audit``, ``wxa_category_audit`` or
``wxa_privacy_apply`` to the platform's message URL, as WeChat does.
"""

from __future__ import annotations

import secrets

from .commits import LOCATION_APIS
from .errors import ApiError
from .registry import push_target

NAME_KEYWORDS = ("官方", "中国", "旗舰")  # names that "hit a keyword" in the sandbox: proof and an audit
NAME_STATUS_PENDING, NAME_STATUS_REJECTED, NAME_STATUS_APPROVED = 1, 2, 3  # querynickname audit_stat
CATEGORY_PENDING, CATEGORY_REJECTED, CATEGORY_APPROVED = 1, 2, 3  # getcategory audit_status
# get_privacy_interface status: 1 待申请开通, 2 无权限, 3 申请中, 4 申请失败, 5 已开通
INTERFACE_NOT_APPLIED, INTERFACE_PENDING, INTERFACE_REJECTED, INTERFACE_OPEN = 1, 3, 4, 5
SIGNATURE_MIN, SIGNATURE_MAX = 4, 120  # "Length of signature 4-120" (setSignature, error 53204)
CONTENT_MAX, PICTURES_MAX, VIDEOS_MAX = 300, 10, 1
MAX_CATEGORIES = 5

# The category tree getallcategories serves: (id, name, father, qualification documents or ()).
CATEGORY_TREE = (
    (150, "生活服务", 0, ()), (627, "洗浴保洁", 150, ()),
    (220, "餐饮", 0, ()), (221, "餐饮服务场所/餐饮服务管理企业", 220, ()),
    (632, "外卖平台", 220, ("《食品经营许可证》",)),
    (287, "工具", 0, ()), (617, "信息查询", 287, ()), (618, "办公", 287, ()),
    (304, "商家自营", 0, ()), (325, "图书报刊/音像/影视/游戏/动漫", 304, ("《出版物经营许可证》",)),
    (785, "服装/鞋/箱包", 304, ()), (786, "鲜花/园艺/工艺品", 304, ()),
    (790, "食品", 304, ("《食品经营许可证》",)),
    (567, "体育", 0, ()), (568, "体育场馆服务", 567, ()),
)
API_LABELS = {
    "wx.getFuzzyLocation": "获取模糊地理位置", "wx.getLocation": "获取当前的地理位置、速度",
    "wx.onLocationChange": "监听实时地理位置变化事件", "wx.chooseAddress": "获取用户收货地址",
    "wx.choosePoi": "选择位置，支持模糊定位（精确到市）和精确定位混选", "wx.chooseLocation": "打开地图选择位置",
    "wx.startLocationUpdate": "开启小程序进入前台时接收位置消息",
    "wx.startLocationUpdateBackground": "开启小程序进入前后台时均接收位置消息",
}


def category_node(category_id: int):
    return next((node for node in CATEGORY_TREE if node[0] == category_id), None)


def all_categories() -> list[dict]:
    """getallcategories' ``categories``: a flat list, each with its ``father`` and ``children`` ids."""
    nodes = [{"id": 0, "name": "", "level": 0, "father": 0, "children": [n[0] for n in CATEGORY_TREE if n[2] == 0],
              "sensitive_type": 0, "qualify": {"exter_list": []}}]
    for cid, name, father, documents in CATEGORY_TREE:
        nodes.append({"id": cid, "name": name, "level": 1 if father == 0 else 2, "father": father,
                      "children": [n[0] for n in CATEGORY_TREE if n[2] == cid],
                      "sensitive_type": 1 if documents else 0,
                      "qualify": {"exter_list": [{"inner_list": [{"name": d, "url": ""} for d in documents]}]
                                  if documents else []}})
    return nodes


def category_status(entry: dict) -> int:
    """Categories given through the control API carry no audit state: they count as approved."""
    return int(entry.get("audit_status", CATEGORY_APPROVED))


def approved_categories(account) -> list[dict]:
    return [c for c in account.categories if category_status(c) == CATEGORY_APPROVED]


# --- name ----------------------------------------------------------------------------------------------

def set_nickname(sb, account, body: dict) -> dict:
    name = body.get("nick_name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(47001, "data format error: missing nick_name")
    name = name.strip()
    if "小程序" in name:
        raise ApiError(40097, "invalid args: a name may not contain “小程序”")
    if any(a.nick_name == name and a.appid != account.appid for a in sb.state.accounts.values()):
        raise ApiError(40097, "invalid args: the name is already used by another account")
    if pending_name_audit(account) is not None:
        raise ApiError(40097, "invalid args: a name audit is still running")
    if not any(k in name for k in NAME_KEYWORDS):
        account.nick_name = name
        sb.state.dirty = True
        return {"wording": "", "audit_id": 0}
    if not body.get("license"):
        raise ApiError(47001, "data format error: missing license (the name hits a keyword and needs proof)")
    _require_media(account, body["license"])
    audit = {"audit_id": sb.state.next_id("name_audit") + 530000000, "nickname": name,
             "audit_stat": NAME_STATUS_PENDING, "fail_reason": "", "create_time": int(sb.wall_time()),
             "audit_time": 0}
    account.nickname_audits.append(audit)
    sb.state.dirty = True
    return {"wording": "名称命中关键词，已提交证明材料，等待审核。", "audit_id": audit["audit_id"]}


def pending_name_audit(account) -> dict | None:
    return next((a for a in account.nickname_audits if a["audit_stat"] == NAME_STATUS_PENDING), None)


def query_nickname(account, audit_id) -> dict:
    audit = next((a for a in account.nickname_audits if str(a["audit_id"]) == str(audit_id)), None)
    if audit is None:
        raise ApiError(91011)
    return dict(audit)


# --- avatar, introduction, temporary media -----------------------------------------------------------------

def store_media(account, kind: str, size: int, wall_time: float) -> str:
    media_id = "sandbox_tmp_" + secrets.token_hex(16)
    account.media[media_id] = {"type": kind, "size": size, "created_at": int(wall_time)}
    return media_id


def _require_media(account, media_id) -> None:
    if not isinstance(media_id, str) or media_id not in account.media:
        raise ApiError(40007)


def modify_head_image(sb, account, body: dict) -> None:
    for name in ("head_img_media_id", "x1", "y1", "x2", "y2"):
        if body.get(name) is None:
            raise ApiError(47001, f"data format error: missing {name}")
    _require_media(account, body["head_img_media_id"])
    try:
        x1, y1, x2, y2 = (float(body[k]) for k in ("x1", "y1", "x2", "y2"))
    except (TypeError, ValueError):
        raise ApiError(53205) from None
    if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
        raise ApiError(53205)
    account.head_img = ""  # the sandbox serves a generated picture for it
    account.head_img_changes += 1
    sb.state.dirty = True


def modify_signature(sb, account, body: dict) -> None:
    signature = body.get("signature")
    if not isinstance(signature, str):
        raise ApiError(47001, "data format error: missing signature")
    if not SIGNATURE_MIN <= len(signature.strip()) <= SIGNATURE_MAX:
        raise ApiError(53204)
    account.signature = signature.strip()
    account.signature_changes += 1
    sb.state.dirty = True


def basic_info(account, avatar_url: str) -> dict:
    return {"appid": account.appid, "account_type": 3, "principal_type": 1,
            "principal_name": account.principal_name, "realname_status": 1,
            "wx_verify_info": {"qualification_verify": False, "naming_verify": False},
            "signature_info": {"signature": account.signature, "modify_used_count": account.signature_changes,
                               "modify_quota": 5},
            "head_image_info": {"head_image_url": "" if account.head_img is None else account.head_img or avatar_url,
                                "modify_used_count": account.head_img_changes, "modify_quota": 5},
            "nickname": account.nick_name,
            "nickname_info": {"nickname": account.nick_name, "modify_used_count": len(account.nickname_audits),
                              "modify_quota": 2},
            "registered_country": 1, "credential": "", "customer_type": 0}


# --- categories ------------------------------------------------------------------------------------------

def add_categories(sb, account, body: dict) -> None:
    """All or nothing: every entry is checked before any is added."""
    items = body.get("categories")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ApiError(47001, "data format error: categories must be a list of {first, second, certicates}")
    added = []
    for item in items:
        first, second = item.get("first"), item.get("second")
        node = category_node(second) if isinstance(second, int) else None
        if node is None or node[2] != first or first == 0:
            raise ApiError(53303, f"invalid category {first}/{second}")
        if any(c.get("second_id") == second for c in account.categories) or any(a["second_id"] == second for a in added):
            raise ApiError(53304)
        certicates = item.get("certicates") or []
        documents = node[3]
        if documents:
            given = {c.get("key"): c.get("value") for c in certicates if isinstance(c, dict)}
            if any(not given.get(d) for d in documents):
                raise ApiError(53305, f"the category needs {'、'.join(documents)}")
            for value in given.values():
                _require_media(account, value)
        added.append({"first_id": first, "first_class": category_node(first)[1], "second_id": second,
                      "second_class": node[1], "audit_status": CATEGORY_PENDING if documents else CATEGORY_APPROVED,
                      "audit_reason": "", "certicates": [dict(c) for c in certicates]})
    if len(account.categories) + len(added) > MAX_CATEGORIES:
        raise ApiError(53301)
    account.categories.extend(added)
    sb.state.dirty = True


def delete_category(sb, account, body: dict) -> None:
    first, second = body.get("first"), body.get("second")
    entry = next((c for c in account.categories if c.get("first_id") == first and c.get("second_id") == second), None)
    if entry is None:
        raise ApiError(53303, f"no category {first}/{second} on this account")
    account.categories.remove(entry)
    sb.state.dirty = True


def categories_view(account) -> dict:
    return {"categories": [{"first": c.get("first_id", 0), "first_name": c.get("first_class", ""),
                            "second": c.get("second_id", 0), "second_name": c.get("second_class", ""),
                            "audit_status": category_status(c), "audit_reason": c.get("audit_reason", "")}
                           for c in account.categories],
            "limit": MAX_CATEGORIES, "quota": MAX_CATEGORIES - len(account.categories),
            "category_limit": MAX_CATEGORIES}


# --- location APIs ----------------------------------------------------------------------------------------

def interface_list(account) -> list[dict]:
    granted = set(account.location_permissions)
    rows = []
    for api in LOCATION_APIS:
        state = account.privacy_interfaces.get(api)
        row = {"api_name": api, "api_ch_name": API_LABELS.get(api, api), "api_desc": f"接口：{api}",
               "api_link": f"https://developers.weixin.qq.com/miniprogram/dev/api/location/{api}.html",
               "group_name": "地理位置",
               "status": INTERFACE_OPEN if api in granted else INTERFACE_NOT_APPLIED}
        if state is not None and api not in granted:
            row.update(status=state["status"], apply_time=state["apply_time"], audit_id=state["audit_id"])
            if state["status"] == INTERFACE_REJECTED:
                row["fail_reason"] = state["fail_reason"]
        rows.append(row)
    return rows


def apply_interface(sb, account, body: dict) -> int:
    api, content = body.get("api_name"), body.get("content")
    if not isinstance(api, str) or not api or not isinstance(content, str) or not content.strip():
        raise ApiError(61034)
    if api not in LOCATION_APIS:
        raise ApiError(61035)
    lists = {k: body.get(k) or [] for k in ("url_list", "pic_list", "video_list")}
    if any(not isinstance(v, list) or not all(isinstance(x, str) and x for x in v) for v in lists.values()):
        raise ApiError(61034)
    if not any(lists.values()) or len(content) > CONTENT_MAX or len(lists["pic_list"]) > PICTURES_MAX \
            or len(lists["video_list"]) > VIDEOS_MAX:
        raise ApiError(61034)
    if any(not v.lower().split("?", 1)[0].endswith(".mp4") for v in lists["video_list"]):
        raise ApiError(61032)
    state = account.privacy_interfaces.get(api)
    if state is not None and state["status"] == INTERFACE_PENDING:
        raise ApiError(61031)
    audit_id = sb.state.next_id("interface_audit") + 420000000
    account.privacy_interfaces[api] = {"status": INTERFACE_PENDING, "audit_id": audit_id,
                                       "apply_time": int(sb.wall_time()), "fail_reason": "", "content": content,
                                       **lists}
    sb.state.dirty = True
    return audit_id


# --- decisions (control API) and their pushes --------------------------------------------------------------

class DecisionError(ValueError):
    """Nothing to decide (HTTP 400 from the control API)."""


def _push(sb, account, event: str, extra: dict):
    component_appid = next((a.component_appid for a in sb.state.authorizations.values()
                            if a.authorizer_appid == account.appid and a.is_authorized), None)
    component = sb.state.components.get(component_appid or "")
    if component is None:
        return None
    inner = {"ToUserName": account.user_name, "FromUserName": "o" + secrets.token_hex(12),
             "CreateTime": sb.wall_time(), "MsgType": "event", "Event": event, **extra}
    target = push_target(component, "message", account.appid)
    return target, inner


def decide_nickname(sb, account, approve: bool, reason: str, wait: bool = False):
    with sb.state.lock:
        audit = pending_name_audit(account)
        if audit is None:
            raise DecisionError(f"no name audit in review for {account.appid}")
        audit.update(audit_stat=NAME_STATUS_APPROVED if approve else NAME_STATUS_REJECTED,
                     fail_reason="" if approve else reason, audit_time=int(sb.wall_time()))
        if approve:
            account.nick_name = audit["nickname"]
        sb.state.dirty = True
        sending = _push(sb, account, "wxa_nickname_audit",
                        {"ret": audit["audit_stat"], "nickname": audit["nickname"],
                         "reason": audit["fail_reason"]})
    return _send(sb, account, "wxa_nickname_audit", sending, wait), audit


def decide_category(sb, account, second: int | None, approve: bool, reason: str, wait: bool = False):
    with sb.state.lock:
        entry = next((c for c in account.categories if category_status(c) == CATEGORY_PENDING
                      and (second is None or c.get("second_id") == second)), None)
        if entry is None:
            raise DecisionError(f"no category in review for {account.appid}")
        entry.update(audit_status=CATEGORY_APPROVED if approve else CATEGORY_REJECTED,
                     audit_reason="" if approve else reason)
        sb.state.dirty = True
        sending = _push(sb, account, "wxa_category_audit",
                        {"ret": entry["audit_status"], "first": str(entry["first_id"]),
                         "second": str(entry["second_id"]), "reason": entry["audit_reason"]})
    return _send(sb, account, "wxa_category_audit", sending, wait), entry


def decide_interface(sb, account, api: str | None, approve: bool, reason: str, wait: bool = False):
    with sb.state.lock:
        name, state = next(((k, v) for k, v in account.privacy_interfaces.items()
                            if v["status"] == INTERFACE_PENDING and (api is None or k == api)), (None, None))
        if state is None:
            raise DecisionError(f"no location-API application in review for {account.appid}")
        now = int(sb.wall_time())
        state.update(status=INTERFACE_OPEN if approve else INTERFACE_REJECTED, fail_reason="" if approve else reason,
                     audit_time=now)
        if approve and name not in account.location_permissions:
            account.location_permissions.append(name)
        sb.state.dirty = True
        # result_info.status: 2 审核不通过, 3 审核通过
        sending = _push(sb, account, "wxa_privacy_apply",
                        {"result_info": {"api_name": name, "apply_time": str(state["apply_time"]),
                                         "audit_id": str(state["audit_id"]), "audit_time": str(now),
                                         "reason": state["fail_reason"], "status": "3" if approve else "2"}})
    return _send(sb, account, "wxa_privacy_apply", sending, wait), dict(state, api_name=name)


def _send(sb, account, event, sending, wait):
    if sending is None:
        return None
    target, inner = sending
    return sb.pushes.send(target, event, "message", account.appid, inner, sb.now(), wait=wait,
                          to_user=account.user_name)
