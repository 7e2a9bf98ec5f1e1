"""Mini-program codes (小程序码) generated with the authorizer token.

Success is a binary image; errors come back as JSON and raise. Standard library and this package only; no
Flask or ``portal.*``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..http import Image
from .base import FamilyAPI, compact

MAX_SCENE = 32
ENV_VERSIONS = ("release", "trial", "develop")


class QRCodeAPI(FamilyAPI):
    """``client.miniprogram(appid).qrcode``."""

    def get_unlimited(self, scene: str, *, page: str | None = None, check_path: bool | None = None,
                      env_version: str | None = None, width: int | None = None, auto_color: bool | None = None,
                      line_color: Mapping[str, int] | None = None, is_hyaline: bool | None = None) -> Image:
        """Unlimited-count mini-program code image (/wxa/getwxacodeunlimit).

        :raise InvalidRequest: 40169 scene length, 41030 page not released, 40097 bad arguments.
        :raise PermissionDenied: 48001 without permission set 17. :raise RateLimited: 45009.
        :raise TokenError, TransportError, APIError.
        """
        if not scene or len(scene) > MAX_SCENE:
            raise ValueError("scene must be 1..32 characters")
        if env_version is not None and env_version not in ENV_VERSIONS:
            raise ValueError(f"env_version must be one of {ENV_VERSIONS}")
        body = compact(scene=scene, page=page, check_path=check_path, env_version=env_version, width=width,
                       auto_color=auto_color, line_color=dict(line_color) if line_color else None,
                       is_hyaline=is_hyaline)
        # generating a code changes nothing at WeChat (the same arguments give the same code): safe to repeat
        return self._post("/wxa/getwxacodeunlimit", "getwxacodeunlimit", body, binary=True, idempotent=True)
