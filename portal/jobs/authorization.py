"""Jobs of the authorization flow."""

from portal.services import authorization


def complete_authorization_from_push(event_id):
    """Finish an authorization from an `authorized` push (query_auth + get_authorizer_info)."""
    return {"appid": authorization.complete_from_push(event_id)}
