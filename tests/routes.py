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
MERCHANT = {"dashboard.merchant", "authorization.index", "authorization.start", "authorization.callback",
            "releases.settings"}

# Any logged-in user, staff or merchant, about their own account (no object id in the URL).
LOGGED_IN = {"accounts.change_password", "accounts.preferences_page", "registrations.index", "registrations.new"}

# WeChat's pushes: signed by WeChat, no login, no CSRF.
CALLBACKS = {"callbacks.auth_events", "callbacks.message_events"}

# The token service API: a Bearer key, no login, no CSRF (tests/api checks keys, scope and revocation).
API = {"api.component_access_token", "api.authorizer_access_token", "api.invalidate_authorizer_access_token",
       "api.openapi"}

class Literal:
    """A URL argument that is not an object's id (a tab's name): used as it is."""

    def __init__(self, value):
        self.value = value


# Merchant routes that take the id of a tenant-owned object: (endpoint, method, {url arg: fixture key}).
# The access test fills the args with tenant B's objects and logs in as tenant A: it must get 404.
_MP = {"mp_id": "miniprogram"}
MERCHANT_OBJECT_ROUTES = [
    ("releases.overview", "GET", _MP),
    ("releases.job_status", "GET", {"mp_id": "miniprogram", "run_id": "job_run"}),
    ("releases.code", "GET", _MP), ("releases.code", "POST", _MP),
    ("releases.qrcode", "GET", _MP),
    ("releases.domains_page", "GET", _MP), ("releases.server_domains", "POST", _MP),
    ("releases.webview_domains", "POST", _MP), ("releases.default_domains", "POST", _MP),
    ("releases.testers_page", "GET", _MP), ("releases.bind_tester", "POST", _MP),
    ("releases.unbind_tester", "POST", _MP),
    ("releases.privacy_page", "GET", _MP), ("releases.apply_privacy", "POST", _MP),
    ("releases.setup_page", "GET", _MP), ("releases.setup_name", "POST", _MP),
    ("releases.setup_avatar", "POST", _MP), ("releases.setup_introduction", "POST", _MP),
    ("releases.setup_categories", "GET", _MP), ("releases.setup_add_category", "POST", _MP),
    ("releases.setup_delete_category", "POST", _MP), ("releases.setup_interfaces", "GET", _MP),
    ("releases.setup_apply_interface", "POST", _MP), ("releases.setup_recheck", "POST", _MP),
    ("releases.audit", "GET", _MP), ("releases.audit", "POST", _MP),
    ("releases.refresh_latest_audit", "POST", _MP),
    ("releases.refresh_audit", "POST", {"mp_id": "miniprogram", "audit_id": "audit"}),
    ("releases.undo_audit", "POST", _MP), ("releases.speedup_audit", "POST", _MP),
    ("releases.release", "GET", _MP), ("releases.release", "POST", _MP),
    ("releases.revert_release", "POST", _MP), ("releases.gray_release", "POST", _MP),
    ("releases.revert_gray_release", "POST", _MP), ("releases.visit_status", "POST", _MP),
    ("releases.params_page", "GET", _MP), ("releases.params_page", "POST", _MP),
    ("releases.refresh_from_wechat", "POST", {"mp_id": "miniprogram", "tab": Literal("domains")}),
    ("registrations.show", "GET", {"row_id": "registration"}),
    ("registrations.refresh", "POST", {"row_id": "registration"}),
    ("dashboard.official_account", "GET", {"oa_id": "official_account"}),
]

# Staff-only: a merchant gets 403 (every endpoint in these blueprints).
STAFF_BLUEPRINTS = {"tenants", "platform", "releases_staff", "library", "fleet", "api_keys", "forwarding"}
