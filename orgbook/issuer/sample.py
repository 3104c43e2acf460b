"""Realistic registry feeds for demos, tests and benchmarks, deterministic for a seed.

:func:`generate_feed` yields registry record dicts (docs/records.md) in effective-date order, as
BC Registries, Nova Scotia's Registry of Joint Stock Companies or the federal registry would send
them: registrations of companies, numbered companies (``1287139 B.C. LTD.``), societies,
co-operatives, firms (``FM…``, sole proprietorships and partnerships, often doing business for a
company), partnerships and extraprovincial registrations (``A…``, ``LLC…``, ``XP…`` with home
jurisdictions in the registries' messy free text); English and French names with accents, the
same name in different spellings (``Smith & Sons Ltd.``, ``SMITH AND SONS LTD.``), names of 96
characters and more; then name changes, address changes, business numbers, parent/subsidiary
relationships, dissolutions, restorations, continuations out, cancellations and amalgamations
(two organisations into a new one: status ``amalgamated`` with ``amalgamated_into``).

Scale: 100 to 1,000,000 organisations (about six records each), streamed. Nothing is kept per
record; per organisation the generator keeps three bytes (entity type, status, name version)
in ``bytearray`` s, so memory is flat in the number of records and about 3 MB for a million
organisations. Names, numbers and addresses are recomputed from ``(seed, organisation)`` with a
SplitMix64 hash whenever they are needed again.

Time runs day by day from 1990 to 2025; records before 2000 carry bare dates (legacy data),
later ones date-times in the registry's local offset (``-08:00`` for BC, ``-04:00`` for Nova
Scotia, ``Z`` federally), always non-decreasing as instants.

``python -m orgbook.issuer.sample N --seed S --format jsonl|csv`` prints a feed to stdout.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

import orjson

from orgbook.core.errors import BadInput
from orgbook.issuer.csvmap import write_rows

__all__ = ["DEFAULT_JURISDICTIONS", "generate_feed", "main", "write_feed"]

DEFAULT_JURISDICTIONS = ("CA-BC", "CA-NS", "CA")
START = date(1990, 1, 1)
END = date(2025, 12, 31)
TIMESTAMPS_FROM = date(2000, 1, 1)
FOLLOW_UPS_PER_ORGANISATION = 5.0
_MASK = (1 << 64) - 1
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Organisation status, one byte each.
_UNBORN, _ACTIVE, _DISSOLVED, _AMALGAMATED, _CONTINUED_OUT, _CANCELLED = range(6)


@dataclass(frozen=True, slots=True)
class _Kind:
    """An entity type a registry registers, and how its organisations look."""

    jurisdiction: str
    code: str
    prefix: str
    style: str  # company, society, coop, firm, partnership, extra
    weight: int
    type_name: str | None = None
    home: str | None = None  # None, "foreign" or "canadian": which home jurisdictions it has


_KINDS_BY_JURISDICTION: dict[str, tuple[_Kind, ...]] = {
    "CA-BC": (
        _Kind("CA-BC", "BC", "BC", "company", 40),
        _Kind("CA-BC", "ULC", "BC", "company", 3),
        _Kind("CA-BC", "BEN", "BC", "company", 2),
        _Kind("CA-BC", "CC", "BC", "company", 1),
        _Kind("CA-BC", "C", "C", "company", 3, home="canadian"),
        _Kind("CA-BC", "A", "A", "extra", 5, home="foreign"),
        _Kind("CA-BC", "LLC", "LLC", "extra", 1, home="foreign"),
        _Kind("CA-BC", "XP", "XP", "extra", 1, home="foreign"),
        _Kind("CA-BC", "XL", "XL", "extra", 1, home="foreign"),
        _Kind("CA-BC", "XS", "XS", "society", 1, home="foreign"),
        _Kind("CA-BC", "XCP", "XCP", "coop", 1, home="foreign"),
        _Kind("CA-BC", "CP", "CP", "coop", 1),
        _Kind("CA-BC", "S", "S", "society", 8),
        _Kind("CA-BC", "SP", "FM", "firm", 10),
        _Kind("CA-BC", "GP", "FM", "firm", 5),
        _Kind("CA-BC", "LP", "LP", "partnership", 2),
        _Kind("CA-BC", "LL", "LL", "partnership", 1),
    ),
    "CA-NS": (
        _Kind("CA-NS", "NSLC", "", "company", 30, "Nova Scotia Limited Company"),
        _Kind("CA-NS", "NSULC", "", "company", 4, "Nova Scotia Unlimited Liability Company"),
        _Kind("CA-NS", "SOC", "", "society", 8, "Society"),
        _Kind("CA-NS", "COOP", "", "coop", 2, "Co-operative"),
        _Kind("CA-NS", "EXP", "", "extra", 4, "Extra-Provincial Corporation", home="foreign"),
        _Kind("CA-NS", "BN", "", "firm", 10, "Registered Business Name"),
        _Kind("CA-NS", "PTNR", "", "partnership", 2, "Partnership"),
    ),
    "CA": (
        _Kind("CA", "CBCA", "", "company", 30, "Canada Business Corporations Act corporation"),
        _Kind("CA", "NFP", "", "society", 6, "Canada Not-for-profit Corporations Act corporation"),
        _Kind("CA", "COOP", "", "coop", 1, "Canada Cooperatives Act cooperative"),
    ),
}
_GENERIC_KINDS = (("CORP", "company", 10, "Corporation"), ("SOC", "society", 2, "Society"))

_SURNAMES = (
    "Smith", "Nguyen", "Patel", "Wong", "Singh", "MacDonald", "O'Brien", "Chen", "Thompson",
    "Campbell", "Fraser", "Gill", "Sandhu", "Kim", "Li", "Martin", "Wilson", "Anderson", "Taylor",
    "Robertson", "McKenzie", "Dhaliwal", "Grewal", "Johal", "Park", "Yamamoto", "Novak",
    "Kowalski", "Schmidt", "Rossi", "Haida", "Joe", "Paul", "Jack", "Morrison", "Stewart",
)  # fmt: skip
_FRENCH_SURNAMES = (
    "Lévesque", "Côté", "Bélanger", "Gagnon", "Tremblay", "Bouchard", "Pelletier", "Gauthier",
    "Dubé", "Bérubé", "Thériault", "Doiron", "LeBlanc", "Poirier", "Gaudet", "Boudreau",
    "Arsenault", "Cormier", "Després", "Lefèbvre", "Gélinas", "Hébert", "Ménard", "Roy",
)  # fmt: skip
_PLACES = (
    "Pacific", "Coastal", "Okanagan", "Kootenay", "Cariboo", "Fraser Valley", "Island",
    "North Shore", "Cascadia", "Maritime", "Bluenose", "Cape Breton", "Annapolis", "Northern",
    "Prairie", "Georgia Strait", "Skeena", "Haida Gwaii", "Lunenburg", "Peace River",
)  # fmt: skip
_FRENCH_PLACES = (
    "Chéticamp", "l'Acadie", "Baie-Sainte-Marie", "Maillardville", "Québec", "Montréal",
    "Gatineau", "Trois-Rivières", "Rivière-du-Loup", "Saint-Boniface",
)  # fmt: skip
_BUSINESSES = (
    "Consulting", "Construction", "Holdings", "Ventures", "Enterprises", "Logistics",
    "Software", "Seafoods", "Forest Products", "Landscaping", "Plumbing", "Electric",
    "Trucking", "Dental", "Realty", "Investments", "Développement", "Energy", "Brewing",
    "Roofing", "Marine Services", "Mining", "Farms", "Technologies", "Design",
)  # fmt: skip
_FRENCH_BUSINESSES = (
    ("Boulangerie", "Bakery"), ("Pâtisserie", "Pastry Shop"), ("Construction", "Construction"),
    ("Services financiers", "Financial Services"), ("Menuiserie", "Woodworking"),
    ("Fromagerie", "Cheese Shop"), ("Transport", "Transport"), ("Érablière", "Sugar Bush"),
    ("Pêcheries", "Fisheries"), ("Librairie", "Bookstore"),
)  # fmt: skip
_ADJECTIVES = (
    "Northern", "Blue", "Evergreen", "Summit", "Golden", "Silver", "Cedar", "Orca", "Raven",
    "True North", "Westcoast", "Harbour", "Aurora", "Granite", "Salish Sea",
)  # fmt: skip
_LONG_TAIL = (
    "Independent", "Professional", "Heritage", "Community", "Regional", "Environmental",
    "Indigenous", "Agricultural", "Educational", "Charitable", "Cultural", "Recreational",
)  # fmt: skip
_FOREIGN_HOMES = (
    "STATE OF DELAWARE, COUNTY OF NEW CASTLE,", "DELEWARE", "US, LA", "ZM", "DELAWARE, U.S.A.",
    "WASHINTON, USA", "STATE OF WASHINGTON", "US, TX", "Texas", "NEW YORK, N.Y.",
    "CALIFORNIA USA", "Nevada, USA", "STATE OF OREGON, U.S.A.", "US, NV", "ENGLAND AND WALES",
    "UNITED KINGDOM", "HONG KONG", "CAYMAN ISLANDS, B.W.I.", "BRITISH VIRGIN ISLAND (TORTOLA)",
    "SINGAPORE", "P.R. CHINA", "TAIWAN", "TOKYO, JAPAN", "THE NETHERLANDS", "COMMONWEALTH OF "
    "PENNSYLANIA, U.S.A.", "ISLAND OF NEVIS", "DE", "MX", "C/O MACKIMMIE MATTHEWS",
    "P.O. BOX 2211", "UNKNOWN",
)  # fmt: skip
_CANADIAN_HOMES = (
    "ALBERTA", "ALBERTA, CANADA", "ONTARIO", "ON", "CANADA (FEDERAL)", "YUKON TERRITORY",
    "SASKATCHEWA", "Québec", "NOVA SCOTIA", "NF", "MB",
)  # fmt: skip
_CITIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "CA-BC": (
        ("Vancouver", "BC", "V6B"), ("Victoria", "BC", "V8W"), ("Surrey", "BC", "V3T"),
        ("Kelowna", "BC", "V1Y"), ("Prince George", "BC", "V2L"), ("Nanaimo", "BC", "V9R"),
        ("Burnaby", "British Columbia", "V5H"), ("Kamloops", "B.C.", "V2C"),
        ("Richmond", "BC", "V6X"), ("Terrace", "BC", "V8G"),
    ),
    "CA-NS": (
        ("Halifax", "NS", "B3H"), ("Dartmouth", "NS", "B2Y"), ("Sydney", "Nova Scotia", "B1P"),
        ("Truro", "NS", "B2N"), ("Lunenburg", "NS", "B0J"), ("Chéticamp", "N.-É.", "B0E"),
    ),
    "CA": (
        ("Ottawa", "ON", "K1P"), ("Montréal", "QC", "H3B"), ("Toronto", "ON", "M5H"),
        ("Québec", "QC", "G1R"), ("Calgary", "AB", "T2P"), ("Winnipeg", "MB", "R3C"),
        ("Gatineau", "Québec", "J8X"), ("Moncton", "NB", "E1C"),
    ),
}  # fmt: skip
_STREETS = (
    "Main St", "Granville St", "Hastings St W", "Government St", "Barrington St",
    "Spring Garden Rd", "King St W", "Wellington St", "1st Ave", "Marine Dr", "Douglas St",
)  # fmt: skip
_FRENCH_STREETS = ("rue Saint-Denis", "boulevard René-Lévesque Ouest", "chemin Sainte-Foy")
_DISSOLUTION_REASONS = (
    "voluntary dissolution",
    "dissolved for failure to file annual reports",
    "administrative dissolution",
    None,
)
_OFFSETS = {"CA-BC": (7, "-08:00"), "CA-NS": (11, "-04:00")}
"""Local hour at 15:00 UTC and the offset each registry writes its date-times with."""


def _mix(x: int) -> int:
    """SplitMix64 finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Pick:
    """Choices driven by a SplitMix64 hash of ``(seed, organisation, salt)``, then a 64-bit LCG
    (cheap, and plenty for picking words)."""

    __slots__ = ("state",)

    def __init__(self, seed: int, org: int, salt: int) -> None:
        self.state = _mix(_mix((seed * 0x100000001B3 + salt) & _MASK) ^ org)

    def below(self, n: int) -> int:
        self.state = (self.state * 0x5851F42D4C957F2D + 0x14057B7EF767814F) & _MASK
        return (self.state >> 24) % n

    def of(self, items: Sequence[Any]) -> Any:
        return items[self.below(len(items))]

    def chance(self, percent: int) -> bool:
        return self.below(100) < percent


