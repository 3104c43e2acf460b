"""Benchmark of organisation search: index N generated organisations, time the query kinds.

    .venv/bin/python bench/search_bench.py --orgs 1000000 [--pg postgresql://…/db] [--sqlite PATH]

Reports the indexing cost per organisation (``upsert_orgs`` in batches of 1,000, one commit per
10,000) and p50/p99 latency of name, prefix, fuzzy (one typo) and number searches and of
autocomplete, plus fuzzy recall@10 (is the misspelt organisation among the first ten hits).
The generator is self-contained and deterministic (``--seed``): English and French words,
accents, surnames, numbered companies (``1234567 B.C. LTD.``), former and alternate names.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, event, text

from orgbook.app import freeze_startup_heap
from orgbook.search import (
    SEARCH_TABLES,
    NameEntry,
    OrgDoc,
    SearchQuery,
    autocomplete,
    ensure_search_schema,
    search,
    upsert_orgs,
)
from orgbook.search.normalise import core_name, normalise
from orgbook.storage.engine import make_engine, metadata


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words(
    "Smith Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier "
    "Bélanger Lévesque Bergeron Leblanc Paquette Girard Simard Boucher Caron Beaulieu Cloutier "
    "Dubé Poirier Fournier Lapointe Leclerc Lefebvre Poulin Thibault St-Pierre Nadeau Martin "
    "Landry Martel Bédard Grenier Lessard Bernier Richard Michaud Hébert Desjardins Couture "
    "Turcotte Lachance Parent Blais Gosselin Savard Proulx Beaudoin Demers Perron Boudreau "
    "Brown Wilson MacDonald Taylor Campbell Anderson Johnson Williams Jones Miller Davis Clark "
    "Lewis Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Mitchell Roberts "
    "Chan Wong Li Singh Nguyen Kim Patel Sharma Gill Dhillon Sandhu Grewal Sidhu Zhang Wang"
)
WORDS_EN = _words(
    "Pacific Northern Coastal Mountain Valley River Lake Island Harbour Cedar Maple Pine Spruce "
    "Summit Ridge Bay Creek Forest Golden Silver Royal Western Eastern Central Global Premier "
    "Quality Precision Advanced Integrated Creative Strategic Dynamic Heritage Frontier Pioneer "
    "Evergreen Sunrise Sunset Horizon Aurora Orca Raven Eagle Salmon Bear Wolf Thunderbird"
)
TRADES_EN = _words(
    "Construction Consulting Holdings Enterprises Investments Properties Developments Logistics "
    "Transport Trucking Plumbing Electric Roofing Landscaping Bakery Restaurant Catering Cafe "
    "Dental Medical Pharmacy Software Technologies Solutions Systems Services Marketing Media "
    "Design Architecture Engineering Mining Forestry Fisheries Farms Vineyards Brewing Distillery "
    "Auto Repair Cleaning Security Realty Mortgage Insurance Accounting Legal Education Fitness"
)
WORDS_FR = _words(
    "Boulangerie Pâtisserie Épicerie Fromagerie Boucherie Librairie Quincaillerie Menuiserie "
    "Ébénisterie Plomberie Électricité Toiture Déneigement Transport Entreprises Société "
    "Groupe Services Conseils Gestion Immobilier Investissements Construction Rénovations "
    "Café Bistro Restaurant Traiteur Clinique Pharmacie Garderie École Atelier Studio"
)
PLACES_FR = _words(
    "Québec Montréal Lévis Trois-Rivières Saint-Jérôme Sainte-Foy Beauport Outremont Mirabel "
    "Gaspésie Côte-Nord Laurentides Montérégie Estrie Mauricie Saguenay Charlevoix Beauce"
)
SUFFIXES_EN = ("Ltd.", "LTD.", "Inc.", "Corp.", "Limited", "Incorporated", "Corporation", "")
SUFFIXES_FR = ("Ltée", "Inc.", "S.E.N.C.", "Limitée", "")
PREFIXES = ("BC", "A", "C", "FM", "CP", "S", "LLC", "LP")
ENTITY_TYPES = ("BC", "ULC", "BEN", "CC", "A", "SP", "GP", "S", "CP")
STATUSES = ("active",) * 8 + ("dissolved", "amalgamated")


def _name(rng: random.Random) -> tuple[str, str | None]:
    """A current name and, sometimes, its French alternate."""
    roll = rng.random()
    if roll < 0.15:  # numbered company
        return f"{rng.randrange(1000000, 1500000)} B.C. LTD.", None
    if roll < 0.45:
        return (
            f"{rng.choice(WORDS_FR)} {rng.choice(SURNAMES)} {rng.choice(SUFFIXES_FR)}".strip(),
            None,
        )
    if roll < 0.7:
        first = rng.choice(SURNAMES)
        joiner = rng.choice(("&", "and", "And"))
        tail = rng.choice(("Sons", "Daughters", "Associates", "Partners", rng.choice(SURNAMES)))
        name = f"{first} {joiner} {tail} {rng.choice(TRADES_EN)} {rng.choice(SUFFIXES_EN)}"
        return name.strip(), None
    words = f"{rng.choice(WORDS_EN)} {rng.choice(WORDS_EN)} {rng.choice(TRADES_EN)}"
    name = f"{words} {rng.choice(SUFFIXES_EN)}".strip()
    if rng.random() < 0.3:
        place = rng.choice(PLACES_FR)
        return name, f"{rng.choice(WORDS_FR)} {place} {rng.choice(SUFFIXES_FR)}".strip()
    return name, None


def generate(n: int, seed: int, number_prefix: str | None = None) -> Iterator[OrgDoc]:
    """``n`` organisations; numbered ``<number_prefix><i>`` when given (ids that cannot meet a
    registry's own), else with a registry-like prefix."""
    rng = random.Random(seed)
    for i in range(n):
        prefix = rng.choice(PREFIXES)
        number = (
            f"{prefix}{i + 1000000:07d}" if number_prefix is None else f"{number_prefix}{i:07d}"
        )
        current, alternate = _name(rng)
        names = [NameEntry(current, "current", "en")]
        if alternate:
            names.append(NameEntry(alternate, "alternate", "fr"))
        if rng.random() < 0.2:
            names.append(NameEntry(_name(rng)[0], "former"))
        yield OrgDoc(
            org_id=f"CA-BC:{number}",
            jurisdiction=rng.choice(("CA-BC",) * 6 + ("CA-QC", "CA-NS", "CA")),
            registration_number=number,
            business_number=f"{rng.randrange(10**8, 10**9)}" if rng.random() < 0.5 else None,
            names=names,
            status=rng.choice(STATUSES),
            entity_type=rng.choice(ENTITY_TYPES),
            issuers=["bc-registries"],
            credential_types=["registration", "legal-name"],
        )


def build(engine: Engine, n: int, seed: int, number_prefix: str | None = None) -> float:
    """Index ``n`` organisations (:func:`generate`); the indexing cost in µs per organisation
    (generation apart)."""
    spent = 0.0
    batch: list[OrgDoc] = []
    conn = engine.connect()
    trans = conn.begin()
    done = 0
    for doc in generate(n, seed, number_prefix):
        batch.append(doc)
        if len(batch) == 1000:
            t0 = time.perf_counter()
            upsert_orgs(conn, batch)
            done += len(batch)
            if done % 10000 == 0:
                trans.commit()
                trans = conn.begin()
            spent += time.perf_counter() - t0
            batch = []
            if done % 100000 == 0:
                print(f"  indexed {done:,} ({spent / done * 1e6:.0f} µs/org)", flush=True)
    t0 = time.perf_counter()
    if batch:
        upsert_orgs(conn, batch)
    trans.commit()
    conn.close()
    spent += time.perf_counter() - t0
    return spent / n * 1e6


def _typo(rng: random.Random, name: str) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return name
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _time(
    engine: Engine, queries: list[str], run: Callable[..., object]
) -> tuple[float, float, float, float]:
    """p50 and p99 of wall-clock and of this process's CPU time, in ms.

    CPU time is the steadier figure on a shared machine; for SQLite it is all the work (the
    database runs in-process), for PostgreSQL it leaves out the server's share.
    """
    wall, cpu = [], []
    with engine.connect() as conn:
        for q in queries[:10]:  # warm up
            run(conn, q)
        for q in queries:
            t0, c0 = time.perf_counter(), time.process_time()
            run(conn, q)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        conn.rollback()

    def pct(values: list[float]) -> tuple[float, float]:
        values.sort()
        return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]

    return (*pct(wall), *pct(cpu))


