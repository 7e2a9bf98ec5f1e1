"""Fixtures of the token service API tests: keys made through the service, and an HTTP caller."""

import pytest


@pytest.fixture
def make_key(platform):
    """Create a key (all tenants unless tenant ids are given); returns the key itself."""

    def factory(name="shop-backend", tenant_ids=()):
        from portal.services import token_api

        with platform.app.app_context():
            return token_api.create_key(name, tenant_ids=tenant_ids, all_tenants=not tenant_ids)[1]

    return factory


def bearer(key):
    return {"Authorization": f"Bearer {key}"}
