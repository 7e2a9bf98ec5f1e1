"""Run-time options of one sandbox instance (CLI flags, ``create_app`` / ``start_background`` kwargs).

Times marked "sandbox seconds" follow the sandbox clock; the push timeout and retry delay are real
seconds because they concern real HTTP. Unknown option names are rejected so typos fail loudly.
Imports only the standard library.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class SandboxOptions:
    ticket_interval: float = 600.0        # sandbox seconds between component_verify_ticket pushes
    ticket_ttl: float = 12 * 3600.0       # sandbox seconds a ticket stays valid
    ticket_grace: float = 60.0            # sandbox seconds the previous ticket is still accepted
    clock_speed: float = 1.0
    state_file: str | None = None
    push_timeout: float = 5.0             # real seconds to wait for the platform's "success"
    push_retries: int = 3                 # extra attempts after the first one
    push_retry_delay: float = 1.0         # real seconds between attempts
    push_workers: int = 4
    audit_delay: float = 60.0             # sandbox seconds until an audit decides itself
    privacy_scan_seconds: float = 30.0    # sandbox seconds after commit during which 61039 answers
    token_ttl: int = 7200
    token_overlap: float = 300.0          # old tokens stay valid this long after a new one
    preauth_code_ttl: int = 1800
    auth_code_ttl: int = 3600
    default_daily_quota: int = 100000
    rotate_refresh_tokens: bool = False   # default for newly registered components
    tick_interval: float = 0.1            # real seconds between scheduler ticks
    call_history: int = 5000
    push_history: int = 2000
    quiet: bool = True
    demo: bool = False
    demo_component: dict = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: dict | None = None, **kwargs) -> SandboxOptions:
        merged = dict(values or {}, **kwargs)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(unknown)}")
        return cls(**merged)
