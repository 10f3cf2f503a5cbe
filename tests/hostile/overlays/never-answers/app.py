"""Accepts connections on the port and never answers any of them."""

import os
import socket
import time

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(os.environ["PORT"])))  # noqa: S104
server.listen(128)
held = []
while True:
    connection, _ = server.accept()
    held.append(connection)
    time.sleep(0.01)
