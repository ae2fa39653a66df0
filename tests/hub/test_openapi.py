"""The hub's OpenAPI document (GET /openapi.json, from memory_hub.endpoints): it lists exactly
the routes the app serves, and every answer the hub gives matches the model it names."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from memory_core.ids import uuid7
from memory_hub.app import create_app
from tests.hub.ops import put, replica
from tests.hubs import HubHarness, hub_settings
from tests.openapi import documented_routes, served_routes


async def test_openapi_describes_every_route_the_hub_serves(hub: HubHarness) -> None:
    r = await hub.client().get("/openapi.json")  # no key: it holds nothing of anyone's
    assert r.status_code == 200, r.text
    described = documented_routes(r.json())
    served = served_routes(create_app(hub_settings("postgresql:///unused")))
    assert served - described == set()
    assert described - served == set()


class Checker:
    """Sends a request and validates its answer against the schema the document names for the
    answer's status."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked: set[tuple[str, str]] = set()

    async def __call__(
        self, client: httpx.AsyncClient, method: str, path: str, url: str = "", **sent: Any
    ) -> Any:
        response = await client.request(method, url or path, **sent)
        documented = self.spec["paths"][path][method.lower()]["responses"]
        schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
        root = {**schema, "components": self.spec["components"]}
        jsonschema.Draft202012Validator.check_schema(root)
        jsonschema.Draft202012Validator(root).validate(response.json())
        self.checked.add((path, method.lower()))
        return response.json()


async def test_answers_match_the_models_the_openapi_document_names(hub: HubHarness) -> None:
    alice, bob = hub.client("alice"), hub.client("bob")
    check = Checker((await alice.get("/openapi.json")).json())
    item = "/api/memories/{id}"

    await check(alice, "GET", "/health")
    await check(alice, "GET", "/api/auth-check")
    memory = {"content": "Schemas: zebra plan", "tags": "a,b"}
    stored = await check(alice, "POST", "/api/memories", json=memory)
    one, uuid = f"/api/memories/{stored['id']}", f"/api/memories/{stored['uuid']}"
    secret = await check(alice, "POST", "/api/memories", json={"content": "password=x1Y"})
    await check(alice, "GET", "/api/memories")
    await check(alice, "GET", item, one)
    await check(alice, "PUT", item, one, json={"importance": 0.9})
    await check(alice, "POST", "/api/memories/recall", json={"context": "zebra"})
    await check(alice, "POST", "/api/memories/{id}/secret", f"/api/memories/{secret['id']}/secret")
    await check(alice, "GET", "/api/memories/sync")
    paged = await check(alice, "GET", "/api/memories/sync", params={"limit": 1})
    assert "next" in paged
    await check(alice, "POST", "/api/memories/import", json=[{"content": "Schemas: imported"}])
    await check(alice, "POST", "/api/memories/migrate-secrets")
    await check(alice, "GET", "/api/stats")
    await check(alice, "GET", "/api/categories")
    await check(alice, "GET", "/api/tags")

    # Sharing, and a shared memory as its recipient reads it.
    share = {"shared_with": "bob", "permission": "write"}
    await check(alice, "POST", "/api/memories/{id}/share", f"{one}/share", json=share)
    tag_share = {"tag": "b", "shared_with": "bob"}
    await check(alice, "POST", "/api/memories/share-tag", json=tag_share)
    await check(alice, "GET", "/api/memories/my-shares")
    await check(alice, "GET", "/api/users")
    await check(bob, "GET", "/api/memories/shared-with-me")
    assert (await check(bob, "GET", item, uuid))["permission"] == "write"
    await check(bob, "GET", "/api/memories")
    await check(bob, "PUT", item, uuid, json={"importance": 0.7})
    await check(alice, "DELETE", "/api/memories/share-tag", json=tag_share)
    await check(alice, "DELETE", "/api/memories/{id}/share/{user}", f"{one}/share/bob")

    # Typed links.
    other = await check(alice, "POST", "/api/memories", json={"content": "Schemas: related"})
    link = {"target_id": other["id"], "link_type": "see-also"}
    await check(alice, "POST", "/api/memories/{id}/links", f"{one}/links", json=link)
    await check(alice, "GET", "/api/memories/{id}/links", f"{one}/links")
    await check(
        alice,
        "DELETE",
        "/api/memories/{id}/links/{dst}/{type}",
        f"{one}/links/{other['uuid']}/see-also",
    )

    await check(alice, "DELETE", item, one)
    await check(alice, "GET", item, one)  # the 404's error envelope
    await check(hub.client(), "GET", "/api/stats")  # the 401's

    rep = replica()
    ops = [put(rep, 1, uuid7(), hub.clock.ms << 16, content="Schemas: pushed", category="facts")]
    await check(alice, "POST", "/api/sync/push", json={"replica_id": rep, "ops": ops})
    await check(alice, "GET", "/api/sync/pull", params={"after": 0})

    # Every route that answers JSON was checked (/metrics answers Prometheus text).
    assert documented_routes(check.spec) - check.checked == {("/metrics", "get")}
