"""Token jobs: the proactive refresher that runs every few minutes, and the daily reconciliation with
WeChat's authorizer list."""

from portal.services import authorizers, tokens
from portal.services.wechat import get_client


def refresh_expiring_tokens():
    """Refresh tokens that expire soon (component + every authorized mini-program)."""
    return tokens.refresh_expiring_tokens(get_client().tokens)


def sync_authorizers(sync_id=None):
    """Reconcile with api_get_authorizer_list: refresh tokens, apps no longer listed, apps the portal lacks,
    changed permission sets. `sync_id`: the run staff started; none for the nightly one."""
    return authorizers.sync_authorizers(sync_id)
