"""Recall with PostgreSQL full-text search, ranked like the daemon (memoryd.store.memories).

The query plan is the daemon's (`fts.plan`: the same terms, stopwords and context/expanded
weights). PostgreSQL fetches the candidate pool, ranked with weights content A, expanded_keywords
B, tags C in the daemon's BM25 proportions; then each candidate is rescored in Python with the
shared functions, as the daemon does: rank relative to the best candidate, times term coverage
and the adjacent-pair proximity bonus (`ranking.lexical`), then importance, recency and project
(`ranking.score`). A superseded memory is placed below its successor, which it brings in
(`memory_core.recall.succession`, as on the daemon).
"""

from __future__ import annotations

from typing import Any

from memory_core.model import normalize_category
from memory_core.recall import fts, ranking
from memory_core.recall.succession import rank
from memory_core.wire import rest
from memory_hub import visibility
from memory_hub.db import user_tx
from memory_hub.memories import COLUMNS, Hub
from memory_hub.succession import successors

# ts_rank weights are ordered {D, C, B, A}; the daemon's are content 10, keywords 4, tags 2.
_TOP = ranking.BM25_WEIGHTS[0]
TS_WEIGHTS = [0.0, ranking.BM25_WEIGHTS[2] / _TOP, ranking.BM25_WEIGHTS[1] / _TOP, 1.0]

# Each term's ts_rank is taken with normalisation 32, rank / (rank + 1): it saturates with the
# term's frequency as BM25's does. Length normalisation (1, 2, 16) and ts_rank_cd were measured
# on the LoCoMo dev conversations (bench/locomo.py --target hub --split dev) and did no better.
RANK_FUNCTION = "ts_rank"
NORMALIZATION = 32


def or_query(words: list[str]) -> str:
    """A to_tsquery text matching any word. fts.terms yields letters and digits only, and
    each is quoted, so no user text reaches tsquery syntax."""
    return " | ".join("'" + w.replace("'", "").replace("\\", "") + "'" for w in words)


async def recall(hub: Hub, user: str, body: rest.RecallIn) -> list[dict[str, Any]]:
    plan = fts.plan(body.context, body.expanded_query)
    if not plan.terms:
        return []
    args: list[Any] = [user, TS_WEIGHTS, or_query(plan.terms), plan.terms]
    async with user_tx(hub.pool, user) as conn:
        await hub._e2e_guard(conn, user)
        # Memories other users share with this one too (memory_hub.sharing), if any.
        shared = await visibility.has_incoming(conn, user)
        rows = list(await conn.fetch(_sql(body, args, shared), *args))
        if not rows:
            return []
        heads = await _with_successors(conn, user, body, rows, shared)
    return _ranked(hub, user, body, plan, rows, heads)


