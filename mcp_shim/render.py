"""Short text renderings of tool results, for the model to read next to the structured output."""

from __future__ import annotations

from typing import Any

_PREVIEW = 300


def name(memory: dict[str, Any]) -> str:
    """How a memory is named to the model: its short integer id, when the store has one,
    beside its UUID (either works as an id)."""
    num = memory.get("num")
    return f"#{num} {memory['id']}" if num is not None else str(memory["id"])


def shared_mark(memory: dict[str, Any]) -> str:
    """ " [shared by bob]" for another user's memory shared with the caller, else nothing."""
    owner = memory.get("shared_by")
    return f" [shared by {owner}]" if owner else ""


def _one(memory: dict[str, Any], score: bool = False) -> str:
    head = f"- {name(memory)} [{memory['category']}] importance {memory['importance']:.1f}"
    if memory.get("project"):
        head += f", project {memory['project']}"
    head += shared_mark(memory)
    if score and "score" in memory:
        head += f", score {memory['score']:.2f}"
    content = " ".join(str(memory["content"]).split())
    if len(content) > _PREVIEW:
        content = content[:_PREVIEW] + "…"
    lines = [head, f"  {content}"]
    details = []
    if memory.get("tags"):
        details.append("tags: " + ", ".join(memory["tags"]))
    details.append("stored " + str(memory["created_at"])[:10])
    lines.append("  " + " | ".join(details))
    return "\n".join(lines)


def stored(out: dict[str, Any]) -> str:
    if out.get("duplicate_of"):
        return f"Already stored as {name(out)} [{out['category']}]; nothing new saved."
    text = f"Stored memory {name(out)} [{out['category']}] importance {out['importance']:.1f}."
    if out.get("is_sensitive"):
        text += " It looks sensitive: kept encrypted, readable only with secret_get."
    return text


def recalled(out: dict[str, Any], context: str, sort_by: str) -> str:
    memories = out["memories"]
    if not memories:
        return f"No memories found for: {context}"
    lines = [f"Found {len(memories)} memories (by {sort_by}):"]
    lines += [_one(m, score=True) for m in memories]
    return "\n".join(lines)


def recalled_compact(out: dict[str, Any], context: str) -> str:
    """One line per hit: what the model needs to choose which ids to read with memory_get."""
    memories = out["memories"]
    if not memories:
        return f"No memories found for: {context}"
    lines = [f"{len(memories)} memories (#short-id id [category] project age score: preview):"]
    for m in memories:
        where = f" {m['project']}" if m.get("project") else ""
        where += shared_mark(m)
        lines.append(
            f"{name(m)} [{m['category']}]{where} {m['age']} {m['score']:.2f}: {m['preview']}"
        )
    lines.append("Full texts: memory_get with the ids you need.")
    return "\n".join(lines)


def got(out: dict[str, Any]) -> str:
    lines = [_full(m) for m in out["memories"]]
    if out["not_found"]:
        lines.append("Not found: " + ", ".join(out["not_found"]))
    return "\n".join(lines) if lines else "No memories found."


def _full(memory: dict[str, Any]) -> str:
    head = f"- {name(memory)} [{memory['category']}] importance {memory['importance']:.1f}"
    if memory.get("project"):
        head += f", project {memory['project']}"
    head += shared_mark(memory)
    details = ["stored " + str(memory["created_at"])[:10]]
    if memory.get("tags"):
        details.insert(0, "tags: " + ", ".join(memory["tags"]))
    return "\n".join([head, str(memory["content"]), "  " + " | ".join(details)])


def listed(out: dict[str, Any]) -> str:
    memories = out["memories"]
    if not memories:
        return "No memories stored yet." if out["total"] == 0 else "No memories in that category."
    lines = [f"{len(memories)} of {out['total']} memories, newest first:"]
    lines += [_one(m) for m in memories]
    return "\n".join(lines)


def counted(out: dict[str, Any]) -> str:
    by_category = ", ".join(f"{k} {v}" for k, v in out["by_category"].items()) or "none"
    text = f"{out['total']} memories ({by_category})"
    if out.get("sensitive"):
        text += f"; {out['sensitive']} sensitive"
    return text + "."


def updated(out: dict[str, Any]) -> str:
    return "Updated:\n" + _one(out["memory"])


def deleted(out: dict[str, Any]) -> str:
    return f"Deleted memory {out['deleted']}: {out['preview']}"


def secret(out: dict[str, Any]) -> str:
    if not out["is_sensitive"]:
        return f"Memory {out['id']} is not marked sensitive; its content: {out['content']}"
    return f"Secret content of memory {out['id']}: {out['content']}"
