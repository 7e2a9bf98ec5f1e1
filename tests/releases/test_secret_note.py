"""The reviewers' note of a submission (version_desc: often a test account and its password) is never kept
in plain text: after a submit through the audit page its text is in no column of any table, and the
audit still reaches WeChat with it."""

from sqlalchemy import text

from portal.extensions import db
from portal.models import JobRun
from tests.releases.test_pipeline import submit, upload

NOTE = "测试账号 reviewer01 密码 Pa55-word-4-review"


def _plain_cells_holding(secret):
    """(table, column) of every stored value that contains `secret`, read raw from every table."""
    found = []
    for table in db.metadata.sorted_tables:
        result = db.session.execute(text(f"SELECT * FROM {table.name}"))
        for row in result.mappings():
            found += [(table.name, column) for column, value in row.items()
                      if isinstance(value, str | bytes) and secret in (value.decode("utf-8", "replace")
                                                                         if isinstance(value, bytes) else value)]
    return found


def test_the_reviewers_note_is_sealed_at_rest_and_still_sent_to_wechat(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)  # WeChat's privacy scan of the upload ends
    submit(env, version_desc=NOTE)
    audits = env.api.call(f"/sandbox/miniprograms/{env.appid}", method="GET")["miniprogram"]["audits"]
    assert [a["request"]["version_desc"] for a in audits] == [NOTE]
    with env.app.app_context():
        run = db.session.query(JobRun).filter_by(kind="submit_audit").one()
        assert run.state == "done", run.message
        assert run.get_params()["version_desc"] == NOTE  # readable by the job, through the data key
        assert _plain_cells_holding("Pa55-word-4-review") == []
        assert _plain_cells_holding("reviewer01") == []

