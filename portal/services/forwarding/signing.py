"""What a forwarded push looks like on the wire: the JSON body made of the push's XML fields, and the
headers that let the operator's system check it came from this portal (HMAC-SHA256 with the rule's
secret over the timestamp followed by the body). Imports the standard library and `portal.wechat` only.
"""

import hashlib
import hmac
import json
import secrets
import time

from portal.wechat.callbacks import element_to_value
from portal.wechat.crypto import parse_xml

# Credentials the portal consumes itself (the platform's ticket, one-time authorization codes): never
# handed on, whoever the rule sends to.
WITHHELD_FIELDS = frozenset({"ComponentVerifyTicket", "AuthorizationCode", "PreAuthCode", "auth_code"})
TEST_EVENT = "portal_test_push"


def new_secret():
    return secrets.token_urlsafe(32)


def push_fields(xml):
    """The decrypted push's top-level XML fields (text as strings, nested elements as objects of strings),
    without the credentials in WITHHELD_FIELDS."""
    value = element_to_value(parse_xml(xml))
    fields = value if isinstance(value, dict) else {}
    return {name: field for name, field in fields.items() if name not in WITHHELD_FIELDS}


def test_fields():
    """The body of a rule's test push: shaped like a user event, with an Event no WeChat push has."""
    return {"ToUserName": "", "FromUserName": "", "CreateTime": str(int(time.time())), "MsgType": "event",
            "Event": TEST_EVENT}


def body_of(fields):
    """The exact bytes sent and signed (the same for every attempt of one delivery)."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret, timestamp, body):
    """Hex HMAC-SHA256 of `timestamp` (the header's decimal string) followed by the body bytes."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + body, hashlib.sha256).hexdigest()


def headers(secret, push_id, body, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": "application/json; charset=utf-8", "X-Portal-Timestamp": timestamp,
            "X-Portal-Signature": signature(secret, timestamp, body), "X-Portal-Push-Id": str(push_id),
            "User-Agent": "mini-program-portal-forwarding/1"}
