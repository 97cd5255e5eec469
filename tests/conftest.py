import pytest

pytest_plugins = ["tests.postgres_plugin"]


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client(db):
    """An API client authenticated with a token of the CI role, as CI would be."""
    from core import roles

    return _role_client("ci-bot", roles.CI)


def _role_client(name: str, role: str):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tests.factories import role_user

    user = role_user(name, role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def triager_client(db):
    """An API client with the token of a triager (core.roles): group status, replay."""
    from core import roles

    return _role_client("triager", roles.TRIAGER)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def redis_server(tmp_path_factory):
    """A private redis-server (crashtest/harness/redis_server.py) for this test, stopped after
    it. Under CI=true a missing redis-server fails the test; elsewhere it is skipped."""
    import os

    from crashtest.harness.redis_server import MISSING, RedisServer, find_redis_server

    if find_redis_server() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server
