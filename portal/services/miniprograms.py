"""Shared by the code-management services: the WeChat API of a mini-program the portal may act on, and
WeChat errors turned into `WeChatFailed` with words people understand."""

from contextlib import contextmanager

from flask_babel import gettext as _

from portal.errors import Conflict
from portal.extensions import db
from portal.services import activity
from portal.services.connections import wrote_in_transaction
from portal.services.wechat import get_client, human_error  # noqa: F401 - human_error re-exported
from portal.wechat.errors import WeChatError


def api(mp):
    """`client.miniprogram(appid)` for an authorized mini-program; Conflict otherwise."""
    if not mp.is_authorized:
        raise Conflict(_("This mini-program is no longer authorized to the platform. Ask its administrator to "
                         "authorize it again."))
    return get_client().miniprogram(mp.authorizer_appid)


@contextmanager
def wechat_errors(action=None, mp=None, actor=None):
    """Translate WeChat errors for people; with `action`, log the failure in the activity log."""
    try:
        yield
    except WeChatError as exc:
        if wrote_in_transaction(db.session):
            db.session.rollback()
        failure = human_error(exc)
        if action:
            activity.record(action, actor=actor, miniprogram=mp, outcome="failed", detail=failure.message)
            db.session.commit()
        raise failure from exc


def done(action, mp, actor, detail=None):
    """Log a successful action and commit."""
    activity.record(action, actor=actor, miniprogram=mp, detail=detail)
    db.session.commit()
