"""Push-forwarding jobs: one rule's deliveries, and the periodic sweep that wakes rules whose wake-up was
lost."""

from portal.services import forwarding


def deliver_rule_job(rule_id):
    """Send the rule's due deliveries, in order per appid."""
    forwarding.job_started(rule_id)
    return forwarding.run_rule(rule_id)


def sweep_forwarding():
    """Wake every enabled rule that has a due delivery."""
    return forwarding.sweep()
