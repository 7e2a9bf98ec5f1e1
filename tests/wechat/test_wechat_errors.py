"""The errcode table, human texts, and the package's import boundary."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from portal.wechat import errcodes, errors
from portal.wechat.errors import (
    AlreadyReleased,
    APIError,
    AppNotAuthorized,
    AuditInProgress,
    AuthorizationLost,
    DomainChangesSpent,
    InvalidRequest,
    LocationApiRefused,
    NoCodeSubmitted,
    PrivacyScanRunning,
    QuotaExhausted,
    RateLimited,
    RefreshTokenInvalid,
    ReviewError,
    SystemBusy,
    TokenError,
    TransportError,
    WeChatError,
    error_for_errcode,
)

# Every errcode named in the spec (wechat-api.md sections A, B and D).
SPEC_CODES = [
    -1, 40001, 40013, 40014, 40097, 40125, 40164, 41001, 41030, 42001, 45009, 47001, 48001, 48006, 61003, 61004,
    61005, 61006, 61010, 61023, 61039, 61040, 61070, 85001, 85002, 85003, 85004, 85009, 85012, 85013, 85014,
    85015, 85016, 85017, 85018, 85019, 85020, 85043, 85044, 85045, 85046, 85047, 85048, 85052, 85064, 85065,
    85077, 85085, 85086, 85087, 85301, 86000, 86001, 86002, 86004, 86074, 87013, 89019, 89020, 89021, 89029,
    89231, 89248, 89249, 89250, 89251, 89252, 89253, 89254, 9402203,
]


@pytest.mark.parametrize("code", SPEC_CODES)
def test_every_spec_code_has_text_and_a_class(code):
    zh, en = errcodes.ERRCODES[code]
    assert zh.strip() and en.strip() and zh != en
    assert code in errors.ERRCODE_CLASSES


def test_every_mapped_code_has_text():
    assert set(errors.ERRCODE_CLASSES) <= set(errcodes.ERRCODES)


def test_85009_text():
    assert errcodes.describe(85009, "zh") == "已有版本正在审核中，请等待审核结果或撤回后再提交。"
    assert errcodes.describe(85009, "en").startswith("A version is already under review.")


def test_describe_fallbacks():
    assert "123456" in errcodes.describe(123456, "en", "weird") and "weird" in errcodes.describe(123456, "en", "weird")
    assert "123456" in errcodes.describe(123456, "zh")
    assert errcodes.describe(None, "en") == errcodes.TRANSPORT[1]
    assert errcodes.describe(85009, "zh-CN") == errcodes.ERRCODES[85009][0]
    assert errcodes.describe(85009, "fr") == errcodes.ERRCODES[85009][1]


@pytest.mark.parametrize("code,cls,retryable", [
    (40001, TokenError, False), (42001, TokenError, False), (41001, TokenError, False),
    (45009, RateLimited, True), (-1, SystemBusy, True), (61003, AppNotAuthorized, False),
    (61023, RefreshTokenInvalid, False), (40097, InvalidRequest, False), (85009, AuditInProgress, False),
    (61040, LocationApiRefused, False), (87013, ReviewError, False), (9402203, ReviewError, False),
    (99999, APIError, False),
])
def test_error_for_errcode(code, cls, retryable):
    exc = error_for_errcode(code, "msg", "some_api", {"errcode": code})
    assert type(exc) is cls and isinstance(exc, APIError) and isinstance(exc, WeChatError)
    assert (exc.errcode, exc.errmsg, exc.api, exc.retryable) == (code, "msg", "some_api", retryable)
    assert exc.response == {"errcode": code}
    assert exc.human("en") and exc.human("zh")
    if retryable:
        assert exc.retry_after and exc.retry_after > 0


def test_transport_error_is_retryable_and_has_human_text():
    exc = TransportError("boom", api="x", http_status=502)
    assert exc.retryable and exc.errcode is None and exc.http_status == 502
    assert exc.human("en") == errcodes.TRANSPORT[1]


def test_nothing_else_switches_on_raw_errcodes():
    """Only errors.py/errcodes.py hold errcode numbers; other modules go through the table."""
    package = Path(errors.__file__).parent
    for path in package.rglob("*.py"):
        if path.name in ("errors.py", "errcodes.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Compare):
                for const in ast.walk(node):
                    if isinstance(const, ast.Constant) and isinstance(const.value, int):
                        assert not 40000 <= abs(const.value) < 100000, f"{path.name} compares to {const.value}"


ALLOWED_THIRD_PARTY = {"requests", "urllib3", "Crypto"}


def test_package_imports_only_stdlib_requests_and_crypto():
    package = Path(errors.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__", (
                    f"{path.relative_to(package)} imports {name}")


def test_errors_survive_pickling():
    import pickle

    api = pickle.loads(pickle.dumps(error_for_errcode(85009, "busy", "submit_audit", {"errcode": 85009})))
    assert type(api) is AuditInProgress and (api.errcode, api.errmsg, api.api) == (85009, "busy", "submit_audit")
    assert api.response == {"errcode": 85009} and "85009" in str(api)
    transport = pickle.loads(pickle.dumps(TransportError("down", api="x", http_status=503)))
    assert transport.http_status == 503 and transport.retryable and str(transport) == "down"


def test_callback_credentials_stay_out_of_reprs():
    from portal.wechat.callbacks import parse_event

    event = parse_event("<xml><AppId>wxc</AppId><CreateTime>1</CreateTime><InfoType>authorized</InfoType>"
                        "<AuthorizerAppid>wxa</AuthorizerAppid><AuthorizationCode>code-secret</AuthorizationCode>"
                        "</xml>")
    ticket = parse_event("<xml><AppId>wxc</AppId><CreateTime>1</CreateTime>"
                         "<InfoType>component_verify_ticket</InfoType>"
                         "<ComponentVerifyTicket>ticket-secret</ComponentVerifyTicket></xml>")
    assert "secret" not in repr(event) + repr(ticket)


# The codes the portal acts on: each has its own class under the family that caught it before, so
# `except ReviewError` (or AuthorizationLost, InvalidRequest) still catches it.
TYPED = [(61003, AppNotAuthorized, AuthorizationLost), (61023, RefreshTokenInvalid, AuthorizationLost),
         (86102, DomainChangesSpent, InvalidRequest), (85009, AuditInProgress, ReviewError),
         (85085, QuotaExhausted, ReviewError), (85052, AlreadyReleased, ReviewError),
         (86001, NoCodeSubmitted, ReviewError), (61039, PrivacyScanRunning, ReviewError),
         (61040, LocationApiRefused, ReviewError)]


@pytest.mark.parametrize("code,cls,family", TYPED)
def test_typed_errors_keep_their_family(code, cls, family):
    exc = error_for_errcode(code, "msg", "some_api")
    assert type(exc) is cls and isinstance(exc, family) and not exc.retryable
    assert cls.errcode == code and exc.human("en") == errcodes.ERRCODES[code][1]


def test_each_class_with_a_code_is_the_one_the_table_maps_it_to():
    own = {cls: cls.errcode for cls in set(errors.ERRCODE_CLASSES.values()) if cls.errcode is not None}
    assert own and all(errors.ERRCODE_CLASSES[code] is cls for cls, code in own.items())


def test_the_portal_raises_a_typed_error_with_its_code():
    exc = PrivacyScanRunning.from_portal("privacy scan not finished", "get_code_privacy_info")
    assert type(exc) is PrivacyScanRunning and isinstance(exc, ReviewError)
    assert (exc.errcode, exc.errmsg, exc.api, exc.response) == (61039, "privacy scan not finished",
                                                                "get_code_privacy_info", None)
    with pytest.raises(TypeError):
        ReviewError.from_portal("no single code")
