"""Accounts: authenticating users, staff accounts, merchant users and invitations.

Passwords are hashed with scrypt (werkzeug); invitation tokens are stored only as SHA-256 hashes.
Ending a user's sessions bumps `User.session_generation`; the web layer compares it on every request.
"""

import functools
import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.models import Tenant, User
from portal.models.user import ROLE_MERCHANT, ROLE_STAFF
from portal.services import activity
from portal.timeutil import utcnow

MIN_PASSWORD_LENGTH = 10


def _hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email):
    return (email or "").strip().lower()


def find_user_by_email(email):
    return User.query.filter(func.lower(User.email) == normalise_email(email)).one_or_none()


@functools.cache
def _dummy_password_hash():
    """A hash of the same method and cost as real ones, so checking against it takes as long."""
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def authenticate(email, password):
    """Return the user for these credentials, or None. Disabled/suspended users are refused too.

    An unknown email (or an account without a password yet) costs one scrypt check all the same, so the
    answer's timing does not tell which emails have accounts.
    """
    user = find_user_by_email(email)
    if user is None or user.password_hash is None:
        check_password_hash(_dummy_password_hash(), password or "")
        return None
    if not user.check_password(password or ""):
        return None
    if not user.is_active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def check_password_strength(password):
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(_("Password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def _new_user(email, role, tenant=None, name=None, password=None, language="zh"):
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise Conflict(_("A user with this email already exists."))
    user = User(email=email, role=role, tenant=tenant, name=name, language=language)
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    db.session.add(user)
    return user


def create_staff_user(email, password, name=None):
    """Create a platform staff account (used by the CLI)."""
    try:
        user = _new_user(email, ROLE_STAFF, name=name, password=password)
        db.session.commit()
        return user
    except Exception:
        db.session.rollback()
        raise


def create_merchant_user(tenant, email, actor, name=None, password=None, ttl_hours=72):
    """Create a merchant user with an initial password, or (password None) with an invitation.

    Returns (user, invitation_token); the token is None when a password was given. The token is shown
    once and stored only hashed.
    """
    try:
        user = _new_user(email, ROLE_MERCHANT, tenant=tenant, name=name, password=password)
        token = None
        if password is None:
            token = secrets.token_urlsafe(32)
            user.invitation_token_hash = _hash_token(token)
            user.invitation_expires_at = utcnow() + timedelta(hours=ttl_hours)
        activity.record("user.create", actor=actor, tenant_id=tenant.id, detail=user.email)
        db.session.commit()
        return user, token
    except Exception:
        db.session.rollback()
        raise


def reinvite(user, actor, ttl_hours=72):
    """Issue a fresh invitation link for a merchant user (old links stop working)."""
    token = secrets.token_urlsafe(32)
    user.invitation_token_hash = _hash_token(token)
    user.invitation_expires_at = utcnow() + timedelta(hours=ttl_hours)
    user.password_hash = None
    user.end_sessions()
    activity.record("user.reinvite", actor=actor, tenant_id=user.tenant_id, detail=user.email)
    db.session.commit()
    return token


def user_for_invitation(token):
    """The user an invitation token belongs to, if it is still valid; else NotFound."""
    if not token:
        raise NotFound(_("This invitation link is invalid or has expired."))
    user = User.query.filter_by(invitation_token_hash=_hash_token(token)).one_or_none()
    if user is None or user.invitation_expires_at is None or user.invitation_expires_at < utcnow():
        raise NotFound(_("This invitation link is invalid or has expired."))
    return user


def accept_invitation(token, password):
    user = user_for_invitation(token)
    check_password_strength(password)
    user.set_password(password)
    activity.record("user.accept_invitation", actor=user, tenant_id=user.tenant_id)
    db.session.commit()
    return user


def change_password(user, current_password, new_password):
    """Set a new password after checking the current one; every session of the user ends (the caller
    starts a fresh one for the device that asked). Raises ValidationFailed."""
    try:
        if not user.check_password(current_password or ""):
            raise ValidationFailed(_("The current password is wrong."))
        check_password_strength(new_password)
        user.set_password(new_password)
        activity.record("user.change_password", actor=user, tenant_id=user.tenant_id)
        db.session.commit()
        return user
    except Exception:
        db.session.rollback()
        raise


def end_sessions(user):
    """End every session of this user, on every device (logout does this: a copied cookie dies too)."""
    user.end_sessions()
    db.session.commit()


def set_language(user, language, languages):
    if language not in languages:
        raise ValidationFailed("unknown language")
    if user is not None:
        user.language = language
        db.session.commit()


def get_tenant(tenant_id):
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def load_user(user_id, generation):
    """The user of a session begun under `generation`, if that session still counts: the user exists,
    may log in, and has not had their sessions ended since. The session stores the id as text. The tenant
    comes in the same statement: `is_active` and every merchant page read it."""
    try:
        user = db.session.get(User, int(user_id), options=[joinedload(User.tenant)])
    except (TypeError, ValueError):
        return None
    if user is None or user.session_generation != generation or not user.is_active:
        return None
    return user
