"""The hub's endpoint table (memory_core.http.routing): each route's method, path, handler and
wire models. The same table gives Starlette its routes and GET /openapi.json its document, so
no route is served undocumented.

Every hub handler authenticates the caller before it reads a body (a stranger's malformed body
is a 401, not a 422), and push and import read theirs with limits of their own, so each names
its body with `reads` (in the document) and reads it itself. Answers are shaped by the handlers;
`answer` names the model that describes them (memory_hub.answers)."""

from __future__ import annotations

from memory_core.http.routing import Endpoint, endpoint
from memory_core.wire import links, rest, sync
from memory_core.wire import sharing as wire
from memory_hub import answers, routes, sharing_routes

# Besides each endpoint's own: a bad or missing key (401), another user's memory (403), a rate
# limit or quota (429).
HUB_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)

# Sharing's literal paths (share-tag, shared-with-me, my-shares) come before
# /api/memories/{id}, and so do /api/memories/sync, recall, import and migrate-secrets: the
# first route whose path matches wins.
SHARING_ENDPOINTS: tuple[Endpoint, ...] = (
    endpoint(
        "POST",
        wire.SHARE_TAG_PATH,
        sharing_routes.share_tag,
        reads=wire.ShareTagIn,
        answer=wire.SharedTagOut,
    ),
    endpoint(
        "DELETE",
        wire.SHARE_TAG_PATH,
        sharing_routes.unshare_tag,
        reads=wire.UnshareTagIn,
        answer=wire.UnsharedTagOut,
    ),
    endpoint(
        "GET",
        wire.SHARED_WITH_ME_PATH,
        sharing_routes.shared_with_me,
        answer=answers.HubSharedWithMeOut,
    ),
    endpoint("GET", wire.MY_SHARES_PATH, sharing_routes.my_shares, answer=wire.MySharesOut),
    endpoint(
        "POST",
        wire.SHARE_PATH,
        sharing_routes.share_memory,
        reads=wire.ShareIn,
        answer=wire.SharedOut,
    ),
    endpoint("DELETE", wire.UNSHARE_PATH, sharing_routes.unshare_memory, answer=wire.UnsharedOut),
    endpoint("GET", wire.USERS_PATH, sharing_routes.users, answer=wire.UsersOut),
)

REST_ENDPOINTS: tuple[Endpoint, ...] = (
    endpoint("GET", "/health", routes.health, answer=answers.HubHealthOut, also=(503,)),
    endpoint("GET", "/metrics", routes.metrics),  # Prometheus text
    endpoint("GET", "/api/auth-check", routes.auth_check, answer=answers.HubAuthCheckOut),
    endpoint(
        "POST",
        "/api/memories",
        routes.create_memory,
        reads=rest.MemoryIn,
        answer=answers.HubStoredOut,
    ),
    endpoint(
        "GET",
        "/api/memories",
        routes.list_memories,
        answer=answers.HubListOut,
        query=("category", "tag", "project", "limit", "offset", "shared"),
    ),
    endpoint(
        "GET",
        "/api/memories/sync",
        routes.feed,
        answer=answers.HubFeedOut,
        query=("since", "limit", "after"),
    ),
    endpoint(
        "POST",
        "/api/memories/recall",
        routes.recall,
        reads=rest.RecallIn,
        answer=answers.HubRecallOut,
    ),
    endpoint(
        "POST",
        "/api/memories/import",
        routes.import_memories,
        reads=answers.HubImportIn,
        answer=answers.HubImportOut,
        query=("skip_invalid", "report"),
    ),
    endpoint(
        "POST",
        "/api/memories/migrate-secrets",
        routes.migrate_secrets,
        answer=answers.HubMigratedOut,
    ),
    endpoint("POST", "/api/memories/{id}/secret", routes.secret, answer=answers.HubSecretOut),
    endpoint(
        "POST",
        "/api/memories/{id}/links",
        routes.link,
        reads=links.LinkIn,
        answer=answers.HubLinkOut,
    ),
    endpoint("GET", "/api/memories/{id}/links", routes.links_of, answer=answers.HubLinksOut),
    endpoint(
        "DELETE",
        "/api/memories/{id}/links/{dst}/{type}",
        routes.unlink,
        answer=answers.HubUnlinkOut,
    ),
    endpoint("GET", "/api/memories/{id}", routes.get_memory, answer=answers.HubMemoryOut),
    endpoint(
        "PUT",
        "/api/memories/{id}",
        routes.update_memory,
        reads=rest.MemoryPatch,
        answer=answers.HubUpdatedOut,
    ),
    endpoint("DELETE", "/api/memories/{id}", routes.delete_memory, answer=answers.HubDeletedOut),
    endpoint("GET", "/api/stats", routes.stats, answer=rest.StatsOut),
    endpoint("GET", "/api/categories", routes.categories, answer=answers.HubCategoriesOut),
    endpoint("GET", "/api/tags", routes.tags, answer=answers.HubTagsOut),
)

SYNC_ENDPOINTS: tuple[Endpoint, ...] = (
    # Push admits the caller before it reads the body, and parses it in a thread.
    endpoint(
        "POST",
        sync.PUSH_PATH,
        routes.push,
        reads=sync.PushRequest,
        answer=sync.PushResponse,
    ),
    endpoint(
        "GET",
        sync.PULL_PATH,
        routes.pull,
        answer=sync.PullResponse,
        query=("after", "limit", "replica_id", "replica_seq_below"),
    ),
)

ENDPOINTS = (*SHARING_ENDPOINTS, *REST_ENDPOINTS, *SYNC_ENDPOINTS)
