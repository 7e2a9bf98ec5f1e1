"""Jobs of fast registration."""

from portal.services import registrations


def complete_registration_from_push(event_id):
    """Finish a fast registration from its `notify_third_fasteregister` push (query_auth and binding)."""
    return {"registration_id": registrations.complete_from_push(event_id)}
