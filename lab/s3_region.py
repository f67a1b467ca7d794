"""One region's S3 emulator: a moto server in its own process, on 127.0.0.1, port 0.

Run by the lab as ``python -m asset_delivery.lab.s3_region --region <r>``. It binds an ephemeral
port, prints ``PORT <n>`` on stdout for the parent to read, and serves until killed.
It also exits when its stdin reaches end of file, so an emulator never outlives a lab
that died without cleaning up (the parent holds the other end of the pipe).
Killing this process is the lab's regional outage; its state is in memory only.
With ``LAB_S3_ACCESS`` in its environment (the region's ``AccessRules`` as JSON)
every request first passes ``lab/s3_access.py``: signatures verified, principals
authorised, as S3 does.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

ACCESS_ENV = "LAB_S3_ACCESS"


def _exit_when_parent_goes(stream) -> None:
    """Block until the parent closes our stdin, then leave without cleanup."""
    try:
        while stream.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve one region's buckets until killed or orphaned."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:
            """The lab counts requests itself; werkzeug's access log is noise here."""

    app = DomainDispatcherApplication(create_backend_app)
    access = os.environ.get(ACCESS_ENV)
    if access:
        from .s3_access import AccessCheck, AccessRules

        app = AccessCheck(app, AccessRules.from_json(access))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=_exit_when_parent_goes, args=(sys.stdin.buffer,), daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
