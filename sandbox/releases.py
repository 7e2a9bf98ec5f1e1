"""Submitting for audit and releasing: the version state machine dev → audit → approved → released.

``submit_audit`` first checks its fields (85023 more than 5 ``item_list`` entries, 40097 a ``feedback_info``
over 200 characters), then in WeChat's order: 85086 nothing committed, 85009 already in review, 86002
name/avatar/intro not set, 61039 privacy scan unfinished, 61040 location APIs (see
``commits.location_refusal``: one declared in requiredPrivateInfos without permission; one the code calls
that requiredPrivateInfos lacks, unless ``privacy_api_not_use``), 85085 platform's monthly quota spent. A
privacy guideline lacking a key the code uses is not refused here: the reviewers reject that audit (see
``audits``). ``release`` answers 85019 with no approved version, 85020 when a newer
commit or audit came after the approval, 85052 when it was already released. Also rollback, gray release
and visit status.
"""

from __future__ import annotations

from . import audits, commits, setup
from .clock import beijing_day, beijing_month
from .errors import ApiError
from .model import AUDIT_APPROVED, AUDIT_WITHDRAWN

UNDO_PER_DAY, UNDO_PER_MONTH = 5, 10
MAX_ITEMS, MAX_FEEDBACK_INFO = 5, 200
HISTORY_KEPT = 5  # "最多保存最近发布或回退的5个版本"


def _roll_quota_month(sb, component) -> None:
    """queryquota counts "当月" (this month's) submissions and speed-ups: a Beijing calendar month."""
    month = beijing_month(sb.now())
    if component.quota_month != month:
        component.quota_month, component.submit_used, component.speedup_used = month, 0, 0


def quota(sb, component) -> dict:
    _roll_quota_month(sb, component)
    return {"rest": max(0, component.submit_quota - component.submit_used), "limit": component.submit_quota,
            "speedup_rest": max(0, component.speedup_quota - component.speedup_used),
            "speedup_limit": component.speedup_quota}


def missing_profile(account) -> list[str]:
    """What 86002 complains about: 小程序还未设置昵称、头像、简介 (a head_img of None means no avatar set)."""
    missing = [name for name in ("nick_name", "signature") if not getattr(account, name)]
    return missing + (["head_img"] if account.head_img is None else [])


def submit_audit(sb, account, component_appid: str, body: dict) -> int:
    items, feedback = body.get("item_list"), body.get("feedback_info")
    if isinstance(items, list) and len(items) > MAX_ITEMS:
        raise ApiError(85023)  # "审核项列表（选填，至多填写 5 项）"
    if isinstance(feedback, str) and len(feedback) > MAX_FEEDBACK_INFO:
        raise ApiError(40097, "invalid args: feedback_info is longer than 200 characters")  # "反馈内容，至多 200 字"
    dev = commits.require_dev(account)
    latest = sb.state.latest_audit(account)
    if latest is not None and latest.is_pending:
        raise ApiError(85009)
    if missing_profile(account):
        raise ApiError(86002)
    if not setup.approved_categories(account):
        raise ApiError(85008)
    if sb.now() < dev["scan_done_at"]:
        raise ApiError(61039)
    refusal = commits.location_refusal(account, body.get("privacy_api_not_use") is True)
    if refusal:
        raise ApiError(61040, refusal)
    component = sb.state.components[component_appid]
    _roll_quota_month(sb, component)
    if component.submit_used >= component.submit_quota:
        raise ApiError(85085)
    component.submit_used += 1
    return audits.create_audit(sb, account, component_appid, body).auditid


def undo_audit(sb, account) -> None:
    audit = sb.state.latest_audit(account)
    if audit is None or not audit.is_pending:
        return  # WeChat historically answered 0 when nothing was under audit
    # "单个账号每天审核撤回次数最多不超过 5 次（每天的额度从0点开始生效），一个月不超过 10 次": calendar day and
    # month in Beijing time, on the sandbox clock.
    now = sb.now()
    this_month = [t for t in account.undo_log if beijing_month(t) == beijing_month(now)]
    today = [t for t in this_month if beijing_day(t) == beijing_day(now)]
    if len(today) >= UNDO_PER_DAY or len(this_month) >= UNDO_PER_MONTH:
        raise ApiError(87013)
    account.undo_log = this_month + [now]
    audit.status, audit.finished_at = AUDIT_WITHDRAWN, now
    sb.state.dirty = True


