"""``{{ run.error|scrub }}``: the pages' last line of defence (core.secrets). The stored text
is scrubbed already, unless it was written before the scrubber existed: the shapes of secrets
are masked again here, without reading the known values (a page shows many errors)."""

from django import template

from core.secrets import scrub as scrub_text

register = template.Library()


@register.filter
def scrub(text: object) -> str:
    return scrub_text(str(text), known=()) if text else ""
