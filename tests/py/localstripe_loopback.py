"""localstripe (a stateful fake Stripe server, GPL, run as a separate test
process, never vendored) bound to 127.0.0.1 on a free port, keeping its state
in this process only.

Upstream binds every interface and pickles its store to a fixed file after
every write, so parallel instances would share it; this wrapper fixes both.
It prints the port it listens on as its first line, and exits when its
standard input closes: the test process that started it is gone.

Run: tests/py/.venv/bin/python tests/py/localstripe_loopback.py
"""

import asyncio
import os
import socket
import sys
import threading

from aiohttp import web
from localstripe import resources, server

resources.store.dump_to_disk = lambda: None


def exit_with_parent():
    sys.stdin.read()
    os._exit(0)


async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


threading.Thread(target=exit_with_parent, daemon=True).start()
asyncio.run(main())
