"""Reading the activity log: the timeline of one mini-program (who did what, when, how it ended)."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import Activity


def for_miniprogram(mp_id, limit=50):
    return db.session.scalars(select(Activity).where(Activity.miniprogram_id == mp_id)
                              .order_by(Activity.id.desc()).limit(limit)).all()
