"""speedupaudit's own errcodes reach the merchant in words: a second speed-up of the same audit (89404)."""

from tests.releases.test_pipeline import _html, submit, upload


def test_second_speedup_of_one_audit_is_refused_in_words(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)
    submit(env)
    first = env.post("audit/speedup", follow_redirects=True)
    assert first.status_code == 200 and env.api.count("speedupaudit", env.appid, errcode=0) == 1
    again = _html(env.post("audit/speedup", follow_redirects=True))
    assert "该审核单已经加急过，无需重复申请。" in again
    assert env.api.count("speedupaudit", env.appid, errcode=89404) == 1
