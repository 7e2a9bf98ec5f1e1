"""Setting up a mini-program so that its first audit can pass: name, avatar, introduction, categories and
location-API permissions, the checklist that shows what is still missing, and the check that stops a
submission WeChat would refuse with 86002 (name, avatar, introduction) or 85008 (no approved category).

Input is checked here first, in words (a name with “小程序”, an image that is not a PNG/JPEG/GIF/BMP of at
most 2 MB, an introduction outside 4-120 characters, a category without the documents it needs, a
location-API application without a reason or supporting material), so WeChat is asked only what it can
accept and nothing is half-done: files are uploaded to WeChat only once everything else is in order.
WeChat stays the authority; `wxminiprogram_setup` keeps the name audit's id and the last checklist read.
The pushes wxa_nickname_audit, wxa_category_audit and wxa_privacy_apply are applied by
`apply_setup_events`, in the push store's transaction. Imports services and models; never views or jobs.
"""

import json

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select, update

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.models import Activity, MiniProgram, MiniProgramSetup
from portal.models.activity import OUTCOME_OK
from portal.models.callback import OUTCOME_APPLIED
from portal.services.code import domains
from portal.services.tenant_settings import get_settings
from portal.services.wechat import api, done, wechat_errors
from portal.timeutil import utcnow
from portal.wechat import callbacks as events
from portal.wechat.miniprogram.setup import CATEGORY_APPROVED, INTERFACE_OPEN, NAME_APPROVED, NAME_PENDING

NAME_MAX, SIGNATURE_MIN, SIGNATURE_MAX = 30, 4, 120
# modifyheadimage: 「图片格式只支持：BMP、JPEG、JPG、GIF、PNG，大小不超过 2M」
AVATAR_MAX_BYTES = 2 * 1024 * 1024
IMAGE_SIGNATURES = (("png", b"\x89PNG\r\n\x1a\n", "image/png"), ("jpeg", b"\xff\xd8\xff", "image/jpeg"),
                    ("gif", b"GIF8", "image/gif"), ("bmp", b"BM", "image/bmp"))
CONTENT_MAX, PICTURES_MAX = 300, 10  # apply_privacy_interface: 「不超过300个字符」, 「最多10个」
CHECKLIST = (
    ("name", _l("Name"), "releases.setup_page"), ("avatar", _l("Avatar"), "releases.setup_page"),
    ("introduction", _l("Introduction"), "releases.setup_page"),
    ("category", _l("Category"), "releases.setup_categories"),
    ("guideline", _l("Privacy guideline"), "releases.privacy_page"),
    ("domains", _l("Server domains"), "releases.domains_page"),
    ("interfaces", _l("Location APIs"), "releases.setup_interfaces"),
)


class SetupIncomplete(ValidationFailed):
    """The mini-program lacks what WeChat's review needs (86002 name/avatar/introduction, 85008 category)."""


def _row(mp):
    row = db.session.scalar(select(MiniProgramSetup).where(MiniProgramSetup.miniprogram_id == mp.id))
    if row is None:
        row = MiniProgramSetup(miniprogram_id=mp.id)
        db.session.add(row)
    return row


# --- basic information -------------------------------------------------------------------------------------

def basic_info(mp):
    """Name, avatar and introduction as WeChat has them (getaccountbasicinfo), with the name audit we started."""
    with wechat_errors():
        info = api(mp).setup.basic_info()
        row = _refresh_name_audit(mp)
    name, avatar = info.get("nickname") or "", (info.get("head_image_info") or {}).get("head_image_url") or ""
    if (name and name[:64] != mp.nick_name) or (avatar and avatar[:512] != mp.head_img):
        mp.nick_name, mp.head_img = name[:64] or mp.nick_name, avatar[:512] or mp.head_img  # the pages' header
        db.session.commit()
    return {"name": name, "avatar": avatar, "introduction": (info.get("signature_info") or {}).get("signature") or "",
            "name_quota": info.get("nickname_info") or {}, "name_audit": row}


def _refresh_name_audit(mp):
    """While a name audit is open, ask WeChat (api_wxa_querynickname): its push may have been lost."""
    row = db.session.scalar(select(MiniProgramSetup).where(MiniProgramSetup.miniprogram_id == mp.id))
    if row is not None and row.nickname_status == NAME_PENDING and row.nickname_audit_id:
        answer = api(mp).setup.query_nickname(row.nickname_audit_id)
        row.nickname_status, row.nickname_reason = int(answer.get("audit_stat") or NAME_PENDING), \
            answer.get("fail_reason") or None
        if row.nickname_status == NAME_APPROVED:
            mp.nick_name = (answer.get("nickname") or row.nickname_requested or "")[:64] or mp.nick_name
        db.session.commit()
    return row


