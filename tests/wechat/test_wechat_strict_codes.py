"""Every errcode the sandbox now emits for a refused request has a plain-language meaning in the portal."""

import pytest

from portal.wechat import errcodes, errors

REFUSALS = {41002: errors.InvalidRequest, 43001: errors.InvalidRequest, 43002: errors.InvalidRequest,
            44002: errors.InvalidRequest, 45011: errors.RateLimited, 61009: errors.InvalidRequest,
            86002: errors.ReviewError}


@pytest.mark.parametrize(("code", "cls"), sorted(REFUSALS.items()))
def test_refusal_codes_have_words_and_a_class(code, cls):
    assert code in errcodes.ERRCODES
    assert type(errors.error_for_errcode(code, "x")) is cls
