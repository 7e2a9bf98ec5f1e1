"""WeChat's push endpoints: the authorization-event URL and the message-and-event URL.

Paths are fixed because they are registered on WeChat's console:
  授权事件接收URL     {PUBLIC_BASE_URL}/wechat/auth-events
  消息与事件接收URL   {PUBLIC_BASE_URL}/wechat/events/$APPID$

POSTs to them skip Flask's request hooks (see `views.CallbackFastPath`); the routes stay registered for
everything else.
"""

from portal.callbacks.views import CallbackFastPath, bp

__all__ = ["bp"]


@bp.record_once
def _install_fast_path(state):
    app = state.app
    app.wsgi_app = CallbackFastPath(app, app.wsgi_app, (state.url_prefix or "").rstrip("/"))
