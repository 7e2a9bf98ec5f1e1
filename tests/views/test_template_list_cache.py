"""The template library's lists are cached (TEMPLATE_LIST_CACHE_SECONDS): viewing the upload page or the
library page again asks WeChat nothing, staff's "refresh from WeChat" asks again at once, and an expired
entry is fetched again."""

from tests.conftest import post_form


def _upload_page(env):
    response = env.get("code")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_template_list_is_cached_and_refreshed_on_demand(code_env, make_user, login_as):
    env = code_env
    assert f'value="{env.template_id}"' in _upload_page(env)
    for _ in range(3):
        _upload_page(env)
    assert env.api.count("gettemplatelist") == 1

    newer = env.template(user_version="1.1.0")
    assert f'value="{newer}"' not in _upload_page(env)  # still the kept list
    make_user(role="staff", email="ops@example.com")
    staff = env.platform.client()
    login_as("ops@example.com", test_client=staff)
    for _ in range(2):
        assert staff.get("/staff/library/").status_code == 200
    assert env.api.count("gettemplatedraftlist") == 1
    refreshed = post_form(staff, "/staff/library/sync", {}, token_from="/staff/library/")
    assert refreshed.status_code == 302
    assert env.api.count("gettemplatelist") == 2 and env.api.count("gettemplatedraftlist") == 2
    assert f'value="{newer}"' in _upload_page(env)
    assert env.api.count("gettemplatelist") == 2


def test_an_expired_template_list_is_fetched_again(code_env):
    env = code_env
    env.app.config.update(TEMPLATE_LIST_CACHE_SECONDS=0)
    for _ in range(2):
        _upload_page(env)
    assert env.api.count("gettemplatelist") == 2
