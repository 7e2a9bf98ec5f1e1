"""The template library (staff): WeChat's drafts and templates (gettemplatedraftlist, addtotemplate,
gettemplatelist, deletetemplate) mirrored into `wxa_templates` with our notes and the ext_json schema
each template expects; where each template runs; and the ext parameters of a mini-program (its tenant's,
overridden per mini-program) validated against a template's schema.

WeChat's two lists are cached for TEMPLATE_LIST_CACHE_SECONDS (`platform_templates`, `drafts`): every
merchant's upload page shows the template list, and a page view must not be a WeChat call. The cache is
this process's (the coordination's `here`, one per app): staff's "refresh from WeChat", adding a draft and
deleting a template renew it at once in the process that served them; other processes follow within
the TTL.

Imports services, models and the WeChat client only; never views or jobs.
"""

import json
import re
import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.coordination import coordination
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.models import Audit, CodeCommit, LibraryTemplate, MiniProgramParams
from portal.models.audit import OPEN_AUDIT_STATUSES
from portal.models.template import EXT_TYPES
from portal.services import activity, wechat
from portal.services.tenant_settings import get_settings
from portal.services.wechat import get_client
from portal.timeutil import from_epoch
from portal.wechat.templates import TEMPLATE_STANDARD

SCHEMA_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*:\s*([a-z]+)(\?)?$")


def _cached(name, fetch, refresh):
    """`fetch()`'s answer, kept for TEMPLATE_LIST_CACHE_SECONDS; `refresh` asks WeChat again regardless."""
    app = current_app._get_current_object()
    cache = coordination(app).here("template_list_cache", dict)
    now = time.monotonic()
    kept = cache.get(name)
    if kept is not None and not refresh and now < kept[0]:
        return kept[1]
    value = tuple(fetch())
    cache[name] = (now + app.config["TEMPLATE_LIST_CACHE_SECONDS"], value)
    return value


def _forget(name):
    coordination().here("template_list_cache", dict).pop(name, None)


def platform_templates(refresh=False):
    """The platform's templates (gettemplatelist), newest first, from the cache unless `refresh`.
    :raise WeChatError."""
    return _cached("templates", lambda: sorted(get_client().templates.get_templates(), key=lambda t: -t.create_time),
                   refresh)


def get_template(template_id):
    row = db.session.scalar(select(LibraryTemplate).where(LibraryTemplate.template_id == template_id))
    if row is None:
        raise NotFound()
    return row


def list_templates(include_deleted=False):
    query = select(LibraryTemplate).order_by(LibraryTemplate.wechat_created_at.desc(), LibraryTemplate.id.desc())
    if not include_deleted:
        query = query.where(LibraryTemplate.is_deleted.is_(False))
    return db.session.scalars(query).all()


def sync_templates(actor=None):
    """gettemplatelist -> `wxa_templates` (new rows added, WeChat's fields refreshed, vanished ones marked
    deleted; our notes kept). :raise WeChatFailed."""
    with wechat.wechat_errors():
        remote = platform_templates(refresh=True)
        drafts(refresh=True)  # shown on the same page: the refresh renews both lists
    known = {row.template_id: row for row in db.session.scalars(select(LibraryTemplate))}
    for tpl in remote:
        row = known.pop(tpl.template_id, None) or LibraryTemplate(template_id=tpl.template_id)
        raw = tpl.raw
        row.user_version, row.user_desc = tpl.user_version[:64], tpl.user_desc[:255]
        row.template_type, row.source_appid = tpl.template_type, tpl.source_miniprogram_appid[:45] or None
        row.draft_id, row.wechat_created_at = raw.get("draft_id"), from_epoch(tpl.create_time)
        row.categories = json.dumps(raw.get("category_list") or [], ensure_ascii=False)
        row.audit_status, row.audit_reason = raw.get("audit_status"), raw.get("reason") or None
        row.is_deleted = False
        db.session.add(row)
    for row in known.values():
        row.is_deleted = True
    db.session.commit()
    return list_templates()


def is_standard_template(template_id):
    """Whether `template_id` is in the standard template library (template_type 1), whose commits take a
    restricted ext_json. Our library row knows (a template's type never changes); a template not synced yet
    is looked up in gettemplatelist. :raise WeChatError."""
    row = db.session.scalar(select(LibraryTemplate).where(LibraryTemplate.template_id == template_id))
    if row is not None:
        return row.template_type == TEMPLATE_STANDARD
    return any(t.template_id == template_id and t.template_type == TEMPLATE_STANDARD
               for t in platform_templates())


def template_choices(templates):
    """(template_id, label) pairs for a select, standard templates marked (their ext_json is restricted)."""
    return [(t.template_id, " · ".join([str(t.template_id), t.user_version or "", t.user_desc or ""]
                                       + ([_("standard template")] if t.template_type == TEMPLATE_STANDARD else [])))
            for t in templates]


