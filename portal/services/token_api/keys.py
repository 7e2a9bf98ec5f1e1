"""API keys of the token service: created by staff (page or CLI) and shown once, stored as a hash, scoped to
every tenant or to a list of them, revoked with effect on the next call.

Why a plain SHA-256 and not a slow password hash: a key is 32 random bytes (256 bits), so no guessing or
dictionary attack on a leaked hash is feasible, and a fast hash lets each call find its key through the
unique index on `key_hash` instead of running a deliberately slow function on every request.

Use counts are tallied per process and written once a second (`usage`), not once a call.
"""

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.models import ApiKey, Tenant
from portal.services import activity
from portal.services.token_api.errors import ApiKeyRejected
from portal.timeutil import utcnow

KEY_PREFIX = "wxp_"  # says what the secret is when it turns up in a config file or a leak scanner
NAME_MAX = 64


@dataclass(frozen=True)
class ApiCaller:
    """The key a call was made with, as the serving functions need it."""

    id: int
    key_hash: str
    name: str
    all_tenants: bool
    tenant_ids: frozenset

    def may_reach(self, tenant_id):
        return self.all_tenants or (tenant_id is not None and tenant_id in self.tenant_ids)


def hash_key(raw_key):
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def create_key(name, actor=None, tenant_ids=(), all_tenants=False):
    """Create a key; returns (ApiKey, the key itself), the only time the key is known.

    :raise ValidationFailed: no name, or neither all tenants nor any tenant; unknown tenant ids.
    :raise Conflict: the name is taken.
    """
    name = (name or "").strip()
    tenant_ids = sorted(set(tenant_ids or ()))
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(_("Give the key a name of at most %(n)d characters.", n=NAME_MAX))
    if not all_tenants and not tenant_ids:
        raise ValidationFailed(_("Choose the tenants the key may reach, or all tenants."))
    if db.session.scalar(select(ApiKey.id).where(func.lower(ApiKey.name) == name.lower())) is not None:
        raise Conflict(_("An API key with this name already exists."))
    tenants = [] if all_tenants else db.session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids))).all()
    if len(tenants) != (0 if all_tenants else len(tenant_ids)):
        raise ValidationFailed(_("One of the chosen tenants does not exist."))
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        key = ApiKey(name=name, key_hash=hash_key(raw_key), key_prefix=raw_key[:len(KEY_PREFIX) + 6],
                     all_tenants=bool(all_tenants), tenants=list(tenants), created_by_id=getattr(actor, "id", None))
        db.session.add(key)
        activity.record("api_key.create", actor=actor, detail=name)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return key, raw_key


def list_keys():
    """Every key, live ones first, newest first."""
    return db.session.scalars(select(ApiKey).options(selectinload(ApiKey.tenants))
                              .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())).all()


def get_key(key_id):
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound()
    return key


def revoke_key(key_id, actor=None):
    """Revoke a key: its next call is refused (every call reads the key's row). Revoking twice is a no-op."""
    key = get_key(key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        activity.record("api_key.revoke", actor=actor, detail=key.name)
        db.session.commit()
    return key


def authenticate(raw_key):
    """The `ApiCaller` of a live key. :raise ApiKeyRejected: no key, an unknown key or a revoked one.

    """
    if not raw_key or not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 128:
        raise ApiKeyRejected("A valid API key is required: Authorization: Bearer <key>.")
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key)))
    if key is None or key.revoked_at is not None:
        db.session.rollback()
        raise ApiKeyRejected("The API key is unknown or revoked.")
    tenant_ids = frozenset() if key.all_tenants else frozenset(t.id for t in key.tenants)
    return ApiCaller(key.id, key.key_hash, key.name, key.all_tenants, tenant_ids)

