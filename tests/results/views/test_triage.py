"""The triage pages: the panel's form on a test's page, its writes, the /triage/ list, and
muted and passed-on-retry results shown as such in the lists."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core import roles
from results.models import TestResult, Triage, TriageComment
from results.services.runs import refresh_counts
from tests import factories

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def triager(client):
    client.force_login(factories.role_user("tina", roles.TRIAGER))
    return client


def _mute_by_form(client, result, **extra):
    data = {
        "project": result.project.name, "test_name": result.test_name,
        "defect_type": "infrastructure",
        "ticket": "https://bugs.example.org/7", "muted": "on", "comment": "runner out of disk",
        "next": f"/results/{result.pk}/", **extra,
    }  # fmt: skip
    return client.post("/triage/set/", data)


def test_a_triager_mutes_a_test_from_its_page(triager, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    page = triager.get(f"/results/{result.pk}/").content.decode()
    assert 'action="/triage/set/"' in page and "Not triaged." in page
    answer = _mute_by_form(triager, result)
    assert answer.status_code == 302 and answer["Location"] == f"/results/{result.pk}/"
    triage = Triage.objects.get()
    assert (triage.project, triage.test_name, triage.host, triage.context) == (
        result.project, "pkg.a.test_2", "", ""
    )  # fmt: skip
    assert triage.defect_type == "infrastructure" and triage.is_muted()
    assert triage.created_by == "tina"
    assert TriageComment.objects.get().author == "tina"
    page = triager.get(f"/results/{result.pk}/").content.decode()
    assert 'class="tag mute"' in page and "runner out of disk" in page
    assert "https://bugs.example.org/7" in page and "until unmuted" in page
    # The run page: the count keeps its raw value and says what is muted; the leaf a badge.
    run_page = triager.get("/runs/daily_2026-11-01/").content.decode()
    assert "fail 1 <span" in run_page and "(1 muted)" in run_page
    assert run_page.count('<span class="tag mute">muted</span>') == 0  # groups, no leaves
    level = triager.get("/runs/daily_2026-11-01/?prefix=pkg.a.").content.decode()
    assert level.count('<span class="tag mute">muted</span>') == 1


def test_the_form_narrows_to_a_host_and_sets_an_expiry(triager, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    _mute_by_form(triager, result, host="h1", muted_until="2020-01-01T00:00")
    triage = Triage.objects.get()
    assert triage.host == "h1" and triage.context == ""
    assert triage.muted and not triage.is_muted()  # expired: counts again
    page = triager.get(f"/results/{result.pk}/").content.decode()
    assert 'class="tag mute"' not in page.split("<h1", 1)[1].split("</h1>", 1)[0]
    assert "Also triaged for host h1" in page


def test_bad_form_input_is_said_and_writes_nothing(triager, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    answer = _mute_by_form(triager, result, ticket="not a url")
    assert answer.status_code == 302 and not Triage.objects.exists()
    page = triager.get(answer["Location"]).content.decode()
    assert "is not an http(s) URL" in page
    _mute_by_form(triager, result, muted_until="soon")
    assert not Triage.objects.exists()


def test_others_read_the_triage_but_get_no_form_and_may_not_post(client, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    triage = Triage.objects.create(
        project=result.project, test_name=result.test_name, muted=True, created_by="t",
        updated_by="t", ticket="https://bugs.example.org/1",
    )  # fmt: skip
    page = client.get(f"/results/{result.pk}/").content.decode()
    assert "https://bugs.example.org/1" in page and 'action="/triage/set/"' not in page
    assert _mute_by_form(client, result).status_code == 403  # anonymous
    assert client.post(f"/triage/{triage.pk}/comments/", {"text": "x"}).status_code == 403
    client.force_login(factories.role_user("ci", roles.CI))
    assert _mute_by_form(client, result, ticket="").status_code == 403
    assert Triage.objects.get().ticket == "https://bugs.example.org/1"


def test_a_triager_comments(triager, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    _mute_by_form(triager, result)
    triage = Triage.objects.get()
    answer = triager.post(
        f"/triage/{triage.pk}/comments/", {"text": "fixed in 2.1", "next": "/triage/?all=1"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/triage/?all=1"
    assert list(triage.comments.values_list("text", flat=True)) == [
        "runner out of disk",
        "fixed in 2.1",
    ]


def test_the_triage_page_lists_active_mutes_and_on_request_every_triage(client, day):
    proj = factories.project("proj")
    make = dict(created_by="t", updated_by="t", project=proj)
    Triage.objects.create(test_name="t.muted", muted=True, defect_type="product_bug", **make)
    Triage.objects.create(
        test_name="t.expired", muted=True, muted_until=timezone.now() - timedelta(hours=1), **make
    )
    Triage.objects.create(test_name="t.noted", defect_type="test_bug", **make)
    Triage.objects.create(
        fingerprint="0123456789abcdef", muted=True, created_by="t", updated_by="t"
    )
    page = client.get("/triage/").content.decode()
    assert "t.muted" in page and "cluster 0123456789abcdef" in page
    assert "t.expired" not in page and "t.noted" not in page
    every = client.get("/triage/?all=1").content.decode()
    assert all(name in every for name in ["t.muted", "t.expired", "t.noted"])
    bugs = client.get("/triage/?all=1&defect_type=product_bug").content.decode()
    assert "t.muted" in bugs and "t.noted" not in bugs
    assert client.get("/triage/?defect_type=nonsense&page=x").status_code == 200


def test_a_flaky_test_muted_is_left_off_the_flaky_page(client):
    from results.services.flaky import refresh_flaky
    from tests.results.factories import flaky_days

    flaky_days({"t.flip": "PFPFP", "t.flop": "FPFPF"})
    refresh_flaky("daily", k=2)
    assert "t.flip" in client.get("/flaky/").content.decode()
    Triage.objects.create(
        project=factories.project("proj"), test_name="t.flip", muted=True, created_by="t",
        updated_by="t",
    )  # fmt: skip
    page = client.get("/flaky/").content.decode()
    assert "t.flip" not in page and "t.flop" in page


def test_a_result_that_passed_on_retry_says_so(client):
    run = factories.run("r")
    flaky = factories.result(run, "pkg.test_flaky", "P")
    TestResult.objects.filter(pk=flaky.pk).update(retries=2)
    factories.result(run, "pkg.test_steady", "P")
    refresh_counts(run)
    page = client.get(f"/results/{flaky.pk}/").content.decode()
    assert "passed on retry" in page and "after 2 failed attempts" in page
    listed = client.get("/runs/r/?status=P").content.decode()
    assert listed.count("passed on retry</span>") == 1


# --- a triage's page, and deleting a triage ------------------------------------------------


def test_a_triager_deletes_a_triage_from_its_page_after_ticking_the_box(triager, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    _mute_by_form(triager, result)
    triage = Triage.objects.get()
    listed = triager.get("/triage/").content.decode()
    assert f'href="/triage/{triage.pk}/"' in listed
    page = triager.get(f"/triage/{triage.pk}/").content.decode()
    assert "runner out of disk" in page and 'action="/triage/set/"' in page
    assert f'action="/triage/{triage.pk}/delete/"' in page
    assert "delete this triage and its 1 comment (unmutes it)" in page
    unticked = triager.post(f"/triage/{triage.pk}/delete/", {"next": f"/triage/{triage.pk}/"})
    assert unticked.status_code == 302 and unticked["Location"] == f"/triage/{triage.pk}/"
    assert Triage.objects.exists()
    assert "Tick the box to confirm" in triager.get(unticked["Location"]).content.decode()
    answer = triager.post(f"/triage/{triage.pk}/delete/", {"confirm": "yes"})
    assert answer.status_code == 302 and answer["Location"] == "/triage/"
    assert not Triage.objects.exists() and not TriageComment.objects.exists()
    said = triager.get("/triage/").content.decode()
    assert "Triage of pkg.a.test_2 deleted with its 1 comment; it is no longer muted." in said
    assert "(1 muted)" not in triager.get("/runs/daily_2026-11-01/").content.decode()
    assert triager.get(f"/triage/{triage.pk}/").status_code == 404


def test_a_cluster_triage_has_its_page_and_delete_form_on_the_cluster_page(triager, day):
    triage = Triage.objects.create(
        fingerprint="0123456789abcdef", defect_type="product_bug", created_by="t", updated_by="t"
    )
    page = triager.get(f"/triage/{triage.pk}/").content.decode()
    assert 'href="/clusters/0123456789abcdef/"' in page and "Triage of cluster" in page
    assert 'name="fingerprint" value="0123456789abcdef"' in page  # its form sets this triage
    assert f'action="/triage/{triage.pk}/delete/"' in page
    answer = triager.post(f"/triage/{triage.pk}/delete/", {"confirm": "yes"}, follow=True)
    assert "Triage of cluster 0123456789abcdef deleted." in answer.content.decode()


def test_only_a_triager_may_delete_a_triage_and_only_by_post(client, django_user_model, day):
    result = TestResult.objects.get(test_name="pkg.a.test_2")
    triage = Triage.objects.create(
        project=result.project, test_name=result.test_name, muted=True, created_by="t",
        updated_by="t",
    )  # fmt: skip
    url = f"/triage/{triage.pk}/delete/"
    page = client.get(f"/triage/{triage.pk}/").content.decode()
    assert "pkg.a.test_2" in page and url not in page  # readers read, with no forms
    assert client.post(url, {"confirm": "yes"}).status_code == 403  # anonymous
    client.force_login(django_user_model.objects.create_user("reader", password="pw-unused-1"))
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    client.force_login(factories.role_user("ci", roles.CI))
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    assert Triage.objects.filter(pk=triage.pk).exists()
    client.force_login(factories.role_user("tina", roles.TRIAGER))
    assert client.get(url).status_code == 405
    assert Triage.objects.filter(pk=triage.pk).exists()
    assert client.post("/triage/999999/delete/", {"confirm": "yes"}).status_code == 404


def test_deleting_needs_the_csrf_token(day):
    from django.test import Client

    result = TestResult.objects.get(test_name="pkg.a.test_2")
    triage = Triage.objects.create(
        project=result.project, test_name=result.test_name, created_by="t", updated_by="t"
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(factories.role_user("tina", roles.TRIAGER))
    assert browser.post(f"/triage/{triage.pk}/delete/", {"confirm": "yes"}).status_code == 403
    assert Triage.objects.filter(pk=triage.pk).exists()
    page = browser.get(f"/triage/{triage.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    answer = browser.post(
        f"/triage/{triage.pk}/delete/", {"confirm": "yes", "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302 and not Triage.objects.exists()
