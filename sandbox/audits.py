"""Code audits that decide themselves, like WeChat's review team.

``submit`` creates an ``Audit`` (status 2, in review) that decides after a delay of sandbox time, by the
rule set for the mini-program (or for the whole sandbox, or for that one audit): approve (default),
reject (a Reason with ``<br>`` and Chinese text, plus ScreenShot media ids) or delay (status 4 and a
``weapp_audit_delay`` push, then later success or fail anyway). Every outcome changes the version state
and pushes ``weapp_audit_*`` to the platform's message URL with ``$APPID$`` replaced.

The reviewers also check the privacy guideline (用户隐私保护指引): an audit submitted while the dev guideline
had no text for a privacy key the code uses is rejected, whatever the rule says, with a reason naming the
keys ("每次代码审核环节会进行相关核验,如配置的用户隐私保护指引和代码实际里收集的用户信息不匹配以及未满足相应要求,
则无法通过代码版本审核", 配置小程序用户隐私保护指引). A decision forced through the control API stands.
"""

from __future__ import annotations

import secrets

from .commits import undeclared_privacy_keys
from .model import AUDIT_APPROVED, AUDIT_DELAYED, AUDIT_IN_REVIEW, AUDIT_REJECTED, Audit
from .registry import push_target

OUTCOMES = ("approve", "reject", "delay")
DEFAULT_REJECT_REASON = ("1:小程序存在未完成或测试页面，请确认后再提交审核。<br>"
                         "2:请在提审时补充测试账号和密码。<br>"
                         "(sandbox) The mini-program has unfinished pages.")
GUIDELINE_REASON = ("1:你的小程序《用户隐私保护指引》未完善,代码中使用了以下用户信息类型但未在指引中说明用途:{keys}。"
                    "请补充用户隐私保护指引后再提交审核。<br>"
                    "(sandbox) The privacy guideline has no text for: {keys}.")
DEFAULT_DELAY_REASON = "审核延后：该版本需要进一步审核，请耐心等待。(sandbox) Audit delayed."


class RuleError(ValueError):
    """A bad audit rule in the control API (HTTP 400)."""


def normalise_rule(rule: dict | None) -> dict:
    rule = dict(rule or {})
    outcome = rule.get("outcome", "approve")
    then = rule.get("then", "approve")
    if outcome not in OUTCOMES or then not in ("approve", "reject"):
        raise RuleError("outcome must be approve/reject/delay and then approve/reject")
    rule["outcome"], rule["then"] = outcome, then
    for key in ("delay", "then_delay"):
        if rule.get(key) is not None:
            rule[key] = float(rule[key])
    return rule


def rule_for(sb, account) -> dict:
    return normalise_rule(account.audit_rule or sb.state.default_audit_rule or {})


def create_audit(sb, account, component_appid: str, request_body: dict) -> Audit:
    """Caller holds the state lock and has already checked submit_audit's preconditions."""
    now = sb.now()
    rule = rule_for(sb, account)
    delay = rule.get("delay", sb.options.audit_delay)
    audit = Audit(auditid=sb.state.next_id("audit"), appid=account.appid, component_appid=component_appid,
                  code=dict(account.dev), submit_time=now, decide_at=now + delay, rule=rule,
                  request={k: request_body.get(k) for k in ("item_list", "version_desc", "feedback_info",
                                                            "privacy_api_not_use", "ugc_declare")},
                  privacy_gaps=undeclared_privacy_keys(account))
    sb.state.audits[audit.auditid] = audit
    account.audit_ids.append(audit.auditid)
    sb.state.dirty = True
    return audit


def due_audits(sb) -> list[int]:
    now = sb.now()
    with sb.state.lock:
        due = [a for a in sb.state.audits.values() if a.is_pending and a.decide_at <= now]
        return [a.auditid for a in sorted(due, key=lambda a: a.decide_at)]


def decide_due(sb, auditid: int, wait: bool = False) -> None:
    with sb.state.lock:
        audit = sb.state.audits.get(auditid)
        if audit is None or not audit.is_pending or audit.decide_at > sb.now():
            return
        outcome = audit.rule["then"] if audit.delay_pushed else audit.rule["outcome"]
        reason = None
        if audit.privacy_gaps and outcome != "delay":
            outcome, reason = "reject", GUIDELINE_REASON.format(keys="、".join(audit.privacy_gaps))
    apply_outcome(sb, auditid, outcome, reason=reason, wait=wait)


def apply_outcome(sb, auditid: int, outcome: str, reason: str | None = None,
                  screenshot: str | None = None, wait: bool = False) -> Audit:
    """Move an in-review audit to approved/rejected/delayed and push the matching event."""
    now, wall = sb.now(), sb.wall_time()
    with sb.state.lock:
        audit = sb.state.audits[auditid]
        if not audit.is_pending:
            raise RuleError(f"audit {auditid} is not in review")
        account = sb.state.accounts[audit.appid]
        component = sb.state.components.get(audit.component_appid)
        if outcome == "delay" and audit.status == AUDIT_IN_REVIEW:
            audit.status, audit.delay_pushed = AUDIT_DELAYED, True
            audit.reason = reason or audit.rule.get("delay_reason") or DEFAULT_DELAY_REASON
            audit.decide_at = now + audit.rule.get("then_delay", sb.options.audit_delay)
            event, extra = "weapp_audit_delay", {"Reason": audit.reason, "DelayTime": wall}
        elif outcome in ("reject",) or (outcome == "delay" and audit.rule["then"] == "reject"):
            audit.status, audit.finished_at = AUDIT_REJECTED, now
            audit.reason = reason or audit.rule.get("reason") or DEFAULT_REJECT_REASON
            audit.screenshot = screenshot or audit.rule.get("screenshot") or _media_ids()
            event, extra = "weapp_audit_fail", {"Reason": audit.reason, "FailTime": wall,
                                                "ScreenShot": audit.screenshot}
        else:
            audit.status, audit.finished_at, audit.reason = AUDIT_APPROVED, now, ""
            event, extra = "weapp_audit_success", {"SuccTime": wall}
        sb.state.dirty = True
        inner = {"ToUserName": account.user_name, "FromUserName": "o" + secrets.token_hex(12),
                 "CreateTime": wall, "MsgType": "event", "Event": event, **extra}
        target = push_target(component, "message", account.appid) if component else None
        to_user = account.user_name
    if target is not None:
        sb.pushes.send(target, event, "message", audit.appid, inner, now, wait=wait, to_user=to_user)
    return audit


def _media_ids() -> str:
    return "|".join("sandbox_media_" + secrets.token_hex(8) for _ in range(2))
