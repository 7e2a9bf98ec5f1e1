"""Keys of the token service API (`portal/api`): who may ask the portal for access tokens, over which tenants.

Only the SHA-256 of a key is stored (see `portal.services.token_api.keys` for why a fast hash is enough);
the key itself is shown once when it is created.
"""

from portal.extensions import db
from portal.timeutil import utcnow

api_key_tenants = db.Table(
    "api_key_tenants",
    db.Column("api_key_id", db.Integer, db.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tenant_id", db.Integer, db.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
)


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), nullable=False, unique=True)
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    key_prefix = db.Column(db.String(16), nullable=False)  # the key's first characters, to tell keys apart
    all_tenants = db.Column(db.Boolean, nullable=False, default=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(db.DateTime)
    last_used_at = db.Column(db.DateTime)
    use_count = db.Column(db.BigInteger, nullable=False, default=0, server_default="0")

    # loaded when asked for: a key for all tenants has none, and each API call reads its key
    tenants = db.relationship("Tenant", secondary=api_key_tenants, order_by="Tenant.name")

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def __repr__(self):
        return f"<ApiKey {self.id} {self.name!r}>"