def set_name(mp, actor, name, proof=None):
    """setnickname; a name that needs review (a keyword) goes with `proof`, the (filename, bytes) of the
    business licence. :raise ValidationFailed: a name WeChat refuses. :raise WeChatFailed."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(_("A name has 1 to %(n)d characters.", n=NAME_MAX))
    if "小程序" in name:
        raise ValidationFailed(_("WeChat does not accept a name containing “小程序”."))
    image = _checked_image(proof, _("business licence")) if proof else None
    wxa = api(mp).setup
    with wechat_errors("setup.name", mp, actor):
        license_id = wxa.upload_image(*image) if image else None
        answer = wxa.set_nickname(name, license_media_id=license_id)
    audit_id = answer.get("audit_id") or 0
    row = _row(mp)
    row.nickname_requested, row.checked_at = name, None
    if audit_id:
        row.nickname_audit_id, row.nickname_status, row.nickname_reason = str(audit_id), NAME_PENDING, None
    else:
        row.nickname_status, row.nickname_reason = NAME_APPROVED, None
        mp.nick_name = name[:64]
    done("setup.name", mp, actor, name)
    return bool(audit_id)


def _checked_image(upload, what, limit=AVATAR_MAX_BYTES):
    """(filename, bytes, content type) of an uploaded picture: PNG, JPEG, GIF or BMP by its bytes, at most
    `limit`. :raise ValidationFailed: in words."""
    filename, content = upload
    kind = next((k for k, magic, _t in IMAGE_SIGNATURES if content.startswith(magic)), None)
    if not content:
        raise ValidationFailed(_("Choose the picture of the %(what)s.", what=what))
    if kind is None:
        raise ValidationFailed(_("The %(what)s must be a PNG, JPEG, GIF or BMP picture.", what=what))
    if len(content) > limit:
        raise ValidationFailed(_("The %(what)s is larger than %(mb)d MB.", what=what, mb=limit // (1024 * 1024)))
    content_type = next(t for k, _m, t in IMAGE_SIGNATURES if k == kind)
    return f"{kind}.{'jpg' if kind == 'jpeg' else kind}", content, content_type


def set_avatar(mp, actor, upload):
    """Upload the picture (cgi-bin/media/upload) and make it the avatar (modifyheadimage), uncropped."""
    image = _checked_image(upload, _("avatar"))
    wxa = api(mp).setup
    with wechat_errors("setup.avatar", mp, actor):
        wxa.modify_head_image(wxa.upload_image(*image))
    _row(mp).checked_at = None
    done("setup.avatar", mp, actor)


def set_introduction(mp, actor, text):
    """modifysignature. :raise ValidationFailed: not 4-120 characters."""
    text = (text or "").strip()
    if not SIGNATURE_MIN <= len(text) <= SIGNATURE_MAX:
        raise ValidationFailed(_("The introduction must be %(lo)d to %(hi)d characters long.",
                                 lo=SIGNATURE_MIN, hi=SIGNATURE_MAX))
    with wechat_errors("setup.introduction", mp, actor):
        api(mp).setup.modify_signature(text)
    _row(mp).checked_at = None
    done("setup.introduction", mp, actor)


# --- categories ------------------------------------------------------------------------------------------

def category_tree(mp):
    """getallcategories as [{id, name, children: [{id, name, documents}]}]: first levels with their seconds."""
    with wechat_errors():
        nodes = api(mp).setup.all_categories()
    by_id = {n.get("id"): n for n in nodes}
    tree = []
    for node in nodes:
        if node.get("level") != 1:
            continue
        children = [by_id[c] for c in node.get("children") or () if c in by_id]
        tree.append({"id": node["id"], "name": node.get("name", ""),
                     "children": [{"id": c["id"], "name": c.get("name", ""), "documents": _documents(c)}
                                  for c in children]})
    return tree


def _documents(node):
    """The qualification documents a category asks for (qualify.exter_list[].inner_list[].name)."""
    return [inner.get("name", "") for group in (node.get("qualify") or {}).get("exter_list") or ()
            for inner in group.get("inner_list") or () if inner.get("name")]


def categories(mp):
    """The app's categories with their audit state (getcategory)."""
    with wechat_errors():
        return api(mp).setup.categories().get("categories") or []


