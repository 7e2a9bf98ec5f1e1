"""Data classes for everything the emulated WeChat knows about.

Components (third-party platforms), accounts (mini-programs or official accounts), authorizations,
issued tokens, code versions, audits, releases and templates. Plain data with a few predicates; the
rules live in the service modules. Every field is JSON-friendly so ``state.py`` can save a state file.
Imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MINIPROGRAM = "miniprogram"
OFFICIAL_ACCOUNT = "official_account"

AUDIT_APPROVED, AUDIT_REJECTED, AUDIT_IN_REVIEW, AUDIT_WITHDRAWN, AUDIT_DELAYED = 0, 1, 2, 3, 4
DOMAIN_KINDS = ("requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain", "udpdomain", "tcpdomain")


@dataclass
class Component:
    component_appid: str
    component_appsecret: str
    token: str
    encoding_aes_key: str
    auth_event_url: str = ""
    message_url: str = ""
    name: str = ""
    authorized_domains: list = field(default_factory=list)
    server_domains: list = field(default_factory=list)
    webview_domains: list = field(default_factory=list)
    ip_whitelist: list = field(default_factory=list)
    rotate_refresh_tokens: bool = False
    submit_quota: int = 100
    speedup_quota: int = 10
    ticket_interval: float = 600.0
    template_limit: int = 200
    daily_quotas: dict = field(default_factory=dict)
    created_at: float = 0.0
    ticket: str = ""
    ticket_issued_at: float = 0.0
    previous_ticket: str = ""
    previous_ticket_valid_until: float = 0.0
    next_ticket_at: float = 0.0
    quota_month: str = ""
    submit_used: int = 0
    speedup_used: int = 0
    clear_quota_log: list = field(default_factory=list)


@dataclass
class Account:
    """A mini-program or an official account that an administrator can authorize."""

    appid: str
    nick_name: str
    account_type: str = MINIPROGRAM
    user_name: str = ""
    principal_name: str = ""
    signature: str = ""
    alias: str = ""
    head_img: str | None = ""  # "" = a generated avatar; None = no avatar set yet (submit_audit: 86002)
    categories: list = field(default_factory=list)
    func_info: list = field(default_factory=list)
    verify_type: int = 0
    service_type: int | None = None  # official accounts: 0/1 订阅号, 2 服务号; mini-programs: 0; None: that default
    visit_status: int = 1  # getvisitstatus: 1 未暂停服务 (open), 0 已暂停服务 (paused)
    domains: dict = field(default_factory=dict)
    webview_domains: dict = field(default_factory=dict)
    domain_changes: dict = field(default_factory=dict)  # {"2026-12": n}: server-domain changes per Beijing month
    testers: dict = field(default_factory=dict)
    dev: dict | None = None
    audit_ids: list = field(default_factory=list)
    release: dict | None = None
    release_history: list = field(default_factory=list)
    gray_plan: dict | None = None
    privacy: dict = field(default_factory=dict)
    undo_log: list = field(default_factory=list)
    audit_rule: dict | None = None
    next_app_version: int = 1
    location_permissions: list = field(default_factory=list)  # location APIs granted (apply_privacy_interface)
    privacy_interfaces: dict = field(default_factory=dict)  # api name -> its latest application (setup.py)
    nickname_audits: list = field(default_factory=list)  # setnickname's audits, oldest first
    media: dict = field(default_factory=dict)  # temporary media (cgi-bin/media/upload): media_id -> type, size
    head_img_changes: int = 0
    signature_changes: int = 0

    @property
    def is_miniprogram(self) -> bool:
        return self.account_type == MINIPROGRAM

    @property
    def service_type_id(self) -> int:
        """service_type_info.id; an account saved before it had a service type answers its kind's default."""
        if self.service_type is not None:
            return self.service_type
        return 0 if self.is_miniprogram else 2

    def effective_domains(self) -> dict:
        """Union of the MP's own, the platform-set and the directly-set server domains, per kind."""
        merged = {kind: [] for kind in DOMAIN_KINDS}
        for source in ("mp", "third", "direct"):
            for kind, values in self.domains.get(source, {}).items():
                merged.setdefault(kind, [])
                merged[kind].extend(v for v in values if v not in merged[kind])
        return merged

    def effective_webview_domains(self) -> list:
        merged: list = []
        for source in ("mp", "third", "direct"):
            merged.extend(v for v in self.webview_domains.get(source, []) if v not in merged)
        return merged


@dataclass
class Authorization:
    component_appid: str
    authorizer_appid: str
    refresh_token: str
    func_info: list = field(default_factory=list)
    is_authorized: bool = True
    auth_time: float = 0.0
    revoked_at: float = 0.0
    superseded_refresh_tokens: list = field(default_factory=list)


@dataclass
class TokenRecord:
    """An access token: kind "component" or "authorizer"."""

    token: str
    kind: str
    component_appid: str
    appid: str
    issued_at: float
    expires_at: float
    superseded_at: float = 0.0


@dataclass
class Code:
    """A short-lived code: pre_auth_code or authorization code."""

    code: str
    kind: str
    component_appid: str
    expires_at: float
    appid: str = ""
    used: bool = False


@dataclass
class Draft:
    draft_id: int
    user_version: str
    user_desc: str
    create_time: int
    pages: list = field(default_factory=list)
    privacy_keys: list = field(default_factory=list)
    location_apis: list = field(default_factory=list)
    source_miniprogram_appid: str = ""
    source_miniprogram: str = ""
    developer: str = ""


@dataclass
class Template:
    template_id: int
    draft_id: int
    template_type: int
    user_version: str
    user_desc: str
    create_time: int
    pages: list = field(default_factory=list)
    privacy_keys: list = field(default_factory=list)
    location_apis: list = field(default_factory=list)
    source_miniprogram_appid: str = ""
    source_miniprogram: str = ""
    developer: str = ""


@dataclass
class Audit:
    auditid: int
    appid: str
    component_appid: str
    code: dict
    submit_time: float
    decide_at: float
    status: int = AUDIT_IN_REVIEW
    reason: str = ""
    screenshot: str = ""
    rule: dict = field(default_factory=dict)
    delay_pushed: bool = False
    finished_at: float = 0.0
    released: bool = False
    request: dict = field(default_factory=dict)
    privacy_gaps: list = field(default_factory=list)  # keys the code uses that the guideline had no text for
    sped_up: bool = False  # speedupaudit accepted once (a second answers 89404)

    @property
    def is_pending(self) -> bool:
        return self.status in (AUDIT_IN_REVIEW, AUDIT_DELAYED)


MODEL_TYPES = {cls.__name__: cls for cls in (Component, Account, Authorization, TokenRecord, Code,
                                             Draft, Template, Audit)}
