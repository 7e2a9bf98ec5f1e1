"""Tenants: create, edit, suspend and list them with their counts (staff use cases)."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import MiniProgram, Tenant, User
from portal.models.tenant import TENANT_ACTIVE, TENANT_SUSPENDED
from portal.services import activity

EDITABLE_FIELDS = ("name", "contact_name", "contact_email", "contact_phone", "notes")


def get_tenant(tenant_id):
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def _name_taken(name, exclude_id=None):
    query = select(Tenant.id).where(func.lower(Tenant.name) == name.strip().lower())
    if exclude_id is not None:
        query = query.where(Tenant.id != exclude_id)
    return db.session.scalar(query) is not None


def create_tenant(actor, **fields):
    """Create a tenant; raises Conflict when the name is taken."""
    name = (fields.get("name") or "").strip()
    if _name_taken(name):
        raise Conflict(_("A tenant with this name already exists."))
    try:
        tenant = Tenant(**{k: (fields.get(k) or None) for k in EDITABLE_FIELDS})
        tenant.name = name
        db.session.add(tenant)
        db.session.flush()
        activity.record("tenant.create", actor=actor, tenant_id=tenant.id, detail=name)
        db.session.commit()
        return tenant
    except Exception:
        db.session.rollback()
        raise


def update_tenant(tenant, actor, **fields):
    name = (fields.get("name") or "").strip()
    if _name_taken(name, exclude_id=tenant.id):
        raise Conflict(_("A tenant with this name already exists."))
    for key in EDITABLE_FIELDS:
        setattr(tenant, key, fields.get(key) or None)
    tenant.name = name
    activity.record("tenant.update", actor=actor, tenant_id=tenant.id)
    db.session.commit()
    return tenant


def set_tenant_status(tenant, actor, suspended):
    """Suspend (merchant users can no longer log in) or reactivate a tenant."""
    tenant.status = TENANT_SUSPENDED if suspended else TENANT_ACTIVE
    activity.record("tenant.suspend" if suspended else "tenant.reactivate", actor=actor, tenant_id=tenant.id)
    db.session.commit()
    return tenant


def set_user_enabled(tenant, user_id, actor, enabled):
    user = db.session.get(User, user_id)
    if user is None or user.tenant_id != tenant.id:
        raise NotFound()
    user.is_enabled = enabled
    if not enabled:  # enabling again later must not bring the old sessions back
        user.end_sessions()
    activity.record("user.enable" if enabled else "user.disable", actor=actor, tenant_id=tenant.id, detail=user.email)
    db.session.commit()
    return user


def tenant_user(tenant, user_id):
    user = db.session.get(User, user_id)
    if user is None or user.tenant_id != tenant.id:
        raise NotFound()
    return user


def list_tenants(page, per_page, search=None):
    """One page of tenants with user and mini-program counts (three queries, whatever the size)."""
    query = select(Tenant).order_by(Tenant.name)
    if search:
        query = query.where(Tenant.name.contains(search.strip(), autoescape=True))
    pagination = db.paginate(query, page=page, per_page=per_page, max_per_page=200, error_out=False)
    ids = [t.id for t in pagination.items]
    users = dict(db.session.execute(
        select(User.tenant_id, func.count()).where(User.tenant_id.in_(ids)).group_by(User.tenant_id)).all())
    programs = dict(db.session.execute(
        select(MiniProgram.tenant_id, func.count()).where(MiniProgram.tenant_id.in_(ids))
        .group_by(MiniProgram.tenant_id)).all())
    rows = [{"tenant": t, "users": users.get(t.id, 0), "miniprograms": programs.get(t.id, 0)} for t in pagination.items]
    return pagination, rows


def tenant_detail(tenant):
    users = db.session.scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.email)).all()
    programs = db.session.scalars(
        select(MiniProgram).where(MiniProgram.tenant_id == tenant.id).order_by(MiniProgram.create_time.desc())
    ).all()
    return users, programs