def add_category(mp, actor, second_id, files):
    """addcategory with the documents the category needs: `files`, (filename, bytes) each, in the order
    getallcategories lists the documents. Every document is checked before anything is uploaded.
    :raise ValidationFailed: an unknown category, a missing or bad document."""
    tree = category_tree(mp)
    first, node = next(((f, c) for f in tree for c in f["children"] if c["id"] == second_id), (None, None))
    if node is None:
        raise ValidationFailed(_("Pick a category from the list."))
    uploads = dict(zip(node["documents"], [f for f in files if f[1]], strict=False))
    missing = [d for d in node["documents"] if d not in uploads]
    if missing:
        raise ValidationFailed(_("The category “%(name)s” needs: %(docs)s. Upload a picture of each.",
                                 name=node["name"], docs="、".join(missing)))
    images = {d: _checked_image(uploads[d], d) for d in node["documents"]}
    wxa = api(mp).setup
    with wechat_errors("setup.category", mp, actor):
        media = {d: wxa.upload_image(*image) for d, image in images.items()}
        wxa.add_category(first["id"], second_id, media)
    _row(mp).checked_at = None
    done("setup.category", mp, actor, f"{first['name']} / {node['name']}")
    return bool(node["documents"])


def delete_category(mp, actor, first_id, second_id):
    with wechat_errors("setup.category_removed", mp, actor):
        api(mp).setup.delete_category(first_id, second_id)
    _row(mp).checked_at = None
    done("setup.category_removed", mp, actor, f"{first_id}/{second_id}")


# --- location APIs -----------------------------------------------------------------------------------------

def interfaces(mp):
    """get_privacy_interface: every location API with its status."""
    with wechat_errors():
        return api(mp).setup.privacy_interfaces()


def apply_interface(mp, actor, api_name, content, urls=(), pictures=(), video=None):
    """apply_privacy_interface. :raise ValidationFailed: no reason, too long, no supporting material."""
    content = (content or "").strip()
    if not content or len(content) > CONTENT_MAX:
        raise ValidationFailed(_("Say why the mini-program needs this API, in at most %(n)d characters.",
                                 n=CONTENT_MAX))
    if not (urls or pictures or video):
        raise ValidationFailed(_("WeChat needs a web page, a picture or a video that shows where the mini-program "
                                 "uses this API."))
    if len(pictures) > PICTURES_MAX:
        raise ValidationFailed(_("At most %(n)d pictures.", n=PICTURES_MAX))
    if video and not video.lower().split("?", 1)[0].endswith(".mp4"):
        raise ValidationFailed(_("The video must be an MP4 file (its address ends in .mp4)."))
    with wechat_errors("setup.location_api", mp, actor):
        api(mp).setup.apply_privacy_interface(api_name, content, url_list=urls, pic_list=pictures,
                                              video_list=[video] if video else ())
    _row(mp).checked_at = None
    done("setup.location_api", mp, actor, api_name)


# --- the checklist and the check before an audit -------------------------------------------------------------

def missing_for_review(mp):
    """What WeChat's review needs and the app lacks: names from CHECKLIST (name, avatar, introduction, category)."""
    wxa = api(mp).setup
    with wechat_errors():
        info, held = wxa.basic_info(), wxa.categories().get("categories") or []
    missing = [k for k, ok in (("name", info.get("nickname")),
                               ("avatar", (info.get("head_image_info") or {}).get("head_image_url")),
                               ("introduction", (info.get("signature_info") or {}).get("signature"))) if not ok]
    if not any(int(c.get("audit_status") or 0) == CATEGORY_APPROVED for c in held):
        missing.append("category")
    return missing


def check_ready_for_review(mp):
    """:raise SetupIncomplete: before anything is sent, with what to set on the Setup tab."""
    missing = missing_for_review(mp)
    if missing:
        labels = {key: label for key, label, _e in CHECKLIST}
        separator = "、" if str(get_locale() or "").startswith("zh") else ", "
        raise SetupIncomplete(_("WeChat would refuse this audit: the mini-program has no %(parts)s yet. Set "
                                "them on its Setup tab first (a category counts once WeChat has approved it).",
                                parts=separator.join(str(labels[m]) for m in missing)), missing=missing)


