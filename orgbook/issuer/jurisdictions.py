"""Free-text jurisdictions to ISO 3166 codes, where that can be done without guessing wildly.

Registries write home jurisdictions however their clerks typed them: ``STATE OF DELAWARE, COUNTY
OF NEW CASTLE,``, ``DELEWARE``, ``US, LA``, ``ZM``, ``ALBERTA, CANADA``, even a street address.
:func:`normalise_jurisdiction` maps such text to an ISO 3166-1 alpha-2 country (``ZM``) or an ISO
3166-2 subdivision (``US-DE``, ``CA-BC``) and answers ``None`` when it cannot tell. It never
raises: the caller keeps the registry's text either way.

Decisions, in the order they are applied:

1. Text containing a digit (``P.O. BOX 2211``, ``30TH FLR``, ``19940912``) or ``C/O`` is an
   address or a date, not a jurisdiction: ``None``.
2. A bare two-letter code is a Canadian province or territory first (``BC``, ``ON``, ``SK``,
   ``PE``, ``YT``, ``NU``, ``NL`` and the older ``NF`` and ``PQ``: here ``PE`` is not Peru nor
   ``NL`` the Netherlands), then an ISO 3166-1 country (``ZM``, ``DE``, ``IN``). US state codes
   count only beside a US hint (``US, LA``, ``KING COUNTY, WA, USA``).
3. Names (English and French, accents ignored) of provinces, states and countries are found as
   the longest run of words that matches (``NEW SOUTH WALES`` before ``WALES``); a subdivision
   wins over a country (``WASHINGTON, USA`` → ``US-WA``). Ambiguous names go to the reading a
   Canadian registry most likely means (``GEORGIA`` → ``US-GA``).
4. In a comma-separated part where nothing matched exactly, misspellings (``DELEWARE``,
   ``WASHINTON``, ``ALBERA``) are corrected with rapidfuzz at a high threshold, on runs of five
   letters or more; only the best-scoring correction counts.

Pure: no I/O, tables built on first use.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from rapidfuzz import fuzz, process

__all__ = [
    "CANADIAN_SUBDIVISIONS",
    "COUNTRY_CODES",
    "US_SUBDIVISIONS",
    "country_of",
    "is_country_code",
    "normalise_jurisdiction",
]

FUZZY_THRESHOLD = 85.0
"""rapidfuzz ``ratio`` a misspelling must reach (``DELEWARE``/``DELAWARE`` is 87.5)."""

_ISO_3166_1 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: frozenset[str] = frozenset(_ISO_3166_1.split())
"""ISO 3166-1 alpha-2, officially assigned codes (249)."""

CANADIAN_SUBDIVISIONS: dict[str, tuple[str, ...]] = {
    "AB": ("ALBERTA",),
    "BC": ("BRITISH COLUMBIA", "COLOMBIE BRITANNIQUE"),
    "MB": ("MANITOBA",),
    "NB": ("NEW BRUNSWICK", "NOUVEAU BRUNSWICK"),
    "NL": (
        "NEWFOUNDLAND AND LABRADOR",
        "NEWFOUNDLAND",
        "LABRADOR",
        "TERRE NEUVE ET LABRADOR",
        "TERRE NEUVE",
    ),
    "NS": ("NOVA SCOTIA", "NOUVELLE ECOSSE"),
    "NT": (
        "NORTHWEST TERRITORIES",
        "NORTH WEST TERRITORIES",
        "NORTHWEST TERRITORY",
        "TERRITOIRES DU NORD OUEST",
    ),
    "NU": ("NUNAVUT",),
    "ON": ("ONTARIO",),
    "PE": ("PRINCE EDWARD ISLAND", "ILE DU PRINCE EDOUARD", "PEI"),
    "QC": ("QUEBEC", "PROVINCE DE QUEBEC"),
    "SK": ("SASKATCHEWAN",),
    "YT": ("YUKON", "YUKON TERRITORY"),
}
"""ISO 3166-2:CA codes and the names registries use for them (accents folded)."""

_CANADIAN_CODE_ALIASES = {"NF": "NL", "PQ": "QC", "YK": "YT", "PEI": "PE"}

US_SUBDIVISIONS: dict[str, tuple[str, ...]] = {
    "AL": ("ALABAMA",),
    "AK": ("ALASKA",),
    "AZ": ("ARIZONA",),
    "AR": ("ARKANSAS",),
    "CA": ("CALIFORNIA",),
    "CO": ("COLORADO",),
    "CT": ("CONNECTICUT",),
    "DE": ("DELAWARE",),
    "DC": ("DISTRICT OF COLUMBIA", "WASHINGTON DC"),
    "FL": ("FLORIDA",),
    "GA": ("GEORGIA",),
    "HI": ("HAWAII",),
    "ID": ("IDAHO",),
    "IL": ("ILLINOIS",),
    "IN": ("INDIANA",),
    "IA": ("IOWA",),
    "KS": ("KANSAS",),
    "KY": ("KENTUCKY",),
    "LA": ("LOUISIANA",),
    "ME": ("MAINE",),
    "MD": ("MARYLAND",),
    "MA": ("MASSACHUSETTS",),
    "MI": ("MICHIGAN",),
    "MN": ("MINNESOTA",),
    "MS": ("MISSISSIPPI",),
    "MO": ("MISSOURI",),
    "MT": ("MONTANA",),
    "NE": ("NEBRASKA",),
    "NV": ("NEVADA",),
    "NH": ("NEW HAMPSHIRE",),
    "NJ": ("NEW JERSEY",),
    "NM": ("NEW MEXICO",),
    "NY": ("NEW YORK", "NEW YORK STATE"),
    "NC": ("NORTH CAROLINA",),
    "ND": ("NORTH DAKOTA",),
    "OH": ("OHIO",),
    "OK": ("OKLAHOMA",),
    "OR": ("OREGON",),
    "PA": ("PENNSYLVANIA",),
    "RI": ("RHODE ISLAND",),
    "SC": ("SOUTH CAROLINA",),
    "SD": ("SOUTH DAKOTA", "SO DAKOTA"),
    "TN": ("TENNESSEE",),
    "TX": ("TEXAS",),
    "UT": ("UTAH",),
    "VT": ("VERMONT",),
    "VA": ("VIRGINIA",),
    "WA": ("WASHINGTON", "WASHINGTON STATE"),
    "WV": ("WEST VIRGINIA",),
    "WI": ("WISCONSIN",),
    "WY": ("WYOMING",),
}
"""ISO 3166-2:US codes (50 states and DC) and their names."""

_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "US": (
        "US",
        "USA",
        "UNITED STATES",
        "UNITED STATES OF AMERICA",
        "US OF A",
        "ETATS UNIS",
        "SUA",
        "ISA",
    ),
    "CA": (
        "CANADA",
        "CANADA FEDERAL",
        "FEDERAL",
        "FEDRAL",
        "FD",
        "CBCA",
        "FEDERAL CANADA",
    ),
    "GB": (
        "UNITED KINGDOM",
        "UK",
        "GREAT BRITAIN",
        "ENGLAND",
        "SCOTLAND",
        "WALES",
        "NORTHERN IRELAND",
        "ENGLAND AND WALES",
        "UNITED KINGDOM OF GREAT BRITAIN",
        "ROYAUME UNI",
    ),
    "DE": ("GERMANY", "WEST GERMANY", "FEDERAL REPUBLIC OF GERMANY", "ALLEMAGNE"),
    "FR": ("FRANCE",),
    "CN": ("CHINA", "PR CHINA", "PRC", "PEOPLES REPUBLIC OF CHINA", "PEOPLE S REPUBLIC OF CHINA"),
    "TW": ("TAIWAN", "REPUBLIC OF CHINA"),
    "HK": ("HONG KONG",),
    "JP": ("JAPAN", "JAPON"),
    "KR": ("KOREA", "SOUTH KOREA", "REPUBLIC OF KOREA"),
    "IN": ("INDIA", "REPUBLIC OF INDIA", "INDE"),
    "SG": ("SINGAPORE",),
    "MY": ("MALAYSIA",),
    "PH": ("PHILIPPINES", "REPUBLIC OF THE PHILIPPINES"),
    "TH": ("THAILAND",),
    "VN": ("VIETNAM", "VIET NAM"),
    "PK": ("PAKISTAN",),
    "ID": ("INDONESIA",),
    "AU": ("AUSTRALIA", "AUSTRALIAN CAPITAL TERRITORY", "QUEENSLAND", "VICTORIA AUSTRALIA"),
    "AU-NSW": ("NEW SOUTH WALES",),
    "NZ": ("NEW ZEALAND",),
    "FJ": ("FIJI",),
    "VU": ("VANUATU",),
    "MH": ("MARSHALL ISLANDS",),
    "MX": ("MEXICO", "MEXIQUE"),
    "BZ": ("BELIZE",),
    "PA": ("PANAMA", "REPUBLIC OF PANAMA"),
    "CR": ("COSTA RICA",),
    "BR": ("BRAZIL", "BRESIL"),
    "AR": ("ARGENTINA",),
    "CL": ("CHILE",),
    "PE": ("PERU",),
    "CO": ("COLOMBIA",),
    "UY": ("URUGUAY",),
    "VE": ("VENEZUELA",),
    "EC": ("ECUADOR",),
    "BS": ("BAHAMAS", "THE BAHAMAS", "COMMONWEALTH OF THE BAHAMAS"),
    "BB": ("BARBADOS",),
    "BM": ("BERMUDA",),
    "KY": ("CAYMAN ISLANDS", "GRAND CAYMAN"),
    "VG": ("BRITISH VIRGIN ISLANDS", "BRITISH VIRGIN ISLAND", "TORTOLA", "BVI"),
    "KN": ("SAINT KITTS AND NEVIS", "ST KITTS AND NEVIS", "NEVIS", "ISLAND OF NEVIS"),
    "TC": ("TURKS AND CAICOS ISLANDS", "TURKS AND CAICOS"),
    "VC": ("SAINT VINCENT AND THE GRENADINES", "ST VINCENT AND THE GRENADINES"),
    "AI": ("ANGUILLA",),
    "AG": ("ANTIGUA AND BARBUDA", "ANTIGUA"),
    "DM": ("DOMINICA",),
    "DO": ("DOMINICAN REPUBLIC",),
    "JM": ("JAMAICA",),
    "TT": ("TRINIDAD AND TOBAGO", "TRINIDAD"),
    "PR": ("PUERTO RICO",),
    "IE": ("IRELAND", "REPUBLIC OF IRELAND", "EIRE"),
    "IM": ("ISLE OF MAN",),
    "GG": ("GUERNSEY",),
    "JE": ("JERSEY",),
    "GI": ("GIBRALTAR",),
    "NL": ("NETHERLANDS", "THE NETHERLANDS", "HOLLAND", "PAYS BAS"),
    "BE": ("BELGIUM", "BELGIQUE"),
    "LU": ("LUXEMBOURG",),
    "LI": ("LIECHTENSTEIN",),
    "CH": ("SWITZERLAND", "SUISSE"),
    "AT": ("AUSTRIA",),
    "IT": ("ITALY", "ITALIE"),
    "ES": ("SPAIN", "ESPAGNE"),
    "PT": ("PORTUGAL",),
    "DK": ("DENMARK",),
    "SE": ("SWEDEN",),
    "NO": ("NORWAY", "KINGDOM OF NORWAY"),
    "FI": ("FINLAND",),
    "IS": ("ICELAND",),
    "PL": ("POLAND",),
    "CZ": ("CZECH REPUBLIC", "CZECHIA", "CZECHOSLOVAKIA"),
    "HU": ("HUNGARY",),
    "RO": ("ROMANIA",),
    "GR": ("GREECE",),
    "CY": ("CYPRUS",),
    "MT": ("MALTA",),
    "TR": ("TURKEY", "TURKIYE"),
    "RU": ("RUSSIA", "RUSSIAN FEDERATION"),
    "UA": ("UKRAINE",),
    "KZ": ("KAZAKHSTAN", "REPUBLIC OF KAZAKHSTAN"),
    "IL": ("ISRAEL",),
    "AE": ("UNITED ARAB EMIRATES", "UAE"),
    "SA": ("SAUDI ARABIA",),
    "EG": ("EGYPT",),
    "ZA": ("SOUTH AFRICA",),
    "NG": ("NIGERIA",),
    "GH": ("GHANA",),
    "KE": ("KENYA",),
    "ZM": ("ZAMBIA",),
    "BW": ("BOTSWANA",),
    "LR": ("LIBERIA", "REPUBLIC OF LIBERIA"),
    "MU": ("MAURITIUS",),
}
"""Country names as registries write them, by ISO code (a few subdivisions where a name means
one, such as New South Wales)."""

_STOPWORDS = frozenset(
    (
        "STATE",
        "OF",
        "THE",
        "COUNTY",
        "COMMONWEALTH",
        "PROVINCE",
        "TERRITORY",
        "DISTRICT",
        "AND",
    )
)
_MAX_WORDS = 6
_SPLIT = re.compile(r"[,;()/\[\]]")
_CODE_FORM = re.compile(r"\s*([A-Za-z]{2})\s*-\s*([A-Za-z0-9]{1,3})\s*")


def is_country_code(code: str) -> bool:
    """Whether ``code`` is an officially assigned ISO 3166-1 alpha-2 code."""
    return code in COUNTRY_CODES


def country_of(code: str) -> str:
    """The ISO 3166-1 part of an ISO 3166 code (``CA-BC`` → ``CA``)."""
    return code.split("-", 1)[0]


def _fold(text: str) -> str:
    """Upper case, accents and dots removed, other punctuation to spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    upper = stripped.upper().replace(".", "").replace("'", "").replace("’", "")
    cleaned = re.sub(r"[^A-Z0-9]+", " ", upper)
    return " ".join(cleaned.split())