def _report(label: str, figures: tuple[float, float, float, float]) -> None:
    w50, w99, c50, c99 = figures
    print(
        f"  {label:28} wall p50 {w50:6.2f} p99 {w99:6.2f} ms | cpu p50 {c50:6.2f} p99 {c99:6.2f} ms"
    )


def measure(engine: Engine, n: int, seed: int, count: int) -> None:
    rng = random.Random(seed + 1)
    picks = sorted(rng.sample(range(n), min(count, n)))
    docs = []
    wanted = set(picks)
    for i, doc in enumerate(generate(max(picks) + 1, seed)):
        if i in wanted:
            docs.append(doc)
    names = [d.names[0].name for d in docs]
    named = [d for d in docs if not d.names[0].name[0].isdigit()]
    queries = {
        "name (exact)": [nm.upper() if rng.random() < 0.5 else nm.lower() for nm in names],
        "prefix (3 letters)": [rng.choice(d.names[0].name.split())[:3] for d in named],
        "prefix (words)": [d.names[0].name[: rng.randrange(8, 16)] for d in named],
        "fuzzy (1 typo)": [_typo(rng, d.names[0].name) for d in named],
        "number": [
            d.registration_number if rng.random() < 0.7 else d.business_number or "" for d in docs
        ],
    }

    def run_search(conn: object, q: str) -> object:
        return search(conn, SearchQuery(q))  # type: ignore[arg-type]

    for label, qs in queries.items():
        _report(f"search {label}", _time(engine, qs, run_search))
    ac = [nm[: rng.randrange(2, 6)] for nm in names]
    _report("autocomplete (2-5 chars)", _time(engine, ac, lambda conn, q: autocomplete(conn, q)))

    # Generated names repeat (as real ones do: many "Boulangerie Tremblay"), so recall counts
    # the misspelt organisation, or one with its name (legal form aside), in the first ten hits.
    found = same_name = 0
    fuzzy = [(d, _typo(rng, d.names[0].name)) for d in named]
    with engine.connect() as conn:
        for d, q in fuzzy:
            hits = search(conn, SearchQuery(q, limit=10)).hits
            found += any(h.org_id == d.org_id for h in hits)
            target = core_name(normalise(d.names[0].name))
            same_name += any(core_name(normalise(h.name)) == target for h in hits)
    print(
        f"  fuzzy recall@10: the name {same_name / len(fuzzy):.3f}, "
        f"the organisation itself {found / len(fuzzy):.3f} ({len(fuzzy)} queries)"
    )


