"""Per-tenant code-management settings: ext.json parameters, requiredPrivateInfos, default domains and
the privacy guideline (model `TenantSettings`). Staff edit any tenant's; a merchant edits its own."""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.models import TenantSettings
from portal.services import activity

EXT_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def get_settings(tenant_id):
    """The tenant's settings row (unsaved defaults when it has none yet)."""
    row = db.session.scalar(select(TenantSettings).where(TenantSettings.tenant_id == tenant_id))
    return row or TenantSettings(tenant_id=tenant_id)


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
    """Validate and store the settings page's fields (a dict of strings). :raise ValidationFailed."""
    from portal.services.domains import SERVER_KINDS, WEBVIEW, parse_hosts

    required = [v.strip() for v in re.split(r"[,\s]+", data.get("required_private_infos") or "") if v.strip()]
    if any(not EXT_KEY.match(v) for v in required):
        raise ValidationFailed(_("requiredPrivateInfos takes API names such as getLocation, separated by commas."))
    owner = {k: (data.get(k) or "").strip() for k in ("contact_email", "contact_phone", "contact_weixin",
                                                     "notice_method") if (data.get(k) or "").strip()}
    return save_settings(
        tenant_id, actor, ext_params=parse_pairs(data.get("ext_params")), required_private_infos=required,
        domains={k: parse_hosts(data.get(k)) for k in (*SERVER_KINDS, WEBVIEW)},
        privacy={"owner_setting": owner, "texts": parse_pairs(data.get("privacy_texts"))})


def form_data(tenant_id):
    """The settings as the page's fields."""
    row = get_settings(tenant_id)
    domains, privacy = row.load("domains", {}), row.load("privacy", {})
    owner = privacy.get("owner_setting") or {}
    data = {k: "\n".join(v) for k, v in domains.items()}
    data.update({k: owner.get(k, "") for k in ("contact_email", "contact_phone", "contact_weixin", "notice_method")})
    data.update(ext_params=format_pairs(row.load("ext_params", {})),
                required_private_infos=", ".join(row.load("required_private_infos", [])),
                privacy_texts=format_pairs(privacy.get("texts") or {}))
    return data