@cache
def _names() -> dict[str, str]:
    """Folded name → ISO code; subdivisions entered last so they win a clash (``GEORGIA``)."""
    table: dict[str, str] = {}
    for code, names in _COUNTRY_NAMES.items():
        for name in names:
            table[_fold(name)] = code
    for code, names in US_SUBDIVISIONS.items():
        for name in names:
            table[_fold(name)] = f"US-{code}"
    for code, names in CANADIAN_SUBDIVISIONS.items():
        for name in names:
            table[_fold(name)] = f"CA-{code}"
    return table


@cache
def _fuzzy_choices() -> tuple[str, ...]:
    return tuple(name for name in _names() if len(name) >= 5)


def _canadian_code(code: str) -> str | None:
    code = _CANADIAN_CODE_ALIASES.get(code, code)
    return f"CA-{code}" if code in CANADIAN_SUBDIVISIONS else None


def _is_subdivision(code: str) -> bool:
    return "-" in code


def _exact_runs(words: list[str]) -> list[str]:
    """Codes of the longest word runs that name a place, scanning left to right."""
    table = _names()
    found: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            code = table.get(" ".join(words[i : i + size]))
            if code is not None:
                found.append(code)
                i += size
                break
        else:
            i += 1
    return found


def _fuzzy_runs(words: list[str]) -> list[tuple[float, str]]:
    """(score, code) of misspelt place names among runs of up to three words."""
    table = _names()
    choices = _fuzzy_choices()
    found: list[tuple[float, str]] = []
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            run = words[i : i + size]
            if run[0] in _STOPWORDS or run[-1] in _STOPWORDS:
                continue
            candidate = " ".join(run)
            if len(candidate) < 5:
                continue
            match = process.extractOne(
                candidate, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD
            )
            if match is not None:
                found.append((float(match[1]), table[match[0]]))
    return found


