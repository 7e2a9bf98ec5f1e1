"""Plain settings of the WeChat client layer: credentials, hosts, timeouts and retry bounds.

`WeChatConfig` is a frozen dataclass that the portal builds from its app config (`WeChatConfig.from_mapping`
reads the ``WECHAT_*`` keys of any mapping, e.g. ``app.config``) and hands to `WeChatClient`. Every host is
configurable so tests and development point the client at the sandbox. Standard library only; no Flask or
``portal.*`` import (the mapping is passed in, never looked up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_MP_BASE = "https://mp.weixin.qq.com"
DEFAULT_OPEN_BASE = "https://open.weixin.qq.com"

_KEYS = {
    "component_appid": "WECHAT_COMPONENT_APPID",
    "component_appsecret": "WECHAT_COMPONENT_APPSECRET",
    "token": "WECHAT_COMPONENT_TOKEN",
    "encoding_aes_key": "WECHAT_COMPONENT_AES_KEY",
    "api_base": "WECHAT_API_BASE",
    "mp_base": "WECHAT_MP_BASE",
    "open_base": "WECHAT_OPEN_BASE",
    "connect_timeout": "WECHAT_CONNECT_TIMEOUT",
    "read_timeout": "WECHAT_READ_TIMEOUT",
    "max_retries": "WECHAT_MAX_RETRIES",
    "backoff_base": "WECHAT_BACKOFF_BASE",
    "backoff_max": "WECHAT_BACKOFF_MAX",
}


@dataclass(frozen=True)
class WeChatConfig:
    """Everything the client needs besides the HTTP session and the token store."""

    component_appid: str
    component_appsecret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)  # callback token (for crypto), not an access token
    encoding_aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    mp_base: str = DEFAULT_MP_BASE
    open_base: str = DEFAULT_OPEN_BASE
    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    max_retries: int = 2  # extra attempts after a connection error or 5xx
    backoff_base: float = 0.5  # seconds; doubled per attempt, with jitter
    backoff_max: float = 8.0

    def __post_init__(self) -> None:
        for name in ("api_base", "mp_base", "open_base"):
            object.__setattr__(self, name, str(getattr(self, name)).rstrip("/"))
        if self.max_retries < 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("retry settings must not be negative")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], **overrides: Any) -> WeChatConfig:
        """Build from ``WECHAT_*`` keys (missing or empty keys keep the defaults); ``overrides`` win."""
        values: dict[str, Any] = {}
        for attr, key in _KEYS.items():
            value = mapping.get(key)
            if value not in (None, ""):
                values[attr] = value
        values.update(overrides)
        for attr in ("connect_timeout", "read_timeout", "backoff_base", "backoff_max"):
            if attr in values:
                values[attr] = float(values[attr])
        if "max_retries" in values:
            values["max_retries"] = int(values["max_retries"])
        values.setdefault("component_appid", "")
        return cls(**values)
