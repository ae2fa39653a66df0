"""`memory import` sends its file in batches, encoding the next while the daemon works on the
current one: the batches must still be every record, once, in order, each body its batch."""

from __future__ import annotations

import json

from memoryd.cli.transfer_cmd import IMPORT_BATCH, _encoded_ahead


def test_every_batch_goes_in_order_with_its_own_body() -> None:
    entries = [({"line": n + 1}, {"content": f"memory {n} ✓"}) for n in range(IMPORT_BATCH * 2 + 7)]
    sent = list(_encoded_ahead(entries))
    assert [len(batch) for batch, _ in sent] == [IMPORT_BATCH, IMPORT_BATCH, 7]
    assert [entry for batch, _ in sent for entry in batch] == entries
    for batch, body in sent:
        assert json.loads(body) == [item for _, item in batch]


def test_no_records_send_nothing() -> None:
    assert list(_encoded_ahead([])) == []