def _best(codes: list[str]) -> str | None:
    for code in codes:
        if _is_subdivision(code):
            return code
    for code in codes:
        if code not in ("US", "CA"):
            return code
    return codes[0] if codes else None


def normalise_jurisdiction(text: str | None) -> str | None:
    """The ISO 3166 code that free-text ``text`` names, or ``None`` when it cannot tell.

    ``"STATE OF DELAWARE, COUNTY OF NEW CASTLE,"`` → ``"US-DE"``; ``"DELEWARE"`` → ``"US-DE"``;
    ``"US, LA"`` → ``"US-LA"``; ``"ZM"`` → ``"ZM"``; ``"British Columbia"`` → ``"CA-BC"``;
    ``"Québec"`` → ``"CA-QC"``; ``"1100 ELVEDEN HOUSE"`` → ``None``. Never raises.
    """
    if text is None:
        return None
    raw = unicodedata.normalize("NFC", text).strip()
    if not raw or any(c.isdigit() for c in raw) or "C/O" in raw.upper():
        return None

    # An ISO 3166-2 code as such: CA-BC, us-de.
    code_form = _CODE_FORM.fullmatch(raw)
    if code_form:
        country, sub = code_form.group(1).upper(), code_form.group(2).upper()
        if country == "CA":
            return _canadian_code(sub)
        if country == "US":
            return f"US-{sub}" if sub in US_SUBDIVISIONS else None
        return f"{country}-{sub}" if country in COUNTRY_CODES else None

    segments = [words for s in _SPLIT.split(raw) if (words := _fold(s).split())]
    if not segments:
        return None

    # A bare code: Canadian province first, then a country (ZM, DE, IN).
    if len(segments) == 1 and len(segments[0]) == 1 and len(segments[0][0]) == 2:
        code = segments[0][0]
        return _canadian_code(code) or (code if code in COUNTRY_CODES else _names().get(code))

    table = _names()
    joined = [" ".join(words) for words in segments]
    us_hint = any(table.get(s) == "US" for s in joined) or any(
        table.get(w) == "US" for words in segments for w in words[-1:]
    )
    found: list[str] = []
    for words in segments:
        if len(words) == 1 and len(words[0]) == 2:
            two = words[0]
            if us_hint and two in US_SUBDIVISIONS:
                found.append(f"US-{two}")
            elif (canadian := _canadian_code(two)) is not None:
                found.append(canadian)
            continue
        exact = _exact_runs(words)
        if not exact:
            # Only the best-scoring correction: "BRITSH VIRGIN ISLANDS" is the islands, not a
            # misspelt "VIRGINIA" inside it.
            fuzzy = sorted(_fuzzy_runs(words), key=lambda hit: (-hit[0], "-" not in hit[1]))
            exact = [fuzzy[0][1]] if fuzzy else []
        found.extend(exact)
    return _best(found)
