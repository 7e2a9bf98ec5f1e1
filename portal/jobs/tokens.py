"""Token jobs: the proactive refresher that runs every few minutes."""

from portal.services import tokens


def refresh_expiring_tokens():
    """Refresh tokens that expire soon (component + every authorized mini-program)."""
    return tokens.refresh_expiring_tokens()
