"""Statistics name an authority's credential types as their registered definition does, in the
reader's language (they once showed the type's slug), and the charts stay readable."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from orgbook.verifier.stats_web import count_ticks
from tests.authorisations.scenario import LICENCE, Scenario


def _licence(counts: list[dict[str, object]]) -> dict[str, object]:
    (found,) = [c for c in counts if c.get("names") and c["label"] == LICENCE]
    return found


def test_the_api_names_registered_types(http: TestClient, scenario: Scenario) -> None:
    body = http.get("/api/v1/stats").json()
    licence = _licence(body["credentials"]["byType"])
    assert licence["names"] == {"en": LICENCE, "fr": LICENCE + " (fr)"}
    assert licence["count"] >= 1
    assert licence["value"] != LICENCE  # counted by the type's slug, named by its definition


def test_the_page_and_its_chart_name_them_in_the_readers_language(
    http: TestClient, scenario: Scenario
) -> None:
    french = LICENCE + " (fr)"
    page = http.get("/stats?lang=fr").text
    assert f'<th scope="row">{french}</th>' in page
    (src,) = re.findall(r'<img src="(/stats/charts/credential_type\.svg[^"]+)"', page)
    assert french in http.get(src.replace("&amp;", "&")).text
    assert f'<th scope="row">{french}</th>' not in http.get("/stats?lang=en").text


def test_chart_ticks_are_whole_numbers_none_twice() -> None:
    """pygal's own ticks for small counts fell between whole numbers and printed "1" twice."""
    assert count_ticks(0) == [0, 1]
    assert count_ticks(2) == [0, 1, 2]
    assert count_ticks(9) == [0, 2, 4, 6, 8, 10]
    assert count_ticks(35) == [0, 5, 10, 15, 20, 25, 30, 35]
    assert count_ticks(466) == [0, 100, 200, 300, 400, 500]
    for largest in range(1, 3000, 7):
        ticks = count_ticks(largest)
        assert ticks[0] == 0
        assert ticks[-1] >= largest
        assert len(ticks) <= 9
        assert len(set(ticks)) == len(ticks)
