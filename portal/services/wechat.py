"""Builds the WeChat client of an app from its configuration, with the portal's token store attached; and
what every service that calls WeChat shares: the API of a mini-program the portal may act on (`api`), and
WeChat errors turned into `WeChatFailed` with words people understand (`wechat_errors`, `human_error`).

One client per app (kept by the coordination's `here`), shared by threads: requests' Session is
thread-safe for our use and the token store does its own locking. Switching between the sandbox and real WeChat is only
configuration (`WECHAT_*_BASE` and the component credentials).
"""

import logging
import os
from contextlib import contextmanager

import requests
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.coordination import coordination
from portal.errors import Conflict, WeChatFailed
from portal.extensions import db
from portal.services import activity
from portal.services.connections import wrote_in_transaction
from portal.services.tokens import PortalTokenStore
from portal.wechat.client import WeChatClient
from portal.wechat.errors import WeChatError
from portal.wechat.settings import WeChatConfig

log = logging.getLogger("portal.wechat.calls")


def _observer(record):
    """Log every WeChat call and store it in the call log: API, appid, errcode, latency. Never a token."""
    log.info("wechat %s appid=%s errcode=%s http=%s %.0fms attempt=%d%s", record.api, record.appid or "-",
             record.errcode, record.http_status, record.latency_ms, record.attempt,
             f" error={record.error}" if record.error else "")
    from portal.services.calllog import record_call

    record_call(record)


def human_error(exc, lang=None):
    """A `WeChatFailed` carrying the plain-language text of a WeChat error in the user's language."""
    locale = lang or (get_locale().language if get_locale() else "zh")
    return WeChatFailed(explain(exc, locale), errcode=getattr(exc, "errcode", None), retryable=exc.retryable)


def explain(exc, lang="zh"):
    """The plain-language text of a WeChat error with its code, so support can look it up: "…（错误码 85009）"."""
    text = exc.human(lang)
    code = getattr(exc, "errcode", None)
    if code is None or str(code) in text:
        return text
    return f"{text}（错误码 {code}）" if str(lang).startswith("zh") else f"{text} (error {code})"


def build_client(app):
    config = WeChatConfig.from_mapping(app.config)
    session = requests.Session()
    # requests reads the proxy and CA-bundle variables of the environment again for every request (a walk
    # over all of os.environ, a third of its own time per call). Every call goes to `api_base`: they are
    # read once here, for that host (NO_PROXY included), and the session keeps them.
    session.trust_env = False
    session.proxies.update({scheme: url for scheme, url in requests.utils.get_environ_proxies(config.api_base).items()
                            if scheme != "no"})
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return WeChatClient(config, session=session, observer=_observer,
                        tokens=lambda component: PortalTokenStore(app, component))


def get_client():
    """The current app's WeChat client (created on first use)."""
    app = current_app._get_current_object()
    return coordination(app).here("wechat_client", lambda: build_client(app))


def component_appid():
    return current_app.config["WECHAT_COMPONENT_APPID"]


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
        if wrote_in_transaction(db.session):  # else a rollback only makes the page load its rows again
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
