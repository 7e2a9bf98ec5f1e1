"""Locale and time zone choice. Language: the user's saved one, else the session's, else Simplified Chinese.
Time zone: the user's, else the platform's (`DEFAULT_TIMEZONE`), else Beijing time."""

from flask import current_app, has_request_context, session
from flask_login import current_user

from portal.timeutil import DEFAULT_ZONE, is_known_zone


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    chosen = session.get("lang")
    return chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone():
    """The zone every time on a page, in its JSON and in its exports is shown in (Flask-Babel caches it for the
    request). A zone that is no longer known (tzdata dropped it) falls through to the next choice."""
    if has_request_context() and getattr(current_user, "is_authenticated", False) \
            and is_known_zone(current_user.timezone):
        return current_user.timezone
    platform = current_app.config.get("DEFAULT_TIMEZONE")
    return platform if is_known_zone(platform) else DEFAULT_ZONE
