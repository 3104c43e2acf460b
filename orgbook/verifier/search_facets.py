"""The search page's filter choices: each filter's values with their counts, from the facets.

What it owns: :func:`filter_options` — for one filter, the ``(value, count)`` choices the page
lists: the values :func:`orgbook.search.facets` counted (most first), the chosen value even
when it has none, and, when the counts are not exact (more organisations than the facets'
bound), the other known values too, without a count, since the count left them out and not
the register. What it must not do: query or render (``web.py`` asks, the template renders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orgbook.search import Facets

__all__ = ["FilterOption", "filter_options"]


@dataclass(frozen=True, slots=True)
class FilterOption:
    value: str
    count: int | None  # None: not counted (the counts were bounded, or it is the chosen value)


def filter_options(
    facets: Facets | None, field: str, known: Sequence[str], chosen: str
) -> list[FilterOption]:
    """The choices of filter ``field`` (see the module docstring); without facets, ``known``."""
    if facets is None:
        return [FilterOption(value, None) for value in known]
    counted = [FilterOption(v.value, v.count) for v in getattr(facets, field)]
    seen = {option.value for option in counted}
    out = list(counted)
    if chosen and chosen not in seen:
        out.append(FilterOption(chosen, 0 if facets.exact else None))
        seen.add(chosen)
    if not facets.exact:
        out += [FilterOption(value, None) for value in known if value not in seen]
    return out
