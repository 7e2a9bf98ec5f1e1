"""Rate limits on the merchant actions that call WeChat, so that no one merchant spends the WeChat API
quota every tenant shares (the platform's component calls and each mini-program's daily limits).

`wechat_action` puts a view under two budgets of MERCHANT_WECHAT_RATE_LIMIT, each shared by every
decorated view: one per user (everything one login does, whichever mini-program) and one per
mini-program (whoever acts on it). The mini-program's key holds the actor's tenant as well, so a merchant
who posts to another tenant's mini-program (a 404 for them) spends a budget of their own, never the
owner's. Over a budget the view answers 429, and the error page says which budget ran out in words
(`error_pages`). The counts live in the limiter's storage (Redis when configured), so every process
shares them. A view module imports only `wechat_action`.
"""

from flask import current_app, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.extensions import limiter

USER_SCOPE = "wechat-actions:user"
APP_SCOPE = "wechat-actions:miniprogram"


def _limit():
    return current_app.config["MERCHANT_WECHAT_RATE_LIMIT"]


def _user_key():
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"address:{get_remote_address()}"  # sent to the login page next; counted all the same


def _app_key():
    tenant = current_user.tenant_id if current_user.is_authenticated else None
    return f"miniprogram:{(request.view_args or {}).get('mp_id')}:tenant:{tenant or 'staff'}"


def _user_message():
    return _("You have asked WeChat for too much in a short time. WeChat allows the platform only so many "
             "requests, shared by every merchant. Please wait a minute and try again.")


def _app_message():
    return _("This mini-program has had too many WeChat requests in a short time. WeChat allows only so many "
             "per mini-program. Please wait a minute and try again.")


def wechat_action(methods=("POST",), per_miniprogram=True):
    """Decorate a view (below `route`) that calls WeChat on `methods`: per-user and, for views of one
    mini-program (an `mp_id` in the URL), per-mini-program budgets."""
    def decorate(view):
        if per_miniprogram:
            view = limiter.shared_limit(_limit, APP_SCOPE, key_func=_app_key, methods=list(methods),
                                        error_message=_app_message)(view)
        return limiter.shared_limit(_limit, USER_SCOPE, key_func=_user_key, methods=list(methods),
                                    error_message=_user_message)(view)
    return decorate


def is_wechat_action_limit(exc):
    """Whether a 429 (`RateLimitExceeded`) came from one of these budgets; its description is the message."""
    return getattr(getattr(exc, "limit", None), "scope", None) in (USER_SCOPE, APP_SCOPE)
