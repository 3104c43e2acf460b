"""Benchmark of typo correction: one misspelt search word against a large vocabulary.

    .venv/bin/python bench/typo_bench.py [--words 300000] [--queries 500] [--pg URL] [--keep]

Times the two ways :mod:`orgbook.search.typos` describes, which must give identical answers:

* in memory: ``orgbook.search.vocabulary.alternatives`` scanning a ``Vocabulary`` (the words of
  a possible length, rapidfuzz OSA) — SQLite, and PostgreSQL without ``pg_trgm``;
* PostgreSQL: ``orgbook.search.vocabulary.alternatives_of`` on a database whose ``search_term``
  table holds the vocabulary, served by its ``search_term_trgm`` GIN index
  (``orgbook.search.postgres.similar_terms``: one statement of ``LIKE`` patterns).

The vocabulary is generated, deterministic (``--seed``): an order-2 character Markov model
trained on the words of the sample generator's names (``orgbook.issuer.sample``), about half
of the words being two generated words joined, until ``--words`` distinct words. Queries are
``--queries`` vocabulary words with one random typo (substitution, insertion, deletion or
adjacent transposition) plus as many words of 8 letters or more with two; queries shorter than
4 letters are skipped. Each method is warmed up on 20 queries, then every lookup is timed
(wall, ``time.perf_counter``). Prints p50/p99/max latency per method, overall and per typo
count, the candidate rows the PostgreSQL statement returns (counted in a separate, untimed
run), and how many answers differ between the methods: any difference exits with status 1
(a correctness check; timings are only printed, never asserted).

PostgreSQL: ``--pg`` or ``ORGBOOK_BENCH_PG_URL`` / ``ORGBOOK_TEST_PG_URL`` (an admin URL; a
scratch database ``orgbook_typo_bench_<random>`` is created, and dropped unless ``--keep``).
Without one, only the in-memory method runs.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import statistics
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _registry import scratch_database
from sqlalchemy import Connection, insert

from orgbook.issuer import sample
from orgbook.search import postgres as search_pg
from orgbook.search import search_term
from orgbook.search.normalise import normalise
from orgbook.search.vocabulary import Vocabulary, alternatives, alternatives_of
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade

ORDER = 2
START, END = "^", "$"
MAX_PART = 20  # longest generated word part
WARM_UP = 20
INSERT_BATCH = 10_000


# --- vocabulary ------------------------------------------------------------------------------


def training_words() -> list[str]:
    """The alphabetic tokens of the sample generator's names (its tuples of ``str``)."""
    words: set[str] = set()
    for value in vars(sample).values():
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            for item in value:
                words.update(t for t in normalise(item).split() if t.isalpha())
    return sorted(words)


Model = dict[str, tuple[list[str], list[int]]]
"""Context (``ORDER`` characters) → next characters and their cumulative counts."""


def train(words: Sequence[str]) -> Model:
    counts: dict[str, dict[str, int]] = {}
    for word in words:
        padded = START * ORDER + word + END
        for i in range(len(padded) - ORDER):
            following = counts.setdefault(padded[i : i + ORDER], {})
            following[padded[i + ORDER]] = following.get(padded[i + ORDER], 0) + 1
    model: Model = {}
    for context, following in counts.items():
        chars = sorted(following)
        model[context] = (chars, list(itertools.accumulate(following[c] for c in chars)))
    return model


def generate_part(model: Model, rng: random.Random) -> str:
    """One word of the Markov model, 2 to ``MAX_PART`` letters."""
    while True:
        context, out = START * ORDER, ""
        while len(out) <= MAX_PART:
            chars, cumulative = model[context]
            char = chars[bisect.bisect_right(cumulative, rng.randrange(cumulative[-1]))]
            if char == END:
                break
            out += char
            context = context[1:] + char
        if 2 <= len(out) <= MAX_PART:
            return out


