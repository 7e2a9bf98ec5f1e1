"""Column mixins shared by models: timestamps and tenant ownership with tenant-scoped lookups."""

from sqlalchemy.orm import declared_attr

from portal.errors import NotFound
from portal.extensions import db
from portal.timeutil import utcnow


class Timestamps:
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class TenantOwned:
    """Rows that belong to one tenant. Look them up with `get_for_tenant`, never by id alone."""

    @declared_attr
    def tenant_id(cls):  # noqa: N805 - SQLAlchemy declared_attr receives the class
        return db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=True, index=True)

    @classmethod
    def get_for_tenant(cls, object_id, tenant_id):
        """Return the row if it belongs to `tenant_id` (None = staff, any tenant); else raise NotFound."""
        row = db.session.get(cls, object_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFound()
        return row
