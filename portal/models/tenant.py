"""Tenants: the merchants (companies) whose mini-programs the platform manages."""

from portal.extensions import db
from portal.models.mixins import Timestamps

TENANT_ACTIVE = "active"
TENANT_SUSPENDED = "suspended"


class Tenant(Timestamps, db.Model):
    __tablename__ = "tenants"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)
    contact_name = db.Column(db.String(100))
    contact_email = db.Column(db.String(254))
    contact_phone = db.Column(db.String(40))
    notes = db.Column(db.Text)
    status = db.Column(db.String(16), nullable=False, default=TENANT_ACTIVE)

    users = db.relationship("User", back_populates="tenant", lazy="dynamic")

    @property
    def is_suspended(self):
        return self.status == TENANT_SUSPENDED

    def __repr__(self):
        return f"<Tenant {self.id} {self.name!r}>"
