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


# --- upload limits: a real live server, a raw client --------------------------------------


def raw_request(live_server, head: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send `head` (request line and headers, without the blank line) and `body` on a socket;
    the answer's (status, headers, body). The server may answer before the body is sent: the
    answer is read up to its Content-Length (Django's development server then waits for the
    rest of the body it announced)."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(live_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        header_block, _, content = received.partition(b"\r\n\r\n")
        lines = header_block.decode().split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        while len(content) < int(headers["content-length"]):
            content += sock.recv(65536)
    return int(lines[0].split()[1]), headers, content


def ci_token() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from core import roles

    user = get_user_model().objects.create_user("ci-uploads", password="not-used-here-123")
    user.groups.add(Group.objects.get(name=roles.CI))
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
def test_a_request_over_the_upload_limit_is_a_413_before_its_body_is_read(live_server, settings):
    import json

    settings.ASSAY_MAX_UPLOAD_BYTES = 1_000_000
    # 300 MB announced, a few bytes sent: the answer comes from the Content-Length alone.
    head = (
        "POST /api/v1/imports/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 300000000"
    )
    status, _, content = raw_request(live_server, head, b"--b\r\n")
    assert status == 413
    answer = json.loads(content)
    assert answer["error"] == "upload_too_large"
    assert "300000000 bytes, over the limit of 1000000 bytes per request" in answer["detail"]
    # A page answers the same status, in a sentence.
    head = head.replace("/api/v1/imports/", "/admin/login/")
    status, _, content = raw_request(live_server, head, b"--b\r\n")
    assert status == 413
    assert b"over the limit of 1000000 bytes per request" in content


@pytest.mark.django_db(transaction=True)
def test_a_file_over_the_per_file_limit_is_a_413_and_nothing_is_imported(live_server, settings):
    import json

    from crashtest.harness.imports import multipart
    from results.demo import junit_document
    from results.models import TestRun

    settings.ASSAY_MAX_UPLOAD_FILE_BYTES = 20_000
    small, large = junit_document(5), junit_document(500)
    assert len(small) < 20_000 < len(large)
    body, content_type = multipart({"run": "limits"}, [("small.xml", small), ("big.xml", large)])
    head = (
        f"POST /api/v1/imports/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Authorization: Token {ci_token()}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}"
    )
    status, _, content = raw_request(live_server, head, body)
    assert status == 413, content
    answer = json.loads(content)
    assert answer["error"] == "upload_too_large"
    assert answer["detail"].startswith("big.xml: over the limit of 20000 bytes per file")
    assert not TestRun.objects.filter(name="limits").exists()
    # Under the limit, the same file goes through.
    settings.ASSAY_MAX_UPLOAD_FILE_BYTES = len(large)
    status, _, content = raw_request(live_server, head, body)
    assert status == 201, content


def test_uploaded_files_past_a_small_size_are_spooled_to_disk(rf, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    request = rf.post("/", {"file": SimpleUploadedFile("big.xml", b"x" * 5000)})
    upload = request.FILES["file"]
    assert isinstance(upload, TemporaryUploadedFile)
    assert upload.size == 5000