def run(label: str, engine: Engine, args: argparse.Namespace) -> None:
    print(f"{label}: {args.orgs:,} organisations", flush=True)
    if not args.reuse:
        with engine.begin() as conn:
            metadata.drop_all(conn, tables=list(SEARCH_TABLES))
        ensure_search_schema(engine)
        t0 = time.perf_counter()
        per_org = build(engine, args.orgs, args.seed)
        print(f"  index: {per_org:.0f} µs/org ({time.perf_counter() - t0:.0f} s with generation)")
        # What an operator runs after a bulk load: fresh planner statistics and, on PostgreSQL,
        # a vacuum so heap pages are all-visible (no hint-bit writes on the first queries).
        vacuum = "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(vacuum))
    ensure_search_schema(engine)  # an index built by an earlier release gets today's objects
    if not args.no_freeze:
        # As ``orgbook serve`` does before serving (orgbook.app.freeze_startup_heap): the
        # long-lived heap out of the collector's full passes, whose pauses are otherwise the p99.
        freeze_startup_heap()
    load = os.getloadavg()
    measure(engine, args.orgs, args.seed, args.queries)
    after = os.getloadavg()
    print(f"  load average (1 min): {load[0]:.2f} before the queries, {after[0]:.2f} after")


def _sqlite_cache(engine: Engine, megabytes: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA cache_size=-{megabytes * 1024}")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, default=100000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", help="SQLite file (default: a temporary one)")
    parser.add_argument("--pg", help="PostgreSQL URL (its search tables are dropped first)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="query an index built before")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the collector as a fresh process has it"
    )
    parser.add_argument(
        "--cache-mb", type=int, default=0, help="SQLite page cache (default: SQLite's 2 MB)"
    )
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite or str(Path(tmp) / "bench.sqlite3")
            engine = make_engine(f"sqlite:///{path}")
            if args.cache_mb:
                _sqlite_cache(engine, args.cache_mb)
            run("SQLite", engine, args)
            engine.dispose()
    if args.pg:
        engine = make_engine(args.pg)
        run("PostgreSQL", engine, args)
        engine.dispose()


if __name__ == "__main__":
    main()
