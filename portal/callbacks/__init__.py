"""WeChat's push endpoints: the authorization-event URL and the message-and-event URL.

Paths are fixed because they are registered on WeChat's console:
  授权事件接收URL     {PUBLIC_BASE_URL}/wechat/auth-events
  消息与事件接收URL   {PUBLIC_BASE_URL}/wechat/events/$APPID$
"""

from flask import Blueprint

bp = Blueprint("callbacks", __name__)

from portal.callbacks import views  # noqa: E402,F401
