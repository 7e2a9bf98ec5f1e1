"""Column mixins shared by models: timestamps, JSON text columns, and tenant ownership with tenant-scoped
lookups."""

import json

from sqlalchemy.orm import declared_attr

from portal.errors import NotFound
from portal.extensions import db
from portal.timeutil import utcnow


class Timestamps:
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class JsonText:
    """Text columns holding JSON (lists and maps, so a new key needs no migration)."""

    def load(self, name, default):
        try:
            value = json.loads(getattr(self, name) or "null")
        except ValueError:
            return default
        return default if value is None else value

    def store(self, name, value):
        setattr(self, name, json.dumps(value, ensure_ascii=False, sort_keys=True))


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
