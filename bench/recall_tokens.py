"""Tokens a memory_recall answer costs, full texts (the old default) against compact previews
(the new one), on the coding benchmark's dev split (bench/coding/).

A fresh real daemon is filled with bench/coding/memories.jsonl; for each dev prompt,
POST /api/memories/recall is asked as the MCP shim asks it (the prompt as `context`, the
session's project, limit 10), and the daemon's answer is rendered by the shim's own code
(mcp_shim.render / mcp_shim.compact) into what memory_recall returns: the text block and the
structured content. Then the memory_get a model would make for the needed memories the
previews show is rendered too.

Tokens are approximated as characters / 4 (no offline tokenizer ships with the `anthropic`
package; its count_tokens is an API call). The ratio between the two shapes is what matters,
and it does not depend much on the approximation.

Also reported: the hit rate of needed memories in the top 10 previews (the same ranking as
before: compact changes the shape, not the order), over the prompts that need any.

    python bench/recall_tokens.py [--semantic off] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "coding"))
sys.path.insert(0, str(HERE.parent))

from check_data import load  # noqa: E402
from session import daemon, store  # noqa: E402

from mcp_shim import compact, render  # noqa: E402

LIMIT = 10
CHARS_PER_TOKEN = 4


def tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def answer_tokens(structured: dict[str, Any], text: str) -> dict[str, int]:
    """What one tool answer costs: its text block, and the text plus the structured content
    (a client may pass either or both to the model)."""
    shown = tokens(text)
    both = shown + tokens(json.dumps(structured, ensure_ascii=False))
    return {"text": shown, "text+structured": both}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--semantic", choices=("on", "off"), default="off")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    memories, prompts, problems = load()
    if problems:
        raise SystemExit("\n".join(problems))
    dev = [p for p in prompts if p.split == "dev"]
    rows: list[dict[str, Any]] = []
    with daemon(sys.executable, args.semantic, None) as d:
        ids = store(d, memories, send_supersedes=False)
        now_ms = int(time.time() * 1000)
        for p in dev:
            out = d.client.post(
                "/api/memories/recall",
                json={"context": p.text, "project": p.project, "limit": LIMIT},
            ).json()
            full = answer_tokens(out, render.recalled(out, p.text, "relevance"))
            short = compact.compact(out, now_ms)
            small = answer_tokens(short, render.recalled_compact(short, p.text))
            shown = [m["id"] for m in out["memories"]]
            needed = [ids[k] for k in p.needs]
            found = [i for i in needed if i in shown]
            get_cost = {"text": 0, "text+structured": 0}
            if found:
                got = d.client.post("/api/memories/get", json={"ids": found}).json()
                get_cost = answer_tokens(got, render.got(got))
            rows.append(
                {
                    "prompt": p.key,
                    "kind": p.kind,
                    "needed": len(needed),
                    "found": len(found),
                    "full": full,
                    "compact": small,
                    "compact+get": {k: small[k] + get_cost[k] for k in small},
                }
            )
    summary: dict[str, Any] = {"prompts": len(rows), "chars_per_token": CHARS_PER_TOKEN}
    for shape in ("full", "compact", "compact+get"):
        for part in ("text", "text+structured"):
            summary[f"{shape} {part} mean"] = round(
                statistics.mean(r[shape][part] for r in rows), 1
            )
    needing = [r for r in rows if r["needed"]]
    summary["hit rate top10"] = round(
        sum(r["found"] for r in needing) / sum(r["needed"] for r in needing), 3
    )
    summary["prompts with all needed in top10"] = round(
        sum(r["found"] == r["needed"] for r in needing) / len(needing), 3
    )
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
