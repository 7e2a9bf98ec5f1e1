"""Pages that require a JSON body even with no fields in it answer 44002 "empty post data" without one:
getversioninfo and getprivacysetting (「要传空的json，不传会报错」) and get_webviewdomain_confirmfile (44002 in its
errcode table)."""

import pytest


@pytest.mark.parametrize("path", ["/wxa/getversioninfo", "/wxa/get_webviewdomain_confirmfile",
                                  "/cgi-bin/component/getprivacysetting"])
def test_no_body_is_44002_and_an_empty_object_is_fine(api, mp, path):
    _, access = mp
    bare = api.session.post(api.base + path, params={"access_token": access}, timeout=10).json()
    assert bare == {"errcode": 44002, "errmsg": "empty post data"}
    assert api.call(path, {}, access_token=access)["errcode"] == 0
