"""The token service API's errors: each carries the HTTP status and the stable `code` callers switch on
(documented in `portal/api/openapi.json`). Messages are English: they are read by programs and their
operators' logs, not shown on the portal's pages."""

from portal.errors import PortalError


class TokenServiceError(PortalError):
    code = "error"


class InvalidApiRequest(TokenServiceError):
    status_code, code = 400, "invalid_request"


class ApiKeyRejected(TokenServiceError):
    """No key, an unknown key or a revoked key (callers are not told which)."""

    status_code, code = 401, "unauthenticated"


class OutOfScope(TokenServiceError):
    status_code, code = 403, "out_of_scope"


class UnknownApp(TokenServiceError):
    status_code, code = 404, "unknown_appid"


class NeedsReauthorization(TokenServiceError):
    status_code, code = 409, "needs_reauthorization"


class WeChatRefused(TokenServiceError):
    """WeChat answered the refresh with an error that waiting will not cure (e.g. the platform's IP is not
    on its whitelist); `message` says which, in words and with WeChat's code."""

    status_code, code = 502, "wechat_refused"


class WeChatUnavailable(TokenServiceError):
    """WeChat could not be reached (or is busy) and no valid token is held."""

    status_code, code = 503, "wechat_unavailable"


class ApiRateLimited(TokenServiceError):
    """The key made more calls than API_RATE_LIMIT allows; `retry_after` is in seconds."""

    status_code, code = 429, "rate_limited"

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after
