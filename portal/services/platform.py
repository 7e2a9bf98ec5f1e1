"""What staff see of the platform's health: ticket age, token expiry, every mini-program's token state
(never a token value), and the pushes WeChat sent."""

import time

from sqlalchemy import func, select

from portal.errors import NotFound
from portal.extensions import db
from portal.models import ComponentAccount, MiniProgram, Tenant
from portal.services.wechat import component_appid
from portal.timeutil import utcnow


def component_health():
    account = db.session.scalar(select(ComponentAccount).where(ComponentAccount.component_appid == component_appid()))
    now = time.time()
    ticket_age = (utcnow() - account.ticket_time).total_seconds() if account and account.ticket_time else None
    token_left = (account.token_expires - now) if account and account.token_expires else None
    return {"appid": component_appid(), "ticket_age": ticket_age, "token_left": token_left,
            "ticket_ok": ticket_age is not None and ticket_age < 12 * 3600}


def list_miniprograms(page, per_page, tenant_id=None, state=None, search=None, tenant_name=None):
    """A page of mini-programs across tenants with their tenant (three queries whatever the size): the page's
    ids first, read from the primary key alone, then only the page's rows, so a deep page walks no rows."""
    query = select(MiniProgram.id).order_by(MiniProgram.id.desc())
    query = filter_by_tenant(query, tenant_id, tenant_name)
    if state:
        query = query.where(MiniProgram.auth_state == state)
    if search:
        term = search.strip()
        query = query.where(MiniProgram.nick_name.contains(term, autoescape=True)
                            | MiniProgram.authorizer_appid.contains(term, autoescape=True))
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    page_ids = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    rows = db.session.execute(
        select(MiniProgram, Tenant.name).outerjoin(Tenant, Tenant.id == MiniProgram.tenant_id)
        .where(MiniProgram.id.in_(page_ids)).order_by(MiniProgram.id.desc())).all() if page_ids else []
    now = time.time()
    items = [{"mp": mp, "tenant": name, "token_left": (mp.authorizer_expires - now) if mp.authorizer_expires else None}
             for mp, name in rows]
    return items, total


def get_miniprogram(mp_id):
    mp = db.session.get(MiniProgram, mp_id)
    if mp is None:
        raise NotFound()
    return mp


def tenant_choices():
    return [(row.id, row.name) for row in db.session.execute(select(Tenant.id, Tenant.name).order_by(Tenant.name))]


# A list filter offers every tenant in a <select> while there are few; beyond this many, a search box
# (name contains…) with suggestions from `find_tenants`, so a page never grows with the number of tenants.
TENANT_SELECT_MAX = 100


def tenant_filter(tenant_id=None):
    """What a tenant filter shows: {"choices": [(id, name)] or None for a search box, "name": the chosen
    tenant's name (for a `?tenant=<id>` link)}. One or two small queries at any number of tenants."""
    many = db.session.scalar(select(func.count()).select_from(
        select(Tenant.id).limit(TENANT_SELECT_MAX + 1).subquery())) > TENANT_SELECT_MAX
    name = db.session.scalar(select(Tenant.name).where(Tenant.id == tenant_id)) if tenant_id else None
    return {"choices": None if many else tenant_choices(), "name": name}


def find_tenants(term, limit=20):
    """Tenants whose name contains `term` (names starting with it first), for the filter's suggestions."""
    term = (term or "").strip()[:64]
    if not term:
        return []
    starts = Tenant.name.startswith(term, autoescape=True)
    rows = db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.name.contains(term, autoescape=True))
                              .order_by(starts.desc(), Tenant.name).limit(limit))
    return [{"id": row.id, "name": row.name} for row in rows]


def filter_by_tenant(query, tenant_id=None, tenant_name=None, model=MiniProgram):
    """`query` (over `model`, a tenant-owned account) narrowed to one tenant, or to tenants whose name
    contains `tenant_name`."""
    if tenant_id:
        query = query.where(model.tenant_id == tenant_id)
    term = (tenant_name or "").strip()[:64]
    if term:
        query = query.where(model.tenant_id.in_(
            select(Tenant.id).where(Tenant.name.contains(term, autoescape=True))))
    return query
