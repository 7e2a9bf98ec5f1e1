"""Every route of the portal, classified, so access tests cover new routes automatically.

A route that is not listed here makes `test_every_route_is_classified` fail: whoever adds a route must
say who may use it, and the parametrized access tests then check it.
"""

# Anyone may call these (they check what they need themselves).
PUBLIC = {
    "static", "dashboard.home", "accounts.login", "accounts.logout", "accounts.accept_invitation",
    "accounts.set_language", "ops.healthz", "ops.readyz",
}

# Logged-in merchants; no object id in the URL (the tenant comes from the user).
MERCHANT = {"dashboard.merchant", "authorization.index", "authorization.callback"}

# WeChat's pushes: signed by WeChat, no login, no CSRF.
CALLBACKS = {"callbacks.auth_events", "callbacks.message_events"}

# Merchant routes that take the id of a tenant-owned object: (endpoint, method, {url arg: fixture key}).
# The access test fills the args with tenant B's objects and logs in as tenant A: it must get 404.
MERCHANT_OBJECT_ROUTES = []

# Staff-only: a merchant gets 403 (every endpoint in these blueprints).
STAFF_BLUEPRINTS = {"tenants", "platform"}
