import pytest


@pytest.mark.django_db
@pytest.mark.db_dependent
@pytest.mark.parametrize(
    "url",
    [
        "/?prefix=%00",
        "/runs/r1/?prefix=a%00",
        "/api/v1/runs/r1/results/?project=%00",
        "/api/v1/projects/a%00b/",
        "/api/v1/expected/?run_class=%00",
    ],
)
def test_nul_characters_in_addresses_are_400(client, url):
    resp = client.get(url)
    assert resp.status_code == 400
    if url.startswith("/api/"):
        assert resp.json() == {
            "error": "bad_request",
            "detail": "The address or a query parameter contains a NUL character.",
        }
