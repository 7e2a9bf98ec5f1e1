"""Per-tenant code-management settings: ext.json parameters, requiredPrivateInfos, default domains and
the privacy guideline (model `TenantSettings`), in three parts ("ext", "domains", "privacy"). Staff edit
any tenant's and decide which parts its merchant users may edit themselves; a merchant edits its own
tenant's allowed parts, and a change to another part is refused whole (nothing saved)."""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import Forbidden, ValidationFailed
from portal.extensions import db
from portal.models import TenantSettings
from portal.services import activity

EXT_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
PARTS = ("ext", "domains", "privacy")
OWNER_FIELDS = ("contact_email", "contact_phone", "contact_weixin", "notice_method")
PART_FIELDS = {"ext": ("ext_params", "required_private_infos"),
               "domains": ("requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain", "udpdomain",
                           "tcpdomain", "webviewdomain"),
               "privacy": (*OWNER_FIELDS, "privacy_texts")}


def get_settings(tenant_id):
    """The tenant's settings row (unsaved defaults when it has none yet)."""
    row = db.session.scalar(select(TenantSettings).where(TenantSettings.tenant_id == tenant_id))
    return row or TenantSettings(tenant_id=tenant_id)


def part_names():
    return {"ext": _("the ext.json parameters"), "domains": _("the domains"), "privacy": _("the privacy guideline")}


def editable_parts(actor, settings):
    """The parts `actor` may change: all for staff, those staff allow for the tenant's merchant users."""
    if getattr(actor, "is_staff", False):
        return set(PARTS)
    return {part for part in PARTS if settings.merchant_may_edit(part)}


def parts_in(data, fields=PART_FIELDS):
    """The parts a submitted form touches (any of its fields present)."""
    return [part for part in PARTS if any(name in data for name in fields[part])]


def check_may_edit(actor, settings, parts):
    """:raise Forbidden: naming the parts staff keep for themselves for this tenant."""
    refused = [part for part in parts if part not in editable_parts(actor, settings)]
    if refused:
        names = part_names()
        raise Forbidden(_("The platform operator manages %(parts)s for your tenant: ask them to change it. "
                          "Nothing was saved.", parts=_(", ").join(names[p] for p in refused)))


def save_permissions(tenant_id, actor, allowed):
    """Staff decide which parts (a subset of PARTS) the tenant's merchant users may edit. :raise Forbidden."""
    if not getattr(actor, "is_staff", False):
        raise Forbidden(_("Only platform staff decide what merchants may edit."))
    row = get_settings(tenant_id)
    if row.id is None:
        db.session.add(row)
    for part in PARTS:
        setattr(row, f"merchant_edits_{part}", part in allowed)
    row.updated_by = actor.id
    activity.record("settings.permissions", actor=actor, tenant_id=tenant_id,
                    detail=", ".join(p for p in PARTS if p in allowed) or "-")
    db.session.commit()
    return row


def parse_pairs(text):
    """`key=value` lines -> dict; ValidationFailed naming the bad line."""
    result = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not EXT_KEY.match(key):
            raise ValidationFailed(_("Line %(n)d is not “key=value” with a simple key (letters, digits, _ . -).",
                                     n=number))
        result[key] = value.strip()
    return result


def format_pairs(mapping):
    return "\n".join(f"{k}={v}" for k, v in sorted(mapping.items()))


def save_settings(tenant_id, actor, ext_params=None, required_private_infos=None, domains=None, privacy=None):
    """Store the given parts (None = unchanged) and log who changed them."""
    row = get_settings(tenant_id)
    if row.id is None:
        db.session.add(row)
    for name, value in (("ext_params", ext_params), ("required_private_infos", required_private_infos),
                        ("domains", domains), ("privacy", privacy)):
        if value is not None:
            row.store(name, value)
    row.updated_by = getattr(actor, "id", None)
    activity.record("settings.update", actor=actor, tenant_id=tenant_id,
                    detail=", ".join(n for n, v in (("ext", ext_params), ("domains", domains), ("privacy", privacy))
                                     if v is not None))
    db.session.commit()
    return row


def save_from_form(tenant_id, actor, data):
    """Validate and store the parts the settings form sent (a dict of strings; a part whose fields are all
    absent stays as it is). :raise Forbidden: a part the actor may not edit. :raise ValidationFailed."""
    from portal.services.code.domains import SERVER_KINDS, WEBVIEW, parse_kind

    parts = parts_in(data)
    check_may_edit(actor, get_settings(tenant_id), parts)
    values = {}
    if "ext" in parts:
        values.update(ext_params=parse_pairs(data.get("ext_params")),
                      required_private_infos=parse_api_names(data.get("required_private_infos")))
    if "domains" in parts:
        values["domains"] = {k: parse_kind(k, data.get(k)) for k in (*SERVER_KINDS, WEBVIEW)}
    if "privacy" in parts:
        values["privacy"] = parse_guideline(data)
    return save_settings(tenant_id, actor, **values)


def parse_api_names(text):
    """requiredPrivateInfos: API names separated by commas or spaces. :raise ValidationFailed."""
    names = [v.strip() for v in re.split(r"[,\s]+", text or "") if v.strip()]
    if any(not EXT_KEY.match(v) for v in names):
        raise ValidationFailed(_("requiredPrivateInfos takes API names such as getLocation, separated by commas."))
    return names


def parse_guideline(data):
    """{"owner_setting": {...}, "texts": {key: text}} from the privacy fields. :raise ValidationFailed."""
    owner = {k: (data.get(k) or "").strip() for k in OWNER_FIELDS if (data.get(k) or "").strip()}
    return {"owner_setting": owner, "texts": parse_pairs(data.get("privacy_texts"))}


def form_data(tenant_id):
    """The settings as the page's fields."""
    row = get_settings(tenant_id)
    domains, privacy = row.load("domains", {}), row.load("privacy", {})
    owner = privacy.get("owner_setting") or {}
    data = {k: "\n".join(v) for k, v in domains.items()}
    data.update({k: owner.get(k, "") for k in OWNER_FIELDS})
    data.update(ext_params=format_pairs(row.load("ext_params", {})),
                required_private_infos=", ".join(row.load("required_private_infos", [])),
                privacy_texts=format_pairs(privacy.get("texts") or {}))
    return data
