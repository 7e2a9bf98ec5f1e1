"""Writing the activity log. Callers add the row inside their own transaction."""

from portal.extensions import db
from portal.models import Activity
from portal.models.activity import OUTCOME_OK


def build(action, actor_id=None, tenant_id=None, miniprogram_id=None, outcome=OUTCOME_OK, detail=None,
          on_behalf=False):
    """An activity row not yet added to any session (for callers with their own session)."""
    return Activity(action=action, actor_id=actor_id, on_behalf=on_behalf, tenant_id=tenant_id,
                    miniprogram_id=miniprogram_id, outcome=outcome, detail=(detail or "")[:4000] or None)


def record(action, actor=None, tenant_id=None, miniprogram=None, outcome=OUTCOME_OK, detail=None):
    """Add one activity row to the session (the calling service commits)."""
    on_behalf = bool(actor is not None and actor.is_staff and (tenant_id or miniprogram))
    if miniprogram is not None and tenant_id is None:
        tenant_id = miniprogram.tenant_id
    row = Activity(
        action=action,
        actor_id=getattr(actor, "id", None),
        on_behalf=on_behalf,
        tenant_id=tenant_id,
        miniprogram_id=getattr(miniprogram, "id", None),
        outcome=outcome,
        detail=(detail or "")[:4000] or None,
    )
    db.session.add(row)
    return row
