"""`WeChatClient`: the entry point that wires config, HTTP session, token store and observer together.

The portal builds one client per process (``WeChatClient(WeChatConfig.from_mapping(app.config), session,
tokens, observer)``) and reaches the APIs through ``client.component``, ``client.templates``,
``client.miniprogram(appid)`` and ``client.crypto()``. Like stripe's ``StripeClient``, nothing is read from
globals. Imports requests and this package only; no Flask, SQLAlchemy, RQ, Redis or other ``portal.*``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from .component import ComponentAPI
from .crypto import MessageCrypto
from .http import Observer, WeChatHTTP
from .miniprogram import MiniProgram
from .settings import WeChatConfig
from .templates import TemplateAPI
from .tokens import TokenStore


class WeChatClient:
    """Facade over the whole WeChat layer for one third-party platform.

    ``tokens`` is a `TokenStore`, or a function that builds one from ``client.component`` (the portal's
    store refreshes tokens through the component API; see `ComponentAPI`).
    """

    def __init__(self, config: WeChatConfig, session: requests.Session | None = None,
                 tokens: TokenStore | Callable[[ComponentAPI], TokenStore] | None = None,
                 observer: Observer | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.http = WeChatHTTP(
            session if session is not None else requests.Session(), config.api_base,
            connect_timeout=config.connect_timeout, read_timeout=config.read_timeout,
            max_retries=config.max_retries, backoff_base=config.backoff_base, backoff_max=config.backoff_max,
            observer=observer, sleep=sleep,
        )
        self.component = ComponentAPI(self.http, config, tokens)
        self.templates: TemplateAPI = self.component.templates

    @property
    def tokens(self) -> TokenStore | None:
        return self.component.tokens

    def miniprogram(self, appid: str) -> MiniProgram:
        """Authorizer-token APIs of ``appid`` (cheap to create; create one per use)."""
        if self.tokens is None:
            raise RuntimeError("miniprogram() needs a TokenStore; pass tokens= to WeChatClient")
        return MiniProgram(self.http, self.tokens, appid)

    def crypto(self) -> MessageCrypto:
        """Callback crypto for this platform (token, EncodingAESKey, component appid from the config).

        :raise InvalidAESKey: the configured key is not 43 characters.
        """
        return MessageCrypto(self.config.token, self.config.encoding_aes_key, self.config.component_appid)