def _sql(body: rest.RecallIn, args: list[Any], shared: bool) -> str:
    """The candidate pool's query; appends its parameters beyond the first four to `args`."""
    live = "m.deleted_ms IS NULL AND NOT m.is_sensitive"
    scope = f"{visibility.visible('m', '$1', shared)} AND {live}"
    category = ""
    if body.category:
        args.append(normalize_category(body.category))
        category = f"WHERE m.category = ${len(args)}"
    pool = max(body.limit * ranking.POOL_FACTOR, ranking.POOL_MIN)
    term_rank = f"{RANK_FUNCTION}($2::float4[], m.search_vector, i.tq, {NORMALIZATION})"
    # ts_rank knows nothing of how rare a word is, which BM25 weighs most: rank each term
    # alone and weigh it by BM25's inverse document frequency. The frequencies are counted
    # among the user's rows the OR query matches (which PostgreSQL visits anyway), ignoring the
    # category filter as the daemon's BM25 does. Counting all the user's rows for N instead
    # scored the same on the LoCoMo dev conversations and cost ~30 ms at 100k memories.
    columns = ", ".join("m." + c.strip() for c in COLUMNS.split(", "))
    return (
        "WITH matched AS MATERIALIZED ("
        "SELECT m.user_id, m.id, m.category, m.search_vector FROM memories m "
        f"WHERE {scope} AND m.search_vector @@ to_tsquery('english', $3)), "
        "total AS MATERIALIZED ("
        "SELECT count(*)::float8 AS n FROM matched), "
        "idf AS MATERIALIZED ("
        "SELECT t.tq, ln(1 + (total.n - d.df + 0.5) / (d.df + 0.5)) AS w "
        "FROM (SELECT DISTINCT plainto_tsquery('english', w) AS tq FROM unnest($4::text[]) w) t "
        "CROSS JOIN total, "
        "LATERAL (SELECT count(*) AS df FROM matched m WHERE m.search_vector @@ t.tq) d "
        "WHERE d.df > 0), "
        "top AS ("
        f"SELECT m.user_id AS top_user, m.id AS top_id, "
        f"(SELECT sum(i.w * {term_rank}) FROM idf i) AS rank "
        f"FROM matched m {category} ORDER BY rank DESC, m.id LIMIT {pool}) "
        f"SELECT {columns}, m.user_id, top.rank FROM top "
        "JOIN memories m ON m.user_id = top.top_user AND m.id = top.top_id "
        "ORDER BY top.rank DESC, m.id"
    )


async def _with_successors(
    conn: Any, user: str, body: rest.RecallIn, rows: list[Any], shared: bool
) -> dict[str, str]:
    """Each superseded candidate's successor, brought into `rows` when absent (the newer memory
    is found wherever the older one would have been), as the daemon does; a successor the
    category filter leaves out only marks the older one."""
    heads = await successors(conn, user, [r["id"] for r in rows])
    absent = sorted(set(heads.values()) - {r["id"] for r in rows})
    if absent:
        found: list[Any] = [user, absent]
        also = ""
        if body.category:
            found.append(normalize_category(body.category))
            also = " AND m.category = $3"
        scope = f"{visibility.visible('m', '$1', shared)} AND m.deleted_ms IS NULL"
        columns = ", ".join("m." + c.strip() for c in COLUMNS.split(", "))
        rows += await conn.fetch(
            f"SELECT {columns}, m.user_id, 0.0::float4 AS rank FROM memories m "
            f"WHERE {scope} AND NOT m.is_sensitive AND m.id = ANY($2::text[]){also}",
            *found,
        )
    return heads


def _ranked(
    hub: Hub,
    user: str,
    body: rest.RecallIn,
    plan: fts.Plan,
    rows: list[Any],
    heads: dict[str, str],
) -> list[dict[str, Any]]:
    # ranking.lexical takes SQLite's BM25 sign (lower is better): negate ts_rank.
    best = -max(float(r["rank"]) for r in rows)
    wanted = [fts.stem(t) for t in plan.terms]
    now = hub.clock.now_ms()
    scored = []
    for row in rows:
        text = " ".join((row["content"] or "", row["expanded_keywords"], " ".join(row["tags"])))
        candidate = ranking.Candidate(
            relevance=ranking.text_relevance(text, -float(row["rank"]), best, wanted, plan.weights),
            importance=row["importance"],
            age_days=ranking.age_days(now, row["updated_ms"]),
            project=row["project"],
        )
        scored.append((row, ranking.score(candidate, body.project)))
    ranking.order(scored, body.sort_by)
    # No superseded memory above its successor (memory_core.recall.succession).
    placed = rank([(r["id"], s) for r, s in scored], heads, body.sort_by == "relevance")
    by_id = {r["id"]: r for r, _ in scored}
    return [
        visibility.marked(
            {**hub.out(by_id[p.id]), "score": round(p.score, 6)}, by_id[p.id]["user_id"], user
        )
        for p in placed[: body.limit]
        if p.score > 0
    ]
