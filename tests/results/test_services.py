"""results/services/__init__.py: the write paths other apps use, each loaded when used."""

from results import services


def test_every_name_of_the_package_resolves() -> None:
    """Each module loads when one of its names is used (lazy_loader): every name still does,
    and dir() lists them all."""
    assert [name for name in services.__all__ if getattr(services, name, None) is None] == []
    assert dir(services) == sorted(services.__all__)
