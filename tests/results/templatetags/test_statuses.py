"""results.templatetags.statuses: every status letter explained where it appears (issue 15:
no legend for P/F/E/D/M)."""

import re

import pytest

from results.services.runs import refresh_counts
from results.templatetags.statuses import status_label
from tests import factories
from tests.results.factories import BEFORE, NOW


def test_labels_of_the_standard_and_own_letters():
    assert [status_label(s) for s in "PFEDM"] == ["pass", "fail", "error", "disabled", "missing"]
    assert status_label("k") == "a status of your own"


LABELS = {"P": "pass", "F": "fail", "E": "error", "D": "disabled", "M": "missing"}
LETTER = re.compile(r'<span class="st st-([A-Za-z])"( title="([^"]*)")?>\1</span>')


def _letters(html: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(3)) for m in LETTER.finditer(html)]


@pytest.mark.django_db
def test_every_page_with_letters_has_the_legend_and_a_title_on_each_letter(client):
    before = factories.day(BEFORE, {"a.ok": "P", "a.breaks": "P", "a.odd": "P"})
    now = factories.day(NOW, {"a.ok": "P", "a.breaks": "F", "a.gone": "E"})
    factories.result(now, "a.odd", "k")  # a site's own letter
    refresh_counts(now)
    result = now.results.get(test_name="a.breaks")
    pages = {
        "dashboard": "/",
        "run list": "/runs/",
        "run page": f"/runs/{NOW}/",
        "failures": f"/runs/{NOW}/?status=F",
        "compare": f"/runs/{NOW}/compare/{before.name}/",
        "history": f"/results/{result.pk}/",
        "search": "/search/?q=a.",
    }
    for what, url in pages.items():
        answer = client.get(url)
        assert answer.status_code == 200, (what, answer.status_code)
        html = answer.content.decode()
        assert 'class="legend status-legend"' in html, what
        legend = html[html.index('class="legend status-legend"') :]
        for letter, label in LABELS.items():
            assert f'title="{label}">{letter}</span> {label}' in legend, (what, letter)
        untitled = [s for s, title in _letters(html) if not title]
        assert untitled == [], (what, untitled)
    run_list = client.get("/runs/").content.decode()
    assert 'title="a status of your own">k</th>' in run_list  # the column of a site's letter
    assert 'title="a status of your own">k</span> a status of your own' in run_list  # legend
