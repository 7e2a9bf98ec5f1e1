"""Official accounts (公众号) authorized to the platform: the lists and the detail page read them here.

The portal holds their authorization and tokens only (authorization.py stores them, tokens.py refreshes
them, pushes/store.py clears them on `unauthorized`); publishing articles and menus is out of its scope.
"""

import time

from sqlalchemy import func, select

from portal.errors import NotFound
from portal.extensions import db
from portal.models import OfficialAccount, Tenant
from portal.services import activity
from portal.services.platform import filter_by_tenant
from portal.services.tokens import fingerprint


def tenant_official_accounts(tenant_id):
    """The tenant's official accounts, newest first."""
    return db.session.scalars(select(OfficialAccount).where(OfficialAccount.tenant_id == tenant_id)
                              .order_by(OfficialAccount.create_time.desc(), OfficialAccount.id.desc())).all()


def get_official_account(oa_id, tenant_id):
    """The account if `tenant_id` may see it (None = staff). :raise NotFound: otherwise."""
    return OfficialAccount.get_for_tenant(oa_id, tenant_id)


def token_left(oa, now=None):
    """Seconds the stored access token has left (negative when expired), or None without one."""
    if not oa.authorizer_expires or not oa.is_authorized:
        return None
    return oa.authorizer_expires - (now or time.time())


def token_state(oa):
    """What the detail page shows of the access token: seconds left, and the fingerprint the token log lines
    carry (never the token), so staff can follow a refresh in the logs."""
    token = oa.authorizer_access_token if oa.is_authorized else None
    return {"left": token_left(oa), "fingerprint": fingerprint(token) if token else None}


def list_official_accounts(page, per_page, tenant_id=None, tenant_name=None):
    """A page of official accounts across tenants with their tenant's name (two queries)."""
    query = select(OfficialAccount, Tenant.name).outerjoin(Tenant, Tenant.id == OfficialAccount.tenant_id) \
        .order_by(OfficialAccount.id.desc())
    query = filter_by_tenant(query, tenant_id, tenant_name, model=OfficialAccount)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    now = time.time()
    return [{"oa": oa, "tenant": name, "token_left": token_left(oa, now)} for oa, name in rows], total


def transfer(oa_id, tenant_id, actor):
    """Staff give an official account to a tenant: one authorized elsewhere arrives by push without one.

    :raise NotFound: no such account.
    """
    oa = db.session.get(OfficialAccount, oa_id)
    if oa is None:
        raise NotFound()
    old = oa.tenant_id
    oa.tenant_id = tenant_id
    activity.record("authorization.transfer", actor=actor, tenant_id=tenant_id,
                    detail=f"official account {oa.appid}: tenant {old} -> {tenant_id}")
    db.session.commit()
    return oa
