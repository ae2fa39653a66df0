"""Recall with PostgreSQL full-text search, ranked like the daemon (memoryd.store.ranking).

Weights: content A, expanded_keywords B, tags C, in the daemon's BM25 proportions. PostgreSQL's
ts_rank plays BM25's part: normalised to the best candidate, then the same bounded multipliers
(coverage, importance, recency, project) apply.
"""

from __future__ import annotations

from typing import Any

from memory_hub.db import user_tx
from memory_hub.memories import COLUMNS, Hub
from memoryd.model import normalize_category
from memoryd.store import fts, ranking
from memoryd.wire import rest

# ts_rank weights are ordered {D, C, B, A}; the daemon's are content 10, keywords 4, tags 2.
_TOP = ranking.BM25_WEIGHTS[0]
TS_WEIGHTS = [0.0, ranking.BM25_WEIGHTS[2] / _TOP, ranking.BM25_WEIGHTS[1] / _TOP, 1.0]


def or_query(words: list[str]) -> str:
    """A to_tsquery text matching any word. fts.terms yields letters and digits only, and
    each is quoted, so no user text reaches tsquery syntax."""
    return " | ".join("'" + w.replace("'", "") + "'" for w in words)


async def recall(hub: Hub, user: str, body: rest.RecallIn) -> list[dict[str, Any]]:
    words = fts.terms(f"{body.context} {body.expanded_query}")
    if not words:
        return []
    args: list[Any] = [user, TS_WEIGHTS, or_query(words)]
    where = [
        "m.user_id = $1",
        "m.deleted_ms IS NULL",
        "NOT m.is_sensitive",
        "m.search_vector @@ q.q",
    ]
    if body.category:
        args.append(normalize_category(body.category))
        where.append(f"m.category = ${len(args)}")
    pool = max(body.limit * ranking.POOL_FACTOR, ranking.POOL_MIN)
    sql = (
        f"SELECT {', '.join('m.' + c.strip() for c in COLUMNS.split(', '))}, "
        "ts_rank($2::float4[], m.search_vector, q.q) AS rank "
        "FROM memories m, to_tsquery('english', $3) AS q(q) "
        f"WHERE {' AND '.join(where)} ORDER BY rank DESC, m.id LIMIT {pool}"
    )
    async with user_tx(hub.pool, user) as conn:
        await hub._e2e_guard(conn, user)
        rows = await conn.fetch(sql, *args)
    if not rows:
        return []
    stems = sorted({fts.stem(w) for w in words})
    best = -max(float(r["rank"]) for r in rows)
    now = hub.clock.now_ms()
    scored = []
    for row in rows:
        text = " ".join((row["content"] or "", row["expanded_keywords"], " ".join(row["tags"])))
        present = fts.stems(text)
        covered = ranking.coverage([w in present for w in stems], [1.0] * len(stems))
        candidate = ranking.Candidate(
            relevance=ranking.lexical(-float(row["rank"]), best, covered),
            importance=row["importance"],
            age_days=max(0, now - row["updated_ms"]) / 86_400_000,
            project=row["project"],
        )
        scored.append((row, ranking.score(candidate, body.project)))
    if body.sort_by == "importance":
        scored.sort(key=lambda pair: (pair[0]["importance"], pair[1]), reverse=True)
    elif body.sort_by == "recency":
        scored.sort(key=lambda pair: pair[0]["updated_ms"], reverse=True)
    else:
        scored.sort(key=lambda pair: pair[1], reverse=True)
    return [{**hub.out(row), "score": round(s, 6)} for row, s in scored[: body.limit]]
