"""Reading the activity log: the timeline of one mini-program (who did what, when, how it ended)."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Activity


def for_miniprogram(mp_id, limit=50, tenant_id=None):
    """The app's latest activity, newest first. With `tenant_id` (what a merchant may see), only what was
    done while the app was that tenant's: its timeline from before staff moved it stays with its old tenant."""
    # each entry shows who did it: the users come in the same statement
    query = select(Activity).options(joinedload(Activity.actor)).where(Activity.miniprogram_id == mp_id)
    if tenant_id is not None:
        query = query.where(Activity.tenant_id == tenant_id)
    return db.session.scalars(query.order_by(Activity.id.desc()).limit(limit)).all()
