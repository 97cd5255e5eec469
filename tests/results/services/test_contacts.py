import pytest

from results.services.contacts import import_contacts, parse_contacts

pytestmark = [pytest.mark.django_db, pytest.mark.db_dependent]


def test_service_takes_text_and_names_the_source():
    lines = parse_contacts("engine,storage.,a@example.com\n", source="team.csv")
    assert [(c.line, c.project, c.prefix, c.email) for c in lines] == [
        (1, "engine", "storage.", "a@example.com")
    ]
    summary = import_contacts("engine,,b@example.com\n", source="team.csv")
    assert summary.contacts == {"engine": 1} and summary.new_projects == ["engine"]