def checklist(mp, refresh=False):
    """[{key, label, endpoint, ok, detail}]: the cached one unless `refresh` or a push made it stale."""
    row = _row(mp)
    if refresh or row.checked_at is None or not row.checklist:
        row.checklist, row.checked_at = json.dumps(_read_checklist(mp), ensure_ascii=False), utcnow()
        db.session.commit()
    items = row.load_checklist()
    return [dict(key=key, label=label, endpoint=endpoint, **items.get(key, {"ok": False, "detail": ""}))
            for key, label, endpoint in CHECKLIST]


def overview_checklist(mp):
    """For the overview: None until the app's setup was first touched or checked (then a button checks it),
    else the checklist, read again from WeChat when a push or a change made it stale."""
    row = db.session.scalar(select(MiniProgramSetup).where(MiniProgramSetup.miniprogram_id == mp.id))
    if row is None or (row.checked_at is None and not row.checklist and not row.nickname_requested):
        return None
    return checklist(mp)


def _read_checklist(mp):
    wxa = api(mp).setup
    missing = set(missing_for_review(mp))
    items = {k: {"ok": k not in missing, "detail": ""} for k in ("name", "avatar", "introduction", "category")}
    with wechat_errors():
        owner = api(mp).privacy.get_privacy_setting().get("owner_setting") or {}
        states = {i.get("api_name"): i.get("status") for i in wxa.privacy_interfaces()}
    items["guideline"] = {"ok": bool(owner.get("notice_method")), "detail": ""}
    server = domains.current_domains(mp)["server"]
    items["domains"] = {"ok": bool(server.get("requestdomain")), "detail": ", ".join(server.get("requestdomain") or ())}
    needed = ["wx." + n.removeprefix("wx.") for n in get_settings(mp.tenant_id).load("required_private_infos", [])]
    lacking = [n for n in needed if states.get(n) != INTERFACE_OPEN]
    items["interfaces"] = {"ok": not lacking, "detail": ", ".join(lacking)}
    return items


# --- pushes ------------------------------------------------------------------------------------------------

SETUP_EVENTS = (events.NicknameAuditEvent, events.CategoryAuditEvent, events.PrivacyApplyEvent)
_SETUPS, _APPS, _ACTIVITY = MiniProgramSetup.__table__, MiniProgram.__table__, Activity.__table__
_APPS_BY_APPID = select(_APPS.c.id, _APPS.c.tenant_id, _APPS.c.authorizer_appid).where(
    _APPS.c.authorizer_appid.in_(bindparam("appids", expanding=True)))


def apply_setup_events(pushes, connection):
    """Apply wxa_nickname_audit, wxa_category_audit and wxa_privacy_apply in the caller's transaction: the
    name audit's outcome is recorded, the app's checklist marked stale (the next view reads WeChat again),
    and each outcome logged. Returns one (outcome, detail) per push."""
    apps = {r.authorizer_appid: r for r in connection.execute(_APPS_BY_APPID,
                                                             {"appids": sorted({e.appid for e in pushes})})}
    results, logs, now = [], [], utcnow()
    for event in pushes:
        app = apps.get(event.appid)
        if app is None:
            results.append((OUTCOME_APPLIED, "no such mini-program here"))
            continue
        values = {"checked_at": None, "updated_at": now}
        if isinstance(event, events.NicknameAuditEvent):
            values.update(nickname_status=3 if event.approved else 2, nickname_reason=event.reason or None)
        connection.execute(update(_SETUPS).where(_SETUPS.c.miniprogram_id == app.id).values(**values))
        if isinstance(event, events.NicknameAuditEvent) and event.approved and event.nickname:
            connection.execute(update(_APPS).where(_APPS.c.id == app.id).values(nick_name=event.nickname[:64]))
        what = event.kind.removeprefix("wxa_")
        logs.append({"action": f"setup.{what}.{'approved' if event.approved else 'rejected'}", "actor_id": None,
                     "on_behalf": False, "tenant_id": app.tenant_id, "miniprogram_id": app.id, "outcome": OUTCOME_OK,
                     "detail": (event.reason or None), "created_at": now})
        results.append((OUTCOME_APPLIED, f"{what} {'approved' if event.approved else 'rejected'}"))
    if logs:
        connection.execute(insert(_ACTIVITY), logs)
    return results