class _Feed:
    """The state of one generation run: who exists, their status and name versions."""

    def __init__(self, n_orgs: int, seed: int, jurisdictions: Sequence[str]) -> None:
        self.n = n_orgs
        self.seed = seed
        self.rng = random.Random(seed)
        kinds: list[_Kind] = []
        for j in jurisdictions:
            known = _KINDS_BY_JURISDICTION.get(j)
            generic = tuple(_Kind(j, c, "", s, w, name) for c, s, w, name in _GENERIC_KINDS)
            kinds.extend(known or generic)
        self.kinds = kinds
        self.weights = [k.weight for k in kinds]
        self.company_kind = {
            j: next(i for i, k in enumerate(kinds) if k.jurisdiction == j and k.style == "company")
            for j in jurisdictions
        }
        self.firm_kinds = [i for i, k in enumerate(kinds) if k.style == "firm"]
        self.kind_of = bytearray(n_orgs)
        self.status = bytearray(n_orgs)
        self.version = bytearray(n_orgs)
        self.next_org = 0
        self.seq = 0
        self.day = START
        self.day_text = START.isoformat()
        self.second = 0

    # --- who an organisation is ------------------------------------------------------------

    def kind(self, org: int) -> _Kind:
        return self.kinds[self.kind_of[org]]

    def number(self, org: int) -> str:
        kind = self.kind(org)
        if kind.jurisdiction == "CA-BC":
            return f"BC{1_000_000 + org:07d}" if kind.prefix == "BC" else f"{kind.prefix}{org:07d}"
        if kind.jurisdiction == "CA-NS":
            return str(3_000_000 + org)
        if kind.jurisdiction == "CA":
            digits = str(1_000_000 + org)
            return f"{digits}-{sum(int(d) for d in digits) % 10}"
        return f"{org:09d}"

    def name(self, org: int, version: int | None = None) -> tuple[str, str, str | None]:
        """(name, language, French or English alternate form or None) at a name version."""
        v = self.version[org] if version is None else version
        kind = self.kind(org)
        pick = _Pick(self.seed, org, 1000 + v)
        if kind.style == "company" and v == 0 and pick.chance(35):
            digits = self.number(org).lstrip(_LETTERS).split("-")[0].lstrip("0")
            suffix = {"CA-BC": "B.C. LTD.", "CA-NS": "Nova Scotia Limited", "CA": "Canada Inc."}
            return f"{digits} {suffix.get(kind.jurisdiction, 'Inc.')}", "en", None
        if pick.chance(3):
            return _long_name(pick, kind), "en", None
        if pick.chance(22 if kind.jurisdiction != "CA-BC" else 12):
            return _french_name(pick, kind)
        return _english_name(pick, kind), "en", None

    def home(self, org: int) -> str | None:
        kind = self.kind(org)
        if kind.home is None:
            return None
        pick = _Pick(self.seed, org, 3)
        return str(pick.of(_FOREIGN_HOMES if kind.home == "foreign" else _CANADIAN_HOMES))

    def address(self, org: int, salt: int, address_type: str) -> dict[str, Any]:
        kind = self.kind(org)
        pick = _Pick(self.seed, org, 5000 + salt)
        city, region, postal = pick.of(_CITIES.get(kind.jurisdiction, _CITIES["CA"]))
        number = 100 + pick.below(9800)
        street = (
            f"{number}, {pick.of(_FRENCH_STREETS)}"
            if region in ("QC", "Québec") or pick.chance(5)
            else f"{number} {pick.of(_STREETS)}"
        )
        if pick.chance(20):
            street = f"Suite {100 + pick.below(2000)}, {street}"
        letters = "ABCEGHJKLMNPRSTVWXYZ"
        code = f"{postal} {pick.below(10)}{pick.of(letters)}{pick.below(10)}"
        out: dict[str, Any] = {
            "address_type": address_type,
            "street": street,
            "city": city,
            "region": region,
            "postal_code": code,
        }
        country = pick.below(10)
        if country < 6:
            out["country"] = "CA"
        elif country < 9:
            out["country"] = "Canada"
        return out

    def business_number(self, org: int) -> str:
        return str(100_000_000 + _Pick(self.seed, org, 7).below(900_000_000))

    # --- records ---------------------------------------------------------------------------

    def _when(self, jurisdiction: str) -> str:
        """The next effective date, non-decreasing as an instant, as the registry writes it.

        From 2000 the day's records start at 15:00 UTC (07:00 in BC, 11:00 in Nova Scotia) and
        step forward a few seconds each, staying within the same local day.
        """
        if self.day < TIMESTAMPS_FROM:
            return self.day_text
        self.second = min(self.second + 1 + int(self.rng.random() * 20), 8 * 3600 + 59 * 60)
        minutes, seconds = divmod(self.second, 60)
        hours, minutes = divmod(minutes, 60)
        local, suffix = _OFFSETS.get(jurisdiction, (15, "Z"))
        return f"{self.day_text}T{local + hours:02d}:{minutes:02d}:{seconds:02d}{suffix}"

    def record(self, org: int, kind: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        k = self.kind(org)
        effective = self._when(k.jurisdiction)
        out: dict[str, Any] = {
            "event_id": f"{k.jurisdiction.lower()}-{self.seed}-{self.seq:010d}",
            "kind": kind,
            "jurisdiction": k.jurisdiction,
            "registration_number": self.number(org),
            "effective_date": effective,
        }
        out.update((key, value) for key, value in fields.items() if value is not None)
        return out

    def ref(self, org: int) -> dict[str, Any]:
        return {
            "jurisdiction": self.kind(org).jurisdiction,
            "registration_number": self.number(org),
            "name": self.name(org)[0],
        }

    def register(self, kind_index: int | None = None) -> Iterator[dict[str, Any]]:
        org = self.next_org
        self.next_org += 1
        if kind_index is None:
            kind_index = self.rng.choices(range(len(self.kinds)), self.weights)[0]
        self.kind_of[org] = kind_index
        self.status[org] = _ACTIVE
        kind = self.kinds[kind_index]
        name, language, alternate = self.name(org, 0)
        pick = _Pick(self.seed, org, 11)
        entity_type: str | None = kind.code
        if kind.jurisdiction == "CA-BC" and pick.chance(3):
            entity_type = None  # BC's own sample has rows without a type: the prefix tells
        bn = self.business_number(org) if kind.style != "society" and pick.chance(40) else None
        if bn is not None and pick.chance(10):
            bn = f"{bn[:3]} {bn[3:6]} {bn[6:]}"
        yield self.record(
            org,
            "registration",
            name=name,
            name_language=language,
            alternate_names=[{"name": alternate, "language": "en" if language == "fr" else "fr"}]
            if alternate
            else None,
            entity_type=entity_type,
            entity_type_name=kind.type_name,
            home_jurisdiction=self.home(org),
            address=self.address(org, 0, "registered") if pick.chance(85) else None,
            business_number=bn,
            program_account="RC0001" if bn is not None and pick.chance(50) else None,
        )
        if kind.style == "firm" and pick.chance(30):
            owner = self.active_org(style="company", jurisdiction=kind.jurisdiction)
            if owner is not None:
                yield self.record(
                    owner,
                    "relationship",
                    relationship_type="doing-business-as",
                    related=self.ref(org),
                )

    def active_org(
        self, *, style: str | None = None, jurisdiction: str | None = None
    ) -> int | None:
        for _ in range(8):
            org = int(self.rng.random() * self.next_org)
            kind = self.kind(org)
            if (
                self.status[org] == _ACTIVE
                and (style is None or kind.style == style)
                and (jurisdiction is None or kind.jurisdiction == jurisdiction)
            ):
                return org
        return None

    def follow_up(self) -> Iterator[dict[str, Any]]:
        roll = self.rng.randrange(100)
        if roll < 36:
            org = self.active_org()
            if org is not None:
                types = ("registered", "registered", "mailing", "delivery", "records")
                address_type = types[self.rng.randrange(len(types))]
                address = self.address(org, self.seq, address_type)
                yield self.record(org, "address_change", address=address)
        elif roll < 53:
            org = self.active_org()
            if org is not None and self.version[org] < 250:
                self.version[org] += 1
                name, language, alternate = self.name(org)
                alternates = (
                    [{"name": alternate, "language": "en" if language == "fr" else "fr"}]
                    if alternate
                    else None
                )
                yield self.record(
                    org,
                    "name_change",
                    name=name,
                    name_language=language,
                    alternate_names=alternates,
                )
        elif roll < 62:
            org = self.active_org()
            if org is not None and self.kind(org).style != "society":
                bn = self.business_number(org)
                account = f"RC{1 + self.rng.randrange(3):04d}"
                yield self.record(
                    org, "business_number", business_number=bn, program_account=account
                )
        elif roll < 74:
            org = self.active_org()
            if org is not None:
                firm = self.kind(org).style == "firm"
                self.status[org] = _CANCELLED if firm else _DISSOLVED
                reason = None if firm else self.rng.choice(_DISSOLUTION_REASONS)
                status = "cancelled" if firm else "dissolved"
                yield self.record(org, "status_change", status=status, reason=reason)
        elif roll < 79:
            for _ in range(8):
                org = int(self.rng.random() * self.next_org)
                if self.status[org] == _DISSOLVED:
                    self.status[org] = _ACTIVE
                    yield self.record(org, "status_change", status="restored", reason="restored")
                    break
        elif roll < 80:
            org = self.active_org(style="company")
            if org is not None:
                self.status[org] = _CONTINUED_OUT
                to = self.rng.choice(("Alberta", "Ontario", "Delaware", "the federal registry"))
                yield self.record(
                    org, "status_change", status="continued-out", reason=f"continued out to {to}"
                )
        elif roll < 83:
            yield from self.amalgamate()
        elif roll < 89:
            parent = self.active_org(style="company")
            child = self.active_org(style="company")
            if parent is not None and child is not None and parent != child:
                if self.rng.random() < 0.5:
                    yield self.record(
                        parent,
                        "relationship",
                        relationship_type="parent-of",
                        related=self.ref(child),
                    )
                else:
                    yield self.record(
                        child,
                        "relationship",
                        relationship_type="subsidiary-of",
                        related=self.ref(parent),
                    )
        else:
            # Annual-report style: the registered office moves within its city.
            org = self.active_org()
            if org is not None:
                yield self.record(
                    org, "address_change", address=self.address(org, self.seq, "registered")
                )

    def amalgamate(self) -> Iterator[dict[str, Any]]:
        """Two companies of one registry amalgamate into a new one."""
        if self.next_org >= self.n:
            return
        first = self.active_org(style="company")
        if first is None:
            return
        jurisdiction = self.kind(first).jurisdiction
        second = self.active_org(style="company", jurisdiction=jurisdiction)
        if second is None or second == first:
            return
        new = self.next_org
        yield from self.register(self.company_kind[jurisdiction])
        into = self.ref(new)
        for org in (first, second):
            self.status[org] = _AMALGAMATED
            yield self.record(
                org,
                "status_change",
                status="amalgamated",
                reason="amalgamation",
                amalgamated_into=into,
            )

    def run(self) -> Iterator[dict[str, Any]]:
        days = (END - START).days + 1
        rate = 2.0 * FOLLOW_UPS_PER_ORGANISATION / days
        due = 0.0
        for offset in range(days):
            self.day = START + timedelta(days=offset)
            self.day_text = self.day.isoformat()
            self.second = 0
            target = (self.n * (offset + 1)) // days
            while self.next_org < target:
                yield from self.register()
            due += rate * self.next_org
            while due >= 1.0 and self.next_org:
                due -= 1.0
                yield from self.follow_up()


def _english_name(pick: _Pick, kind: _Kind) -> str:
    surname = pick.of(_SURNAMES)
    if kind.style == "society":
        return str(
            pick.of(
                (
                    f"{pick.of(_PLACES)} Community Society",
                    f"{pick.of(_PLACES)} Minor Hockey Association",
                    f"Friends of the {pick.of(_PLACES)} Library Society",
                    f"{pick.of(_PLACES)} Seniors' Housing Society",
                )
            )
        )
    if kind.style == "coop":
        return (
            f"{pick.of(_PLACES)} {pick.of(('Housing', 'Food', 'Credit', 'Artists'))} Co-operative"
        )
    if kind.style == "firm":
        return str(
            pick.of(
                (
                    f"{surname}'s {pick.of(_BUSINESSES)}",
                    f"{surname} {pick.of(_BUSINESSES)}",
                    f"{surname} & {pick.of(_SURNAMES)}",
                )
            )
        )
    if kind.style == "partnership":
        return f"{surname} {pick.of(_SURNAMES)} {'LLP' if kind.code in ('LL', 'XL') else 'LP'}"
    choice = pick.below(8)
    if choice == 0:
        return f"{surname} & Sons Ltd."
    if choice == 1:
        return f"{surname.upper()} AND SONS LTD."
    if choice == 2:
        return f"{pick.of(_ADJECTIVES)} {pick.of(_BUSINESSES)} Inc."
    if choice == 3:
        return f"{surname}-{pick.of(_SURNAMES)} Holdings Ltd."
    if choice == 4 and kind.style == "extra":
        return f"{pick.of(_ADJECTIVES)} {pick.of(_BUSINESSES)}, LLC"
    if choice == 5:
        return f"{pick.of(_PLACES).upper()} {pick.of(_BUSINESSES).upper()} LTD."
    return (
        f"{pick.of(_PLACES)} {pick.of(_BUSINESSES)} {pick.of(('Ltd.', 'Inc.', 'Corp.', 'Limited'))}"
    )


def _french_name(pick: _Pick, kind: _Kind) -> tuple[str, str, str | None]:
    surname = pick.of(_FRENCH_SURNAMES)
    if kind.style == "society":
        place = pick.of(_FRENCH_PLACES)
        return f"Société culturelle de {place}", "fr", f"{place} Cultural Society"
    if kind.style == "coop":
        place = pick.of(_FRENCH_PLACES)
        return f"Coopérative de solidarité de {place}", "fr", None
    french, english = pick.of(_FRENCH_BUSINESSES)
    choice = pick.below(5)
    if choice == 0:
        return f"Les Entreprises {surname} Ltée", "fr", f"{surname} Enterprises Ltd."
    if choice == 1:
        return f"{french} {surname} Inc.", "fr", f"{surname} {english} Inc."
    if choice == 2:
        return f"Société {french.lower()} {surname} Ltée", "fr", None
    if choice == 3 and kind.style != "firm":
        return f"{surname} et Fils Ltée", "fr", f"{surname} & Sons Ltd."
    return f"{french} {surname}", "fr", None


def _long_name(pick: _Pick, kind: _Kind) -> str:
    words = [f"The {pick.of(_PLACES)} Association of"]
    while sum(len(w) + 1 for w in words) < 100:
        words.append(f"{pick.of(_LONG_TAIL)} {pick.of(_BUSINESSES)},")
    words[-1] = words[-1].rstrip(",")
    ending = {"society": "Society", "coop": "Co-operative"}.get(kind.style, "Ltd.")
    return " ".join([*words, "and Allied Trades of British Columbia", ending])


def generate_feed(
    n_orgs: int, *, seed: int = 0, jurisdictions: Sequence[str] = DEFAULT_JURISDICTIONS
) -> Iterator[dict[str, Any]]:
    """Registry records for ``n_orgs`` organisations, in effective-date order.

    Deterministic for ``(n_orgs, seed, jurisdictions)``; streamed (see the module docstring).
    """
    if n_orgs < 0 or n_orgs > 9_000_000:
        raise BadInput("n_orgs must be between 0 and 9,000,000", field="n_orgs")
    if not jurisdictions:
        raise BadInput("at least one jurisdiction", field="jurisdictions")
    if n_orgs == 0:
        return iter(())
    return _Feed(n_orgs, seed, tuple(jurisdictions)).run()


def _write(stream: TextIO, records: Iterator[dict[str, Any]], fmt: str) -> int:
    if fmt == "csv":
        return write_rows(stream, records)
    if fmt != "jsonl":
        raise BadInput(f"unknown feed format {fmt!r}: jsonl or csv", field="fmt")
    count = 0
    for record in records:
        stream.write(orjson.dumps(record).decode("utf-8"))
        stream.write("\n")
        count += 1
    return count


def write_feed(
    path: str | Path,
    n_orgs: int,
    seed: int = 0,
    fmt: str = "jsonl",
    *,
    jurisdictions: Sequence[str] = DEFAULT_JURISDICTIONS,
) -> int:
    """Write a generated feed as JSON Lines or CSV (UTF-8); returns the number of records."""
    if fmt not in ("jsonl", "csv"):
        raise BadInput(f"unknown feed format {fmt!r}: jsonl or csv", field="fmt")
    records = generate_feed(n_orgs, seed=seed, jurisdictions=jurisdictions)
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        return _write(handle, records, fmt)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m orgbook.issuer.sample N [--seed S] [--format jsonl|csv]`` to stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m orgbook.issuer.sample", description="Generate a registry feed."
    )
    parser.add_argument("n_orgs", type=int, help="number of organisations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument(
        "--jurisdictions",
        default=",".join(DEFAULT_JURISDICTIONS),
        help="comma-separated ISO 3166 codes (default %(default)s)",
    )
    args = parser.parse_args(argv)
    jurisdictions = [j.strip() for j in args.jurisdictions.split(",") if j.strip()]
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
    try:
        _write(
            out,
            generate_feed(args.n_orgs, seed=args.seed, jurisdictions=jurisdictions),
            args.format,
        )
        out.flush()
    except BrokenPipeError:
        return 0
    finally:
        out.detach()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
