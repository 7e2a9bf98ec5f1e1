"""The privacy guideline (用户隐私保护指引) a mini-program needs before an audit, from the tenant's settings.

Order matters (2023 privacy rules): after a commit WeChat scans the code (get_code_privacy_info answers
61039 until done); getprivacysetting then lists the keys the code uses (`privacy_list`); each needs a text
in `setting_list` (setprivacysetting), or WeChat's reviewers reject the version ("如配置的用户隐私保护指引和
代码实际里收集的用户信息不匹配 … 则无法通过代码版本审核"), so the portal refuses to submit without them. The
tenant keeps one guideline (owner contact, notice method, a text per key) that is applied to each of its
mini-programs, unless the mini-program has its own values (`services.code.app_params.effective_guideline`).

The scan itself is about location APIs (wx.getLocation …), by API name: `without_conf_list` those the code
calls that ext_json requiredPrivateInfos does not declare, `without_auth_list` those the mini-program has no
permission for. submit_audit answers 61040 for them; `privacy_api_not_use` declares the undeclared ones
unused, and does nothing for the guideline.
"""

from contextlib import contextmanager

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.errors import ValidationFailed, WeChatFailed
from portal.services import wechat_reads
from portal.services.wechat import api, done, wechat_errors
from portal.wechat.errors import LocationApiRefused, PrivacyScanRunning, WeChatError

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


class ScanRunning(Exception):  # noqa: N818 - a state to wait out, not an error
    """WeChat still scans the uploaded code for privacy features (get_code_privacy_info answers 61039):
    whoever submits looks again later (`scan_recheck_delay`) instead of submitting to find out."""


def scan_result(mp):
    """None while WeChat still scans the uploaded code (61039), else the scan's findings."""
    try:
        info = api(mp).code.get_code_privacy_info()
    except PrivacyScanRunning:
        return None
    return {"without_auth": list(info.without_auth_list), "without_conf": list(info.without_conf_list)}


def location_notes(scan):
    """What the scan's findings (`scan_result` shape) ask of the user, one sentence per list."""
    notes = []
    if scan.get("without_conf"):
        notes.append(_("The code calls location APIs that requiredPrivateInfos does not declare: %(apis)s. Declare "
                       "the ones it uses in the settings (requiredPrivateInfos, e.g. getLocation) and upload again; "
                       "if the code never calls them, declare them unused when submitting for audit.",
                       apis=", ".join(scan["without_conf"])))
    if scan.get("without_auth"):
        notes.append(_("This mini-program has no permission for: %(apis)s. Apply to WeChat for the ones the code "
                       "uses (apply_privacy_interface); one that requiredPrivateInfos declares is refused until then, "
                       "even when declared unused.", apis=", ".join(scan["without_auth"])))
    return notes


@contextmanager
def location_refusals_explained(mp):
    """Around submit_audit: its 61040 becomes a `WeChatFailed` naming the location APIs the scan found and
    what to do about each (in whichever language it is read); other errors pass unchanged."""
    try:
        yield
    except LocationApiRefused as exc:
        scan = _findings_if_readable(mp)
        if not location_notes(scan):
            raise
        raise WeChatFailed(LazyString(_refusal_text, exc.errcode, scan), errcode=exc.errcode) from exc


def _findings_if_readable(mp):
    try:
        return scan_result(mp) or {}
    except WeChatError:
        return {}  # WeChat's own 61040 text still says what is wrong


def _refusal_text(errcode, scan):
    return " ".join([_("WeChat refused the submission (error %(code)s).", code=errcode), *location_notes(scan)])


def incomplete_guideline(missing):
    """The refusal to submit while the guideline lacks a text for keys the code uses."""
    return ValidationFailed(_l("The code uses privacy features with no text in the privacy guideline: %(keys)s. "
                               "WeChat's reviewers reject such a version: add a text for each under Settings → "
                               "Privacy (or in the mini-program's parameters) first.", keys=", ".join(missing)))


def scan_recheck_delay(waited, longest):
    """Seconds until get_code_privacy_info is worth asking again, after `waited` seconds of scanning: 2 s at
    first, then a quarter of the time waited so far, never more than `longest`. WeChat's scan takes about
    a minute ("请稍等一分钟再重试"), so the submit follows its end within a few seconds, for a dozen calls."""
    return min(longest, max(min(FIRST_SCAN_CHECK, longest), waited / 4))


def privacy_status(mp, data):
    """What the privacy page shows for a guideline (`guideline()` shape): scan state, what the scan asks about
    location APIs, keys the code uses, declared, configured, missing; as of `as_of` (WeChat's answers are
    kept a short while: `wechat_reads`)."""
    def fetch():
        with wechat_errors():
            return {"scan": scan_result(mp), "setting": api(mp).privacy.get_privacy_setting()}

    answers, as_of = wechat_reads.read(mp, wechat_reads.PRIVACY, fetch)
    scan, current = answers["scan"], answers["setting"]
    used = [str(k) for k in current.get("privacy_list") or ()]
    declared = {str(s.get("privacy_key")) for s in current.get("setting_list") or ()}
    return {"scanning": scan is None, "location": location_notes(scan or {}), "used": used, "declared": sorted(declared),
            "missing": [k for k in used if k not in declared and k not in data["texts"]],
            "undeclared": [k for k in used if k not in declared], "guideline": data, "as_of": as_of}


def apply_guideline(mp, actor, data, log=True):
    """setprivacysetting with a guideline (`guideline()` shape) for every key the code uses; returns keys
    still missing.

    :raise ValidationFailed: the guideline lacks contact/notice method. :raise WeChatFailed.
    """
    check_guideline(data)
    wxa = api(mp).privacy
    try:
        with wechat_errors("privacy.apply" if log else None, mp, actor):
            current = wxa.get_privacy_setting()
            used = [str(k) for k in current.get("privacy_list") or ()]
            texts = {str(s.get("privacy_key")): s.get("privacy_text") for s in current.get("setting_list") or ()}
            texts.update({k: v for k, v in data["texts"].items() if v and (k in used or k in texts)})
            setting_list = [{"privacy_key": k, "privacy_text": v} for k, v in sorted(texts.items())]
            wxa.set_privacy_setting(data["owner_setting"], setting_list)
    finally:
        wechat_reads.forget(mp, wechat_reads.PRIVACY)
    missing = [k for k in used if k not in texts]
    if log:
        done("privacy.apply", mp, actor, _("missing: %(keys)s", keys=", ".join(missing)) if missing else None)
    return missing
