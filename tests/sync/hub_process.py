"""The in-memory test hub as a real process (uvicorn on a TCP port), its log saved to a file
after every push so that a stopped and restarted hub keeps what it acknowledged.

    python -m tests.sync.hub_process PORT STATE_FILE
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from memoryd.clock import SystemClock
from tests.sync.memhub import MemHub


class PersistentHub(MemHub):
    def __init__(self, state: Path) -> None:
        super().__init__(SystemClock())
        self.state = state
        if state.exists():
            self.users = pickle.loads(state.read_bytes())

    async def push(self, request: Request) -> Response:
        response = await super().push(request)
        tmp = self.state.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self.users))
        tmp.replace(self.state)
        return response


def main() -> None:
    port, state = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(PersistentHub(state).app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
