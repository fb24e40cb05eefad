"""A misbehaving upstream for the gateway's failure tests (Tests/mcp/test_gateway.py).

Run: python3 bad_upstream.py MODE PORT, with MODE one of
- `garbage`: reads the request, answers bytes that are not HTTP, and closes;
- `hang`: accepts connections, reads what comes, and never answers;
- `die-mid-stream`: answers `HTTP/1.1 200` with `Content-Type: text/event-stream`
  (chunked), sends one SSE event (a JSON-RPC progress notification), waits a moment,
  then resets the connection without ending the body.
Prints `bad upstream (MODE) ready on 127.0.0.1:PORT` (flushed) once it listens. Every
request it received is appended to stderr as one line: its request line.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time

MODES = ("garbage", "hang", "die-mid-stream")
GARBAGE = b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\x16\x03\x01 garbage garbage\r\n\r\n"
SSE_EVENT = (
    "event: message\r\n"
    "data: " + json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                           "params": {"progressToken": "t", "progress": 1, "total": 2}}) + "\r\n\r\n"
).encode()


def read_request(connection: socket.socket) -> bytes:
    """The request head and as much of the body as Content-Length announces (bounded)."""
    data = b""
    connection.settimeout(10)
    try:
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return head
    except (OSError, ValueError):
        return data
    finally:
        connection.settimeout(None)


def reset(connection: socket.socket) -> None:
    """Closes with a TCP RST (SO_LINGER 0): an abrupt end, no FIN handshake."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    connection.close()


def serve(mode: str, connection: socket.socket) -> None:
    head = read_request(connection)
    sys.stderr.write(head.split(b"\r\n", 1)[0].decode("latin-1", "replace") + "\n")
    sys.stderr.flush()
    try:
        if mode == "garbage":
            connection.sendall(GARBAGE)
            time.sleep(0.2)
            connection.close()
        elif mode == "hang":
            # Keep the connection open, reading (and dropping) whatever else arrives.
            while connection.recv(65536):
                pass
            connection.close()
        else:
            connection.sendall(
                b"HTTP/1.1 200 OK\r\n"
                b"Content-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n"
                b"\r\n"
                + f"{len(SSE_EVENT):x}\r\n".encode() + SSE_EVENT + b"\r\n"
            )
            time.sleep(0.5)
            reset(connection)
    except OSError:
        connection.close()


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.exit(f"usage: bad_upstream.py {{{'|'.join(MODES)}}} PORT")
    mode, port = sys.argv[1], int(sys.argv[2])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"bad upstream ({mode}) ready on 127.0.0.1:{port}", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(mode, connection), daemon=True).start()


if __name__ == "__main__":
    main()