def drafts(refresh=False):
    """gettemplatedraftlist, newest first, from the cache unless `refresh`. :raise WeChatFailed."""
    with wechat.wechat_errors():
        return _cached("drafts", lambda: sorted(get_client().templates.get_drafts(), key=lambda d: -d.create_time),
                       refresh)


def add_draft(draft_id, template_type, actor):
    """addtotemplate (0 normal, 1 standard), then refresh the library. :raise WeChatFailed: 85064, 85065."""
    if template_type not in (0, 1):
        raise ValidationFailed(_("Choose a normal or a standard template."))
    with wechat.wechat_errors():
        get_client().templates.add_to_template(int(draft_id), template_type=template_type)
    activity.record("library.add", actor=actor, detail=f"draft {draft_id} type {template_type}")
    return sync_templates(actor)


def delete_template(template_id, actor):
    """deletetemplate; our row stays (marked deleted) so old releases keep their notes. :raise WeChatFailed."""
    row = get_template(template_id)
    with wechat.wechat_errors():
        get_client().templates.delete_template(int(template_id))
    _forget("templates")
    row.is_deleted = True
    activity.record("library.delete", actor=actor, detail=str(template_id))
    db.session.commit()
    return row


def parse_schema(text):
    """`key: type` lines (`?` after the type = optional) -> schema dict. :raise ValidationFailed."""
    schema = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = SCHEMA_LINE.match(line)
        if not match or match.group(2) not in EXT_TYPES:
            raise ValidationFailed(_("Line %(n)d is not “key: type” with a type among %(types)s (add “?” for "
                                     "an optional key).", n=number, types=", ".join(EXT_TYPES)))
        schema[match.group(1)] = {"type": match.group(2), "required": not match.group(3)}
    return schema


def format_schema(schema):
    return "\n".join(f"{k}: {v['type']}{'' if v.get('required') else '?'}" for k, v in sorted(schema.items()))


def save_notes(template_id, actor, changelog, notes, schema_text):
    """Our notes on a template: changelog, free notes, the ext schema. :raise ValidationFailed, NotFound."""
    row = get_template(template_id)
    schema = parse_schema(schema_text)
    row.changelog, row.notes = (changelog or "").strip() or None, (notes or "").strip() or None
    row.ext_schema = json.dumps(schema, ensure_ascii=False, sort_keys=True)
    activity.record("library.notes", actor=actor, detail=str(template_id))
    db.session.commit()
    return row


def _coerce(kind, value):
    if kind == "string":
        return str(value)
    if kind == "boolean":
        if isinstance(value, bool) or str(value).lower() in ("true", "false", "1", "0"):
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1")
        raise ValueError(value)
    return int(value) if kind == "integer" else float(value)


def validate_ext(schema, params):
    """(ext with values typed per the schema, errors): a required key missing or a value of the wrong type."""
    result, errors = dict(params), []
    for key, spec in sorted(schema.items()):
        if key not in params or params[key] in (None, ""):
            if spec.get("required"):
                errors.append(_("“%(key)s” is required by the template.", key=key))
            result.pop(key, None)
            continue
        try:
            result[key] = _coerce(spec.get("type", "string"), params[key])
        except (TypeError, ValueError):
            errors.append(_("“%(key)s” must be of type %(type)s.", key=key, type=spec.get("type")))
    return result, errors


def mp_overrides(mp_id):
    row = db.session.scalar(select(MiniProgramParams).where(MiniProgramParams.miniprogram_id == mp_id))
    return json.loads(row.ext_params or "{}") if row else {}


def ext_params_for(mp, settings=None):
    """The mini-program's ext parameters: its tenant's (`settings`, if the caller has them already),
    overridden by its own."""
    settings = get_settings(mp.tenant_id) if settings is None else settings
    return {**settings.load("ext_params", {}), **mp_overrides(mp.id)}


def usage():
    """{template_id: {"development": n, "audit": n, "released": n}}: latest upload, open audit and live
    version of each mini-program, counted per template (three grouped queries, whatever the fleet size)."""
    result = {}

    def add(kind, rows):
        for template_id, count in rows:
            if template_id is not None:
                result.setdefault(template_id, {"development": 0, "audit": 0, "released": 0})[kind] = count

    latest_commit = select(func.max(CodeCommit.id)).group_by(CodeCommit.miniprogram_id)
    add("development", db.session.execute(select(CodeCommit.template_id, func.count()).where(
        CodeCommit.id.in_(latest_commit)).group_by(CodeCommit.template_id)).all())
    add("audit", db.session.execute(select(Audit.template_id, func.count(func.distinct(Audit.miniprogram_id)))
                                    .where(Audit.status.in_(OPEN_AUDIT_STATUSES)).group_by(Audit.template_id)).all())
    live = select(func.max(Audit.id)).where(Audit.is_release.is_(True)).group_by(Audit.miniprogram_id)
    add("released", db.session.execute(select(Audit.template_id, func.count()).where(Audit.id.in_(live))
                                       .group_by(Audit.template_id)).all())
    return result