def vocabulary(count: int, seed: int) -> list[str]:
    """``count`` distinct generated words, in generation order (deterministic for ``seed``)."""
    model = train(training_words())
    rng = random.Random(seed)
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < count:
        word = generate_part(model, rng)
        if rng.random() < 0.5:
            word += generate_part(model, rng)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def in_memory(words: Sequence[str]) -> Vocabulary:
    """The vocabulary as ``orgbook.search.vocabulary`` builds it."""
    vocab = Vocabulary()
    for word in words:
        if word not in vocab.terms:
            vocab.terms.add(word)
            vocab.by_length.setdefault(len(word), []).append(word)
    vocab.last_id = len(words)
    return vocab


# --- queries ---------------------------------------------------------------------------------


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one random edit: substitution, insertion, deletion or transposition."""
    letters = string.ascii_lowercase
    while True:
        kind = rng.randrange(4)
        if kind == 0:
            i = rng.randrange(len(word))
            return word[:i] + rng.choice(letters.replace(word[i], "")) + word[i + 1 :]
        if kind == 1:
            i = rng.randrange(len(word) + 1)
            return word[:i] + rng.choice(letters) + word[i:]
        if kind == 2 and len(word) > 1:
            i = rng.randrange(len(word))
            return word[:i] + word[i + 1 :]
        if kind == 3:
            pairs = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
            if pairs:
                i = rng.choice(pairs)
                return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@dataclass(frozen=True, slots=True)
class Query:
    word: str  # the misspelt word looked up
    source: str  # the vocabulary word it was made from
    typos: int


def queries(words: Sequence[str], count: int, seed: int) -> list[Query]:
    """``count`` one-typo queries, then ``count`` two-typo ones (from words of ≥ 8 letters),
    interleaved; none shorter than 4 letters."""
    rng = random.Random(seed + 1)
    long_words = [w for w in words if len(w) >= 8]
    out: dict[int, list[Query]] = {1: [], 2: []}
    for edits, pool in ((1, words), (2, long_words)):
        while len(out[edits]) < count:
            source = rng.choice(pool)
            word = source
            for _ in range(edits):
                word = typo(word, rng)
            if len(word) >= 4:
                out[edits].append(Query(word, source, edits))
    return [q for pair in zip(out[1], out[2], strict=True) for q in pair]


# --- measuring -------------------------------------------------------------------------------


def timed(
    label: str, lookup: Callable[[str], tuple[str, ...]], qs: Sequence[Query]
) -> tuple[list[tuple[str, ...]], list[float]]:
    """Answers and latencies (seconds) of ``lookup`` over ``qs``, after a warm-up."""
    for q in qs[:WARM_UP]:
        lookup(q.word)
    answers: list[tuple[str, ...]] = []
    latencies: list[float] = []
    started_all = time.perf_counter()
    for q in qs:
        started = time.perf_counter()
        answers.append(lookup(q.word))
        latencies.append(time.perf_counter() - started)
    print(f"{label}: {len(qs)} lookups in {time.perf_counter() - started_all:.1f}s")
    return answers, latencies


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(label: str, qs: Sequence[Query], latencies: Sequence[float]) -> None:
    print(f"  {label}")
    for name, edits in (("all", (1, 2)), ("1 typo", (1,)), ("2 typos", (2,))):
        ms = [t * 1000 for q, t in zip(qs, latencies, strict=True) if q.typos in edits]
        print(
            f"    {name:<8} n={len(ms):<5} p50 {statistics.median(ms):8.2f} ms   "
            f"p99 {percentile(ms, 0.99):8.2f} ms   max {max(ms):8.2f} ms"
        )


def load_average(when: str) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"load average ({when}): {one:.2f}, {five:.2f}, {fifteen:.2f}  [{os.cpu_count()} CPUs]")


# --- PostgreSQL ------------------------------------------------------------------------------


def load_postgres(conn: Connection, words: Sequence[str]) -> tuple[float, float]:
    """Insert ``words`` into ``search_term`` (index maintained as it goes), then ANALYZE;
    the seconds each took."""
    started = time.perf_counter()
    for i in range(0, len(words), INSERT_BATCH):
        conn.execute(insert(search_term), [{"term": w} for w in words[i : i + INSERT_BATCH]])
    conn.commit()
    inserted = time.perf_counter()
    conn.exec_driver_sql("ANALYZE search_term")
    conn.commit()
    return inserted - started, time.perf_counter() - inserted


def run_postgres(
    url: str, words: Sequence[str], qs: Sequence[Query]
) -> tuple[list[tuple[str, ...]], list[float], list[int]]:
    """Answers, latencies and candidate-row counts on a fresh database at ``url``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.commit()
        upgrade(engine)
        with engine.connect() as conn:
            if not search_pg.term_index_exists(conn):
                raise SystemExit(f"no {search_pg.TERMS_INDEX} index after the migrations")
            insert_s, analyze_s = load_postgres(conn, words)
            print(
                f"PostgreSQL load: {len(words):,} rows inserted in {insert_s:.1f}s "
                f"({len(words) / insert_s:,.0f}/s, GIN index maintained), "
                f"ANALYZE {analyze_s:.1f}s"
            )
            answers, latencies = timed(
                "PostgreSQL (pg_trgm)", lambda w: alternatives_of(conn, [w])[0], qs
            )
            conn.rollback()
            candidates = [
                len(conn.execute(search_pg.similar_terms(search_term, [q.word])).scalars().all())
                for q in qs
            ]
            conn.rollback()
    finally:
        engine.dispose()
    return answers, latencies, candidates


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--words", type=int, default=300_000, help="vocabulary size")
    parser.add_argument("--queries", type=int, default=500, help="queries per typo count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ORGBOOK_BENCH_PG_URL") or os.environ.get("ORGBOOK_TEST_PG_URL"),
        help="PostgreSQL admin URL (default: ORGBOOK_BENCH_PG_URL or ORGBOOK_TEST_PG_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_average("start")

    t0 = time.perf_counter()
    words = vocabulary(args.words, args.seed)
    generated = time.perf_counter() - t0
    lengths = [len(w) for w in words]
    print(
        f"vocabulary: {len(words):,} distinct words, mean length {statistics.fmean(lengths):.2f} "
        f"(median {statistics.median(lengths):.0f}, max {max(lengths)}), "
        f"generated in {generated:.1f}s"
    )
    qs = queries(words, args.queries, args.seed)
    mean_q = statistics.fmean(len(q.word) for q in qs)
    print(
        f"queries: {len(qs)} ({args.queries} with 1 typo, {args.queries} with 2), "
        f"mean length {mean_q:.2f}"
    )

    t0 = time.perf_counter()
    vocab = in_memory(words)
    print(f"in-memory load: Vocabulary built in {time.perf_counter() - t0:.2f}s")
    memory_answers, memory_latencies = timed(
        "in memory (alternatives)", lambda w: alternatives(vocab, w), qs
    )

    pg_result: tuple[list[tuple[str, ...]], list[float], list[int]] | None = None
    if args.pg:
        with scratch_database(args.pg, "orgbook_typo_bench", keep=args.keep) as url:
            pg_result = run_postgres(url, words, qs)
    else:
        print("PostgreSQL skipped: pass --pg URL or set ORGBOOK_BENCH_PG_URL/ORGBOOK_TEST_PG_URL")

    print()
    print(f"latency per lookup (wall), {len(words):,} words:")
    report("in memory (alternatives)", qs, memory_latencies)
    differ = 0
    if pg_result is not None:
        pg_answers, pg_latencies, candidates = pg_result
        report("PostgreSQL pg_trgm (alternatives_of)", qs, pg_latencies)
        for label, edits in (("1 typo", 1), ("2 typos", 2)):
            counts = [c for q, c in zip(qs, candidates, strict=True) if q.typos == edits]
            print(
                f"    candidate rows, {label:<7}: median {statistics.median(counts):.0f}, "
                f"max {max(counts)}"
            )
        differ = sum(a != b for a, b in zip(memory_answers, pg_answers, strict=True))
        print(f"answers differing between the two methods: {differ} (expected 0)")
        for q, a, b in itertools.islice(
            ((q, a, b) for q, a, b in zip(qs, memory_answers, pg_answers, strict=True) if a != b),
            5,
        ):
            print(f"    {q.word!r} (from {q.source!r}): in memory {a}, PostgreSQL {b}")
    found = sum(q.source in a for q, a in zip(qs, memory_answers, strict=True))
    print(f"source word among the alternatives: {found}/{len(qs)}")
    load_average("end")
    print(f"total {time.perf_counter() - started:.0f}s")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
