"""Status letters explained wherever they appear: a title on each letter and a legend."""

from django import template

from results.models import STATUS_LABELS, STATUS_ORDER

register = template.Library()


@register.filter
def status_label(letter: str) -> str:
    """P -> "pass"; a site's own lower-case letter is named as such."""
    if letter in STATUS_LABELS:
        return STATUS_LABELS[letter]
    if len(letter) == 1 and letter.islower():
        return "a status of your own"
    return letter


@register.inclusion_tag("results/_legend.html")
def status_legend(letters=()):
    """The five standard letters, and the site's own letters among `letters` (those shown)."""
    own = sorted({s for s in letters or () if len(s) == 1 and s.islower()})
    return {"letters": [(s, status_label(s)) for s in [*STATUS_ORDER, *own]]}
