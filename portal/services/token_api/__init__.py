"""The token service API's use cases: API keys (create, list, revoke, authenticate a call) and the access
tokens served to the operator's other systems from the portal's one `PortalTokenStore`, so those systems
never refresh a token themselves and never invalidate each other's.

Imports `portal.services.tokens` and `portal.services.wechat`; nothing here imports views or Flask's request.
"""

from portal.services.token_api.errors import (
    ApiKeyRejected,
    ApiRateLimited,
    InvalidApiRequest,
    NeedsReauthorization,
    OutOfScope,
    TokenServiceError,
    UnknownApp,
    WeChatRefused,
    WeChatUnavailable,
)
from portal.services.token_api.keys import (
    ApiCaller,
    authenticate,
    create_key,
    get_key,
    list_keys,
    revoke_key,
)
from portal.services.token_api.serving import (
    ServedToken,
    authorizer_token,
    component_token,
    invalidate_authorizer_token,
)
from portal.services.token_api.usage import record_use

__all__ = [
    "ApiCaller", "ApiKeyRejected", "ApiRateLimited", "InvalidApiRequest", "NeedsReauthorization", "OutOfScope", "ServedToken",
    "TokenServiceError", "UnknownApp", "WeChatRefused", "WeChatUnavailable", "authenticate", "authorizer_token",
    "component_token", "create_key", "get_key", "invalidate_authorizer_token", "list_keys", "record_use",
    "revoke_key",
]
