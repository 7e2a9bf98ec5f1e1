"""All models, imported here so Alembic and the app see every table."""

from portal.models.activity import Activity
from portal.models.audit import Audit
from portal.models.callback import CallbackEvent
from portal.models.component import ComponentAccount
from portal.models.miniprogram import MiniProgram
from portal.models.preauth import PreAuthSession
from portal.models.tenant import Tenant
from portal.models.user import User

__all__ = [
    "Activity", "Audit", "CallbackEvent", "ComponentAccount", "MiniProgram", "PreAuthSession", "Tenant", "User",
]
