"""One HTTP server on loopback, served by a daemon thread: the edge and the control plane."""

from __future__ import annotations

import threading
from socketserver import BaseServer


class ServerThread:
    """Serves ``server`` until :meth:`stop` (polling for shutdown every 50 ms)."""

    def __init__(self, server: BaseServer, name: str) -> None:
        self.server = server
        self.port: int = server.server_address[1]  # type: ignore[index]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=name,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