def speedup(sb, account, component_appid: str, auditid) -> None:
    """speedupaudit's errcodes: 89402 not in the review queue, 89404 already expedited, 89405 quota spent."""
    audit = sb.state.audits.get(auditid) if isinstance(auditid, int) else None
    if audit is None or audit.appid != account.appid or not audit.is_pending:
        raise ApiError(89402)
    if audit.sped_up:
        raise ApiError(89404)
    component = sb.state.components[component_appid]
    _roll_quota_month(sb, component)
    if component.speedup_used >= component.speedup_quota:
        raise ApiError(89405)
    component.speedup_used += 1
    audit.sped_up = True
    now = sb.now()
    audit.decide_at = now + max(0.0, (audit.decide_at - now) / 2)


def approved_audit(sb, account):
    """The newest approved audit, or None."""
    for audit in reversed(sb.state.audits_of(account)):
        if audit.status == AUDIT_APPROVED:
            return audit
    return None


def _releasable(sb, account):
    audit = approved_audit(sb, account)
    if audit is None:
        raise ApiError(85019)
    if audit.released:
        raise ApiError(85052)
    latest = sb.state.latest_audit(account)
    newer_commit = account.dev and account.dev["commit_id"] != audit.code.get("commit_id")
    if latest is not audit or newer_commit:
        raise ApiError(85020)
    return audit


def release(sb, account) -> None:
    audit = _releasable(sb, account)
    _publish(sb, account, audit)
    if account.gray_plan and account.gray_plan["status"] in (1, 2):
        account.gray_plan["status"] = 3


def _publish(sb, account, audit) -> None:
    audit.released = True
    if account.release:
        account.release_history.append(account.release)
        del account.release_history[:-(HISTORY_KEPT - 1)]  # with the new live version, 5 are kept
    account.release = {**audit.code, "auditid": audit.auditid, "release_time": sb.now(),
                       "app_version": account.next_app_version}
    account.next_app_version += 1
    privacy = account.privacy or {}
    if privacy.get("dev"):
        privacy["live"] = dict(privacy["dev"])
    sb.state.dirty = True


def gray_release(sb, account, body: dict) -> None:
    # doc: "灰度的百分比 0 ~ 100 的整数。如果gray_percentage=0，support_experiencer_first与support_debuger_first二选一必填"
    percentage = body.get("gray_percentage")
    members_first = body.get("support_experiencer_first") or body.get("support_debuger_first")
    if type(percentage) is not int or not 0 <= percentage <= 100 or (percentage == 0 and not members_first):
        raise ApiError(85081)
    audit = _releasable(sb, account)
    account.gray_plan = {"status": 1, "create_timestamp": int(sb.now()), "gray_percentage": percentage,
                         "support_debuger_first": bool(body.get("support_debuger_first")),
                         "support_experiencer_first": bool(body.get("support_experiencer_first")),
                         "auditid": audit.auditid}
    sb.state.dirty = True


def revert_gray_release(sb, account) -> None:
    if not account.gray_plan or account.gray_plan["status"] not in (1, 2):
        raise ApiError(85020)
    account.gray_plan["status"] = 4
    sb.state.dirty = True


def revert_release(sb, account, app_version=None) -> None:
    """revertcoderelease: back to the previous (or the given) released version; 87012 when impossible
    (no earlier release, or the live version is itself the result of a rollback)."""
    if account.gray_plan and account.gray_plan["status"] == 1:
        raise ApiError(87011)
    history = account.release_history
    if not account.release or not history or account.release.get("is_reverted"):
        raise ApiError(87012)
    index = len(history) - 1
    if app_version not in (None, ""):
        indexes = [i for i, v in enumerate(history) if str(v["app_version"]) == str(app_version)]
        if not indexes:
            raise ApiError(87012)
        index = indexes[-1]
    target = history[index]
    del history[index:]
    account.release = {**target, "release_time": sb.now(), "is_reverted": True}
    sb.state.dirty = True


def history_versions(account) -> list[dict]:
    """The live version and the earlier ones kept (5 in all), newest first; none after a rollback
    ("当前版本回退后，不能再调用版本回退接口，也不会再查到版本信息")."""
    if account.release and account.release.get("is_reverted"):
        return []
    versions = account.release_history + ([account.release] if account.release else [])
    return [{"app_version": v["app_version"], "user_version": v["user_version"], "user_desc": v["user_desc"],
             "commit_time": int(v["commit_time"])} for v in reversed(versions)]


def version_info(account) -> dict:
    info = {}
    if account.dev:
        info["exp_info"] = {"exp_time": int(account.dev["commit_time"]), "exp_version": account.dev["user_version"],
                            "exp_desc": account.dev["user_desc"]}
    if account.release:
        info["release_info"] = {"release_time": int(account.release["release_time"]),
                                "release_version": account.release["user_version"],
                                "release_desc": account.release["user_desc"]}
    return info

