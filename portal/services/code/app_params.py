"""The parameters one mini-program is uploaded and submitted with: its tenant's settings, overridden by its
own (`miniprogram_params`): ext values per key, server/business domains per kind, the privacy guideline
(contact and notice method as a whole, texts per key). Single uploads/audits and fleet releases read the
same effective values from here, and the app's pages show where each value comes from.

Who may change an app's own values follows its tenant's settings: staff always, merchant users for the
parts staff allow them (`tenant_settings.editable_parts`). Imports services and models; never views or jobs.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.models import MiniProgramParams
from portal.services import activity, library, wechat
from portal.services.code import domains, privacy
from portal.services.tenant_settings import (
    OWNER_FIELDS,
    PART_FIELDS,
    check_may_edit,
    format_pairs,
    get_settings,
    parse_guideline,
    parse_pairs,
    parts_in,
)

TENANT, APP = "tenant", "app"
KINDS = (*domains.SERVER_KINDS, domains.WEBVIEW)
APP_FIELDS = {"ext": ("ext_params",), "domains": PART_FIELDS["domains"], "privacy": PART_FIELDS["privacy"]}


def _row(mp_id):
    return db.session.scalar(select(MiniProgramParams).where(MiniProgramParams.miniprogram_id == mp_id))


def overrides(mp):
    """{"ext": {key: value}, "domains": {kind: [hosts]}, "privacy": {"owner_setting", "texts"}} of the app."""
    row = _row(mp.id)
    data = row.load("privacy", {}) if row else {}
    return {"ext": row.load("ext_params", {}) if row else {},
            "domains": {k: v for k, v in (row.load("domains", {}) if row else {}).items() if v},
            "privacy": {"owner_setting": dict(data.get("owner_setting") or {}), "texts": dict(data.get("texts") or {})}}


def effective(mp, settings=None):
    """Every value with its source (TENANT or APP): {"ext": {key: (value, source)}, "domains": {kind:
    (hosts, source)}, "owner": (owner_setting, source), "texts": {key: (text, source)}}."""
    settings = settings or get_settings(mp.tenant_id)
    own, tenant_domains, guide = overrides(mp), settings.load("domains", {}), privacy.guideline(settings)
    ext = {k: (v, TENANT) for k, v in settings.load("ext_params", {}).items()}
    ext.update({k: (v, APP) for k, v in own["ext"].items()})
    kinds = {k: (own["domains"][k], APP) if own["domains"].get(k) else (tenant_domains.get(k) or [], TENANT)
             for k in KINDS}
    owner = (own["privacy"]["owner_setting"], APP) if own["privacy"]["owner_setting"] else \
        (guide["owner_setting"], TENANT)
    texts = {k: (v, TENANT) for k, v in guide["texts"].items()}
    texts.update({k: (v, APP) for k, v in own["privacy"]["texts"].items() if v})
    return {"ext": ext, "domains": kinds, "owner": owner, "texts": texts}


def effective_domains(mp, values=None):
    """{kind: [hosts]}: the app's own list for a kind, else its tenant's default."""
    values = values or effective(mp)
    return {k: hosts for k, (hosts, _source) in values["domains"].items()}


def effective_guideline(mp, values=None):
    """The privacy guideline sent before an audit: the app's contact/notice method (else the tenant's) and
    a text per key (the app's, else the tenant's)."""
    values = values or effective(mp)
    return {"owner_setting": dict(values["owner"][0]), "texts": {k: t for k, (t, _s) in values["texts"].items()}}


def ext_checks(mp, values=None):
    """[(template, errors)]: the app's effective ext values against each library template that declares
    an ext schema (required keys, types), as a fleet release of that template would check them."""
    ext = {k: v for k, (v, _source) in (values or effective(mp))["ext"].items()}
    return [(t, library.validate_ext(t.schema(), ext)[1]) for t in library.list_templates() if t.schema()]


def form_data(mp):
    """The app's own values as the parameters page's fields (empty = the tenant's)."""
    own = overrides(mp)
    data = {k: "\n".join(own["domains"].get(k) or []) for k in KINDS}
    data.update({k: own["privacy"]["owner_setting"].get(k, "") for k in OWNER_FIELDS})
    data.update(ext_params=format_pairs(own["ext"]), privacy_texts=format_pairs(own["privacy"]["texts"]))
    return data


def save_overrides(mp, actor, data):
    """Store the parts of the app's own values the form sent; empty fields fall back to the tenant's.

    :raise Forbidden: a part the actor may not edit for this tenant. :raise ValidationFailed."""
    parts = parts_in(data, APP_FIELDS)
    check_may_edit(actor, get_settings(mp.tenant_id), parts)
    values = {}
    if "ext" in parts:
        values["ext_params"] = parse_pairs(data.get("ext_params"))
    if "domains" in parts:
        values["domains"] = {k: hosts for k in KINDS if (hosts := domains.parse_kind(k, data.get(k)))}
    if "privacy" in parts:
        values["privacy"] = parse_guideline(data)
    row = _row(mp.id)
    if row is None:
        row = MiniProgramParams(miniprogram_id=mp.id)
        db.session.add(row)
    for name, value in values.items():
        row.store(name, value)
    row.updated_by = getattr(actor, "id", None)
    activity.record("settings.mp_params", actor=actor, miniprogram=mp, detail=", ".join(parts))
    db.session.commit()
    return row


def apply_domains(mp, actor, values=None, log=True, before_calls=None):
    """Make WeChat hold the app's effective domains, sending "set" (modify_domain / setwebviewdomain, or the
    *_directly APIs) only for what differs from what it holds; False when neither the app nor its tenant has
    any. :raise ValidationFailed: this month's server-domain changes are used. :raise WeChatFailed."""
    values = values if values is not None else effective_domains(mp)
    server = {k: values.get(k) or [] for k in domains.SERVER_KINDS}
    webview = values.get(domains.WEBVIEW) or []
    if not any(server.values()) and not webview:
        return False
    domains.sync_domains(mp, actor, server, webview, log=log, before_calls=before_calls)
    return True


def set_domains(mp, actor):
    """The domains page's button: set the effective domains now. :raise ValidationFailed, WeChatFailed."""
    if not apply_domains(mp, actor):
        raise ValidationFailed(_("Neither this mini-program nor its tenant has domains yet. Add them under "
                                 "Parameters or Settings first."))


def prepare_for_audit(mp, actor=None, before_calls=None):
    """Just before submit_audit: set the app's effective domains (when it has any: reviewers open the code
    with them) and its privacy guideline for every key the code uses; returns the keys still without a
    text. `before_calls(n)` is told how many WeChat calls come next (the fleet's shared rate limiter).

    :raise ValidationFailed: a guideline without contact/notice method. :raise WeChatFailed, WeChatError."""
    values = effective(mp)
    apply_domains(mp, actor, effective_domains(mp, values), log=False, before_calls=before_calls)
    guideline = effective_guideline(mp, values)
    if guideline["owner_setting"]:
        return privacy.apply_guideline(mp, actor, guideline, log=False)
    return wechat.api(mp).privacy.undeclared_privacy_keys()
