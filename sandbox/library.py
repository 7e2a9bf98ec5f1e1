"""The platform's code template library: drafts uploaded "from the IDE" and templates made from them.

A draft carries the pages of its code package (so commits can check ``ext_json`` paths, answer
``get_page`` and 85045), the privacy keys the code uses and the location APIs it calls. ``addtotemplate``
copies a draft into the library (85064 unknown draft, 85065 library full: ``template_limit`` per type).
"""

from __future__ import annotations

import dataclasses

from .errors import ApiError
from .model import Draft, Template

DEFAULT_PAGES = ["pages/index/index", "pages/detail/detail", "pages/me/me"]


def _component_appid(sb, spec: dict) -> str:
    appid = spec.get("component_appid") or next(iter(sb.state.components), "")
    if appid not in sb.state.components:
        raise LookupError(f"no component {appid!r}")
    return appid


def add_draft(sb, spec: dict) -> Draft:
    """Control API: what uploading a code package from the developer tool does."""
    component_appid = _component_appid(sb, spec)
    pages = spec.get("pages") or list(DEFAULT_PAGES)
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise ValueError("pages must be a list of page paths")
    with sb.state.lock:
        draft = Draft(draft_id=sb.state.next_id("draft"), user_version=str(spec.get("user_version", "1.0.0")),
                      user_desc=str(spec.get("user_desc", "sandbox draft")), create_time=sb.wall_time(),
                      pages=pages, privacy_keys=list(spec.get("privacy_keys", [])),
                      location_apis=list(spec.get("location_apis", [])),
                      source_miniprogram_appid=spec.get("source_miniprogram_appid", ""),
                      source_miniprogram=spec.get("source_miniprogram", ""),
                      developer=spec.get("developer", "sandbox-developer"))
        sb.state.drafts[component_appid][draft.draft_id] = draft
        sb.state.dirty = True
        return draft


def add_to_template(sb, component_appid: str, draft_id, template_type=0) -> Template:
    with sb.state.lock:
        draft = sb.state.drafts[component_appid].get(draft_id) if isinstance(draft_id, int) else None
        if draft is None:
            raise ApiError(85064)
        if template_type not in (0, 1):
            raise ApiError(40097)
        library = sb.state.templates[component_appid]
        limit = sb.state.components[component_appid].template_limit
        if sum(1 for t in library.values() if t.template_type == template_type) >= limit:
            raise ApiError(85065)
        fields = {k: v for k, v in dataclasses.asdict(draft).items() if k in Template.__dataclass_fields__}
        template = Template(template_id=sb.state.next_id("template"), template_type=template_type, **fields)
        template.create_time = sb.wall_time()
        library[template.template_id] = template
        sb.state.dirty = True
        return template


def add_template_directly(sb, spec: dict) -> Template:
    draft = add_draft(sb, spec)
    return add_to_template(sb, _component_appid(sb, spec), draft.draft_id, int(spec.get("template_type", 0)))


def draft_list(sb, component_appid: str) -> list[dict]:
    with sb.state.lock:
        return [{"create_time": d.create_time, "user_version": d.user_version, "user_desc": d.user_desc,
                 "draft_id": d.draft_id} for d in sb.state.drafts[component_appid].values()]


def template_list(sb, component_appid: str, template_type=None) -> list[dict]:
    with sb.state.lock:
        items = [t for t in sb.state.templates[component_appid].values()
                 if template_type is None or t.template_type == template_type]
        return [template_view(t) for t in items]


def template_view(t: Template) -> dict:
    view = {"create_time": t.create_time, "user_version": t.user_version, "user_desc": t.user_desc,
            "template_id": t.template_id, "draft_id": t.draft_id, "template_type": t.template_type,
            "source_miniprogram_appid": t.source_miniprogram_appid,
            "source_miniprogram": t.source_miniprogram, "developer": t.developer, "category_list": []}
    if t.template_type == 1:
        # audit_scene, audit_status and reason: "标准模板的…；普通模板不返回该值". 3 = approved.
        view.update(audit_scene=0, audit_status=3, reason="")
    return view


def delete_template(sb, component_appid: str, template_id) -> None:
    with sb.state.lock:
        library = sb.state.templates[component_appid]
        if not isinstance(template_id, int) or template_id not in library:
            raise ApiError(85064)
        del library[template_id]
        sb.state.dirty = True


def find_template(sb, component_appid: str, template_id) -> Template | None:
    # template_id must be a JSON number: a quoted id is "template not exist" (85014) at WeChat.
    if not isinstance(template_id, int) or isinstance(template_id, bool):
        return None
    return sb.state.templates.get(component_appid, {}).get(template_id)
