"""Login sessions that can be ended: each one records the user's session generation, when it began and
when it was last used; Flask-Login's user loader accepts it only while all three still hold.

Logout, a password change, disabling and re-inviting a user bump the generation in the database, so every
copy of every cookie of that user stops working at once. A session also ends after
`SESSION_IDLE_MINUTES` without a request and `SESSION_MAX_HOURS` after it began. Flask-Login's
remember-me cookie is never set, and a session it would restore carries none of these marks, so it is
refused too.
"""

import time

from flask import current_app, session
from flask_login import login_user, logout_user

from portal.services import accounts as accounts_service

_GENERATION, _BEGAN, _SEEN = "_session_gen", "_session_began", "_session_seen"
# A session records its last use at most this often, so that not every response rewrites the cookie.
_SEEN_RESOLUTION_SECONDS = 60


def begin(user):
    """Start a fresh session for `user` (keeping only the chosen language), as login does."""
    lang = session.get("lang")
    session.clear()  # a fresh session on login (no fixation)
    if lang:
        session["lang"] = lang
    now = int(time.time())
    session.update({_GENERATION: user.session_generation, _BEGAN: now, _SEEN: now})
    login_user(user)


def end(user):
    """End this session and every other session of `user`."""
    if user is not None and user.is_authenticated:
        accounts_service.end_sessions(user)
    logout_user()
    session.clear()


def _is_current(now):
    config = current_app.config
    began, seen = session.get(_BEGAN), session.get(_SEEN)
    if not isinstance(began, int) or not isinstance(seen, int):
        return False
    return (now - seen <= int(config["SESSION_IDLE_MINUTES"]) * 60
            and now - began <= int(config["SESSION_MAX_HOURS"]) * 3600)


def load_user(user_id):
    """Flask-Login's user loader: the session's user while the session still counts, else None."""
    now = int(time.time())
    generation = session.get(_GENERATION)
    if not isinstance(generation, int) or not _is_current(now):
        return None
    user = accounts_service.load_user(user_id, generation)
    if user is not None and now - session[_SEEN] >= _SEEN_RESOLUTION_SECONDS:
        session[_SEEN] = now
    return user
