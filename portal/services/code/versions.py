"""What versions mini-programs run: one app's development, trial, in-audit and released versions, and the
staff list of every app with its latest audit and released version.
Imports services and models; never `services.fleet`, views or jobs.
"""

from sqlalchemy import select

from portal.errors import Conflict
from portal.extensions import db
from portal.models import Audit
from portal.services import wechat, wechat_reads
from portal.services.code.audit import audits_of
from portal.services.code.commit import latest_commit
from portal.timeutil import from_epoch
from portal.wechat.errors import WeChatError


def version_overview(mp, tenant_id=None):
    """Development, trial, in-audit and released versions (getversioninfo + our records; with `tenant_id`,
    the records made for that tenant only)."""
    result = {"commit": latest_commit(mp, tenant_id), "audits": audits_of(mp, 20, tenant_id), "error": None,
              "exp": {}, "release": {}, "as_of": None}
    try:
        info, result["as_of"] = wechat_reads.read(mp, wechat_reads.VERSIONS,
                                                  wechat.api(mp).code.get_version_info)
    except (WeChatError, Conflict) as exc:
        result["error"] = exc.message if isinstance(exc, Conflict) else wechat.human_error(exc).message
        return result
    exp, rel = info.get("exp_info") or {}, info.get("release_info") or {}
    result["exp"] = {"version": exp.get("exp_version"), "desc": exp.get("exp_desc"),
                     "time": from_epoch(exp.get("exp_time"))}
    result["release"] = {"version": rel.get("release_version"), "desc": rel.get("release_desc"),
                         "time": from_epoch(rel.get("release_time"))}
    return result


SORTS = {"name": "nick_name", "appid": "authorizer_appid", "authorized": "create_time", "tenant": "tenant"}


def list_for_staff(page, per_page, filters, sort="authorized", descending=True):
    """Mini-programs across tenants with their latest audit and released version, filtered, sorted, paged.

    `filters`: tenant (id), tenant_name (contains), state, audit (latest audit's status), released (version),
    template (released template id). Without an audit filter the page of mini-programs is chosen first and
    only its own audits are looked up, so the cost does not grow with the audit history; with one, the
    latest and live audit of every app are grouped first (indexed: ix_wxminiprogram_audit_mp_release_id).
    """
    from portal.models import MiniProgram, Tenant
    from portal.services.platform import filter_by_tenant

    # the page's ids first, from the narrow sort index; then the page's own rows: a deep page walks no rows
    query = select(MiniProgram.id)
    if sort == "tenant":
        query = query.outerjoin(Tenant, Tenant.id == MiniProgram.tenant_id)
    query = filter_by_tenant(query, filters.get("tenant"), filters.get("tenant_name"))
    if filters.get("state"):
        query = query.where(MiniProgram.auth_state == filters["state"])
    if filters.get("audit") is not None:
        query = query.where(MiniProgram.id.in_(select(Audit.miniprogram_id).where(
            Audit.id.in_(_newest_audit_ids()), Audit.status == filters["audit"])))
    if filters.get("released") or filters.get("template"):
        live = select(Audit.miniprogram_id).where(Audit.id.in_(_newest_audit_ids(released=True)))
        if filters.get("released"):
            live = live.where(Audit.user_version == filters["released"])
        if filters.get("template"):
            live = live.where(Audit.template_id == filters["template"])
        query = query.where(MiniProgram.id.in_(live))
    column = Tenant.name if sort == "tenant" else getattr(MiniProgram, SORTS.get(sort, "create_time"))
    query = query.order_by(column.desc() if descending else column.asc(), MiniProgram.id.desc())
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    page_ids = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    found = {mp.id: (mp, name) for mp, name in db.session.execute(
        select(MiniProgram, Tenant.name).outerjoin(Tenant, Tenant.id == MiniProgram.tenant_id)
        .where(MiniProgram.id.in_(page_ids)))} if page_ids else {}
    rows = [found[i] for i in page_ids if i in found]
    latest, live = _latest_and_live([mp.id for mp, _name in rows])
    return [{"mp": mp, "tenant": name, "audit": latest.get(mp.id), "live": live.get(mp.id)}
            for mp, name in rows], total


def _newest_audit_ids(released=False, miniprogram_ids=None):
    """Select: the id of each mini-program's newest audit (or newest released one)."""
    query = select(db.func.max(Audit.id)).group_by(Audit.miniprogram_id)
    if released:
        query = query.where(Audit.is_release == True)  # noqa: E712 - "= 1" lets MariaDB use the index
    if miniprogram_ids is not None:
        query = query.where(Audit.miniprogram_id.in_(miniprogram_ids))
    return query


def _latest_and_live(miniprogram_ids):
    """({mp_id: newest audit}, {mp_id: newest released audit}) for a page of mini-programs. The ids are read
    first: MariaDB would run `id IN (… UNION …)` as a dependent subquery for every audit row."""
    if not miniprogram_ids:
        return {}, {}
    ids = set(db.session.scalars(_newest_audit_ids(miniprogram_ids=miniprogram_ids)
                                 .union(_newest_audit_ids(released=True, miniprogram_ids=miniprogram_ids))))
    latest, live = {}, {}
    for audit in db.session.scalars(select(Audit).where(Audit.id.in_(ids)).order_by(Audit.id)) if ids else ():
        latest[audit.miniprogram_id] = audit
        if audit.is_release:
            live[audit.miniprogram_id] = audit
    return latest, live


def released_versions():
    """Every released user_version and template id, for the staff filters."""
    live = select(Audit.user_version, Audit.template_id).where(Audit.is_release == True)  # noqa: E712 - indexed
    rows = db.session.execute(live.distinct()).all()
    return {"versions": sorted({v for v, _t in rows if v}), "templates": sorted({t for _v, t in rows if t})}
