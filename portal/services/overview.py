"""Read-only summaries for the start pages (a fixed number of queries whatever the fleet size)."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MiniProgram, Tenant, User


def platform_stats():
    """Counts for the staff start page."""
    by_state = dict(db.session.execute(
        select(MiniProgram.auth_state, func.count()).group_by(MiniProgram.auth_state)).all())
    return {
        "tenants": db.session.scalar(select(func.count()).select_from(Tenant)),
        "merchant_users": db.session.scalar(select(func.count()).select_from(User).where(User.role == "merchant")),
        "miniprograms": sum(by_state.values()),
        "by_state": by_state,
    }


def tenant_miniprograms(tenant_id):
    """The tenant's mini-programs, visible ones first, newest first."""
    return db.session.scalars(
        select(MiniProgram).where(MiniProgram.tenant_id == tenant_id)
        .order_by(MiniProgram.is_show, MiniProgram.create_time.desc())
    ).all()
