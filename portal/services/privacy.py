"""The privacy guideline (用户隐私保护指引) a mini-program needs before an audit, from the tenant's settings.

Order matters (2023 privacy rules): after a commit WeChat scans the code (get_code_privacy_info answers
61039 until done); getprivacysetting then lists the keys the code uses (`privacy_list`); each needs a text
in `setting_list` (setprivacysetting) or submit_audit fails with 61040. The tenant keeps one guideline
(owner contact, notice method, a text per key) that is applied to each of its mini-programs, unless the
mini-program has its own values (`services.app_params.effective_guideline` gives what is sent).
"""

from flask_babel import gettext as _

from portal.errors import ValidationFailed
from portal.services.miniprograms import api, done, wechat_errors
from portal.wechat.errors import ReviewError

SCAN_PENDING = 61039
CONTACTS = ("contact_email", "contact_phone", "contact_qq", "contact_weixin")
FIRST_SCAN_CHECK = 2.0  # seconds before asking again whether the scan has ended, at first


def guideline(settings):
    """{"owner_setting": {...}, "texts": {key: text}} from the tenant's settings."""
    data = settings.load("privacy", {})
    return {"owner_setting": dict(data.get("owner_setting") or {}), "texts": dict(data.get("texts") or {})}


def check_guideline(data):
    owner = data["owner_setting"]
    if not any(owner.get(c) for c in CONTACTS) or not owner.get("notice_method"):
        raise ValidationFailed(_("The privacy guideline needs a contact (e-mail, phone, QQ or WeChat) and how users "
                                 "are notified. Fill them in under Settings → Privacy."))


def scan_result(mp):
    """None while WeChat still scans the uploaded code (61039), else the scan's findings."""
    try:
        info = api(mp).code.get_code_privacy_info()
    except ReviewError as exc:
        if exc.errcode == SCAN_PENDING:
            return None
        raise
    return {"without_auth": list(info.without_auth_list), "without_conf": list(info.without_conf_list)}


def scan_recheck_delay(waited, longest):
    """Seconds until get_code_privacy_info is worth asking again, after `waited` seconds of scanning: 2 s at
    first, then a quarter of the time waited so far, never more than `longest`. WeChat's scan takes about
    a minute ("请稍等一分钟再重试"), so the submit follows its end within a few seconds, for a dozen calls."""
    return min(longest, max(min(FIRST_SCAN_CHECK, longest), waited / 4))


def scan_started_at(mp):
    """When this app's latest upload through the portal was recorded (its scan began then), or None."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import CodeCommit

    return db.session.scalar(select(CodeCommit.created_at).where(CodeCommit.miniprogram_id == mp.id)
                             .order_by(CodeCommit.id.desc()).limit(1))


def privacy_status(mp, data):
    """What the privacy page shows for a guideline (`guideline()` shape): scan state, keys the code uses,
    declared, configured, missing."""
    with wechat_errors():
        scan = scan_result(mp)
        current = api(mp).privacy.get_privacy_setting()
    used = [str(k) for k in current.get("privacy_list") or ()]
    declared = {str(s.get("privacy_key")) for s in current.get("setting_list") or ()}
    return {"scanning": scan is None, "scan": scan or {}, "used": used, "declared": sorted(declared),
            "missing": [k for k in used if k not in declared and k not in data["texts"]],
            "undeclared": [k for k in used if k not in declared], "guideline": data}


def apply_guideline(mp, actor, data, log=True):
    """setprivacysetting with a guideline (`guideline()` shape) for every key the code uses; returns keys
    still missing.

    :raise ValidationFailed: the guideline lacks contact/notice method. :raise WeChatFailed.
    """
    check_guideline(data)
    wxa = api(mp).privacy
    with wechat_errors("privacy.apply" if log else None, mp, actor):
        current = wxa.get_privacy_setting()
        used = [str(k) for k in current.get("privacy_list") or ()]
        texts = {str(s.get("privacy_key")): s.get("privacy_text") for s in current.get("setting_list") or ()}
        texts.update({k: v for k, v in data["texts"].items() if v and (k in used or k in texts)})
        setting_list = [{"privacy_key": k, "privacy_text": v} for k, v in sorted(texts.items())]
        wxa.set_privacy_setting(data["owner_setting"], setting_list)
    missing = [k for k in used if k not in texts]
    if log:
        done("privacy.apply", mp, actor, _("missing: %(keys)s", keys=", ".join(missing)) if missing else None)
    return missing
