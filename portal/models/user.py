"""Users of the portal: platform staff, and merchant users who belong to one tenant."""

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models.mixins import Timestamps

ROLE_STAFF = "staff"
ROLE_MERCHANT = "merchant"
ROLES = (ROLE_STAFF, ROLE_MERCHANT)


class User(UserMixin, Timestamps, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        db.CheckConstraint("role IN ('staff', 'merchant')", name="role_known"),
        db.CheckConstraint("role = 'staff' OR tenant_id IS NOT NULL", name="merchant_has_tenant"),
    )

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(100))
    password_hash = db.Column(db.String(255))  # NULL until an invited user sets a password
    role = db.Column(db.String(16), nullable=False)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), index=True)
    language = db.Column(db.String(8), nullable=False, default="zh")
    is_enabled = db.Column(db.Boolean, nullable=False, default=True)
    invitation_token_hash = db.Column(db.String(64), unique=True)
    invitation_expires_at = db.Column(db.DateTime)
    last_login_at = db.Column(db.DateTime)
    # Every session carries the generation it began under; bumping it ends them all, on every device.
    session_generation = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    tenant = db.relationship("Tenant", back_populates="users")

    @property
    def is_staff(self):
        return self.role == ROLE_STAFF

    @property
    def is_merchant(self):
        return self.role == ROLE_MERCHANT

    @property
    def is_active(self):
        """Flask-Login: disabled users and users of suspended tenants cannot stay logged in."""
        if not self.is_enabled or self.password_hash is None:
            return False
        return not (self.is_merchant and self.tenant is not None and self.tenant.is_suspended)

    @property
    def has_pending_invitation(self):
        return self.password_hash is None and self.invitation_token_hash is not None

    def end_sessions(self):
        """Sessions that began before this no longer log anyone in (the caller commits)."""
        self.session_generation = (self.session_generation or 0) + 1

    def set_password(self, password):
        """A new password ends every session that knew the old one."""
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.invitation_token_hash = None
        self.invitation_expires_at = None
        self.end_sessions()

    def check_password(self, password):
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.id} {self.email} {self.role}>"
