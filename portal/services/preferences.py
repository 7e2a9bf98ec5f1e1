"""A user's own display preferences: the time zone the portal shows them times in. Imports models, errors and
timeutil only."""

from flask_babel import gettext as _

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.timeutil import is_known_zone


def set_timezone(user, name):
    """Save `name` (an IANA zone such as "Asia/Shanghai") as the zone `user` reads times in; an empty name
    returns them to the platform's zone.

    :raise ValidationFailed: the name is not a zone the portal knows.
    """
    name = (name or "").strip()
    if name and not is_known_zone(name):
        raise ValidationFailed(_("Unknown time zone: %(name)s", name=name))
    user.timezone = name or None
    db.session.commit()
    return user
