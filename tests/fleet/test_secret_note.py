"""A fleet release's reviewers' note (version_desc) is never kept in plain text: after a release submits
its apps for audit, the note's text is in no column of any table, WeChat got it with every submission, and
staff still read it on the release's page."""

from tests.releases.test_secret_note import NOTE, _plain_cells_holding


def test_a_fleet_releases_note_is_sealed_at_rest_and_still_sent_to_wechat(fleet_env, make_tenant):
    from portal.services import library

    env = fleet_env
    appids = env.apps(make_tenant("Tea House"), 2)
    template_id = env.template()
    with env.app.app_context():
        library.sync_templates()
    response = env.post("/staff/fleet/new", {"template_id": template_id, "user_version": "2.0.0", "mode": "all",
                                             "max_concurrency": 5, "max_failure_rate": 100, "auto_submit": "y",
                                             "auto_release": "", "version_desc": NOTE})
    assert response.status_code == 302, response.get_data(as_text=True)
    release_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    env.api.advance(31)  # the privacy scans finish
    assert set(env.settle_until(release_id, lambda s: set(s.values()) == {"in_audit"}).values()) == {"in_audit"}
    for appid in appids:
        audits = env.api.call(f"/sandbox/miniprograms/{appid}", method="GET")["miniprogram"]["audits"]
        assert [a["request"]["version_desc"] for a in audits] == [NOTE]
    with env.app.app_context():
        assert _plain_cells_holding("Pa55-word-4-review") == []
        assert _plain_cells_holding("reviewer01") == []
    assert "Pa55-word-4-review" in env.client.get(f"/staff/fleet/{release_id}").get_data(as_text=True)
