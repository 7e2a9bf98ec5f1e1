"""Access rules used by every blueprint: staff-only views and the current tenant of a request."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def staff_required(view):
    """The view is for platform staff; merchants get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def merchant_required(view):
    """The view is for merchant users (staff use the staff pages and act on behalf from there)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_merchant:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def current_tenant_id():
    """The tenant whose rows this request may see: the merchant's tenant, or None for staff (all)."""
    if not current_user.is_authenticated:
        abort(401)
    return None if current_user.is_staff else current_user.tenant_id
