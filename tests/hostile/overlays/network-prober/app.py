"""Looks for a way out before serving: interfaces, routes, raw and packet sockets. It sends
nothing to any address but the pod's own loopback; what it finds goes to stdout as one JSON line."""

import json
import os
import socket

from reference_app import serve


def attempt(action) -> str:  # type: ignore[no-untyped-def]
    try:
        action()
    except OSError as exc:
        return f"refused: {exc.strerror or exc}"
    return "allowed"


def raw_socket() -> None:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()


def packet_socket() -> None:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()


with open("/proc/net/route") as handle:
    routes = [line.split() for line in handle.read().splitlines()[1:] if line.strip()]
with open("/proc/net/ipv6_route") as handle:
    routes6 = [line.split() for line in handle.read().splitlines() if line.strip()]
report = {
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "routes": routes,
    "routes6_not_loopback": [r for r in routes6 if r[-1] != "lo"],
    "raw_socket": attempt(raw_socket),
    "packet_socket": attempt(packet_socket),
}
print("NETWORK-REPORT " + json.dumps(report), flush=True)

if __name__ == "__main__":
    serve()
