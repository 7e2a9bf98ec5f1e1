"""The control API takes only the fields each endpoint declares: a misspelled one answers 400 naming it
instead of being ignored (a clock that does not move, an audit approved by default)."""

import pytest

from tests.sandbox.helpers import committed_and_scanned, submit


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/sandbox/clock", {"advance_seconds": 60}, "advance_seconds"),
    ("/sandbox/miniprograms", {"nickname": "花店"}, "nickname"),
    ("/sandbox/faults", {"endpoint": "commit", "errcod": 85013}, "errcod"),
    ("/sandbox/faults", {"faults": [{"endpoint": "commit", "latency": 5}]}, "latency"),
    ("/sandbox/quotas", {"endpoint": "commit", "limit": 1, "app_id": "wx1"}, "app_id"),
    ("/sandbox/audits/decide", {"rule": {"outcome": "reject", "delay_seconds": 5}}, "delay_seconds"),
    ("/sandbox/reset", {"everything": True}, "everything"),
    ("/sandbox/drafts", {"pagess": ["pages/a/a"]}, "pagess"),
    ("/sandbox/templates", {"template_typ": 1}, "template_typ"),
    ("/sandbox/authorize", {"authoriser_appid": "wx1"}, "authoriser_appid"),
    ("/sandbox/components", {"component_appid": "wx1", "ip_white_list": []}, "ip_white_list"),
])
def test_control_api_names_an_unknown_field(api, path, body, field):
    answer = api.post(path, body)
    assert answer.status_code == 400 and field in answer.json()["error"]


def test_misspelled_clock_field_does_not_move_the_clock(api):
    before = api.call("/sandbox/clock", method="GET")["offset"]
    assert api.post("/sandbox/clock", {"advance_seconds": 3600}).status_code == 400
    assert api.call("/sandbox/clock", method="GET")["offset"] - before < 3600


def test_decide_with_an_unknown_key_leaves_the_audit_in_review(api, platform, mp):
    appid, access = mp
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    answer = api.post("/sandbox/audits/decide", {"appid": appid, "outcom": "reject"})
    assert answer.status_code == 400 and "outcom" in answer.json()["error"]
    status = api.call("/wxa/get_auditstatus", {"auditid": auditid}, access_token=access)["status"]
    assert status == 2  # still in review: nothing was approved behind the caller's back


def test_quotas_needs_a_limit(api):
    answer = api.post("/sandbox/quotas", {"endpoint": "commit"})
    assert answer.status_code == 400 and "limit" in answer.json()["error"]
