"""The sandbox's in-memory world, guarded by one re-entrant lock.

``SandboxState`` owns every collection (components, accounts, authorizations, tokens, codes, templates,
audits) plus id counters, and can save itself to / load itself from a JSON state file. Service modules
mutate it while holding ``state.lock``; nobody sleeps or does network I/O while holding it.
Imports only ``model`` and the standard library.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import string
import threading

from .model import MODEL_TYPES, Account, Audit, Authorization, Code, Component, Draft, Template, TokenRecord

_COLLECTIONS = ("components", "accounts", "authorizations", "tokens", "codes", "drafts", "templates",
                "audits", "refresh_tokens", "latest_tokens", "fast_registrations")


class SandboxState:
    def __init__(self):
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.components: dict[str, Component] = {}
            self.accounts: dict[str, Account] = {}
            # key "component_appid|authorizer_appid"
            self.authorizations: dict[str, Authorization] = {}
            self.tokens: dict[str, TokenRecord] = {}
            self.codes: dict[str, Code] = {}
            # key: component appid -> {id: Draft/Template}
            self.drafts: dict[str, dict[int, Draft]] = {}
            self.templates: dict[str, dict[int, Template]] = {}
            self.audits: dict[int, Audit] = {}
            # refresh token -> authorization key (current and superseded ones)
            self.refresh_tokens: dict[str, str] = {}
            # "kind|component|appid" -> newest access token of that owner
            self.latest_tokens: dict[str, str] = {}
            # fast-registration tasks keyed "component_appid|name"
            self.fast_registrations: dict[str, dict] = {}
            self.default_audit_rule: dict = {}
            self.counters: dict[str, int] = {"draft": 0, "template": 0, "audit": 410000000}
            self.prune_threshold = 20000
            self.dirty = True

    # ---- ids -------------------------------------------------------------------------------
    def next_id(self, name: str) -> int:
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1
            return self.counters[name]

    @staticmethod
    def random_string(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(length))

    # ---- lookups ---------------------------------------------------------------------------
    @staticmethod
    def auth_key(component_appid: str, authorizer_appid: str) -> str:
        return f"{component_appid}|{authorizer_appid}"

    def authorization(self, component_appid: str, authorizer_appid: str) -> Authorization | None:
        return self.authorizations.get(self.auth_key(component_appid, authorizer_appid))

    def authorizations_of(self, component_appid: str) -> list[Authorization]:
        return [a for a in self.authorizations.values() if a.component_appid == component_appid]

    def audits_of(self, account: Account) -> list[Audit]:
        return [self.audits[i] for i in account.audit_ids if i in self.audits]

    def latest_audit(self, account: Account) -> Audit | None:
        return self.audits.get(account.audit_ids[-1]) if account.audit_ids else None

    # ---- persistence -----------------------------------------------------------------------
    def to_json(self) -> str:
        with self.lock:
            data = {name: getattr(self, name) for name in _COLLECTIONS}
            data["counters"] = self.counters
            data["default_audit_rule"] = self.default_audit_rule
            return json.dumps(data, default=_encode, ensure_ascii=False, indent=1)

    def load_json(self, text: str) -> None:
        data = json.loads(text, object_hook=_decode)
        with self.lock:
            self.clear()
            for name in _COLLECTIONS:
                value = data.get(name, {})
                if name in ("drafts", "templates"):
                    value = {comp: {int(k): v for k, v in items.items()} for comp, items in value.items()}
                if name == "audits":
                    value = {int(k): v for k, v in value.items()}
                setattr(self, name, value)
            self.counters.update(data.get("counters", {}))
            self.default_audit_rule = data.get("default_audit_rule", {})

    def save(self, path: str) -> None:
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"  # one per writer: no two share it
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
        os.replace(tmp, path)
        self.dirty = False

    def load(self, path: str) -> bool:
        if not os.path.exists(path):
            return False
        with open(path, encoding="utf-8") as fh:
            self.load_json(fh.read())
        return True


def _encode(obj):
    if dataclasses.is_dataclass(obj):
        return {"__type__": type(obj).__name__, **dataclasses.asdict(obj)}
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _decode(obj: dict):
    type_name = obj.pop("__type__", None)
    if type_name in MODEL_TYPES:
        return MODEL_TYPES[type_name](**obj)
    return obj


__all__ = ["SandboxState", "Account", "Audit", "Authorization", "Code", "Component", "Draft", "Template",
           "TokenRecord"]
