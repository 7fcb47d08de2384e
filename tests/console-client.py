#!/usr/bin/python3
"""A websocket client for tests/console.sh (Debian's python3-websocket).

  console-client.py rfb URL [binary|base64|none]
      open the console URL the API gave (noVNC's ?path=%3Ftoken%3D... or
      ?token=...), read the VNC server's "RFB 003.008" through the proxy,
      answer it and read the security types; a ping must come back as a pong
      and a close as a close.  Prints what it saw, one fact a line.
  console-client.py serial URL
      open a serial console URL (ws://...?token=...) and print what the
      console says first.
  console-client.py refused URL [cookie]
      the proxy must refuse the handshake; prints the HTTP status.  With
      `cookie` the token goes in a Cookie header, as noVNC can send it.
"""
import base64
import sys
import urllib.parse

import websocket


def ws_url(url):
    """The proxy's websocket URL from the console URL the API handed out."""
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qs(u.query)
    if "path" in q:  # noVNC: the token is inside path
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(q["path"][0]).query)
    scheme = "wss" if u.scheme in ("https", "wss") else "ws"
    return "%s://%s/" % (scheme, u.netloc), q["token"][0]


def payload(ws, proto):
    op, frame = ws.recv_data_frame(True)
    data = frame.data
    if proto == "base64":
        assert op == websocket.ABNF.OPCODE_TEXT, "base64 answers come as text frames"
        data = base64.b64decode(data)
    return op, data


def rfb(url, proto):
    base, token = ws_url(url)
    protos = None if proto == "none" else [proto]
    ws = websocket.create_connection(base + "?token=" + token, subprotocols=protos, timeout=10)
    print("subprotocol", ws.getsubprotocol())
    op, data = payload(ws, proto)
    print("server says", data.decode().strip())
    reply = b"RFB 003.008\n"
    if proto == "base64":
        ws.send(base64.b64encode(reply).decode())
    else:
        ws.send_binary(reply)
    op, data = payload(ws, proto)
    print("security types", len(data) > 1 and data[0] == len(data) - 1)
    ws.ping(b"are you there")
    op, frame = ws.recv_data_frame(True)
    print("pong", op == websocket.ABNF.OPCODE_PONG and frame.data == b"are you there")
    ws.send_close(websocket.STATUS_NORMAL)
    op, frame = ws.recv_data_frame(True)
    print("close", op == websocket.ABNF.OPCODE_CLOSE and frame.data[:2] == b"\x03\xe8")
    ws.shutdown()


def serial(url):
    ws = websocket.create_connection(url, subprotocols=["binary"], timeout=10)
    data = b""
    while b"\n" not in data:
        data += ws.recv()
    print(data.decode(errors="replace").splitlines()[0])
    ws.close()


def refused(url, how):
    base, token = ws_url(url)
    try:
        if how == "cookie":
            ws = websocket.create_connection(base, cookie="token=" + token, timeout=10)
        else:
            ws = websocket.create_connection(base + "?token=" + token, timeout=10)
    except websocket.WebSocketBadStatusException as e:
        print("status", e.status_code)
        return
    print("status 101")
    if how == "cookie":  # accepted: show that the cookie worked
        print("server says", ws.recv().decode().strip())
    ws.close()


if __name__ == "__main__":
    if sys.argv[1] == "rfb":
        rfb(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "binary")
    elif sys.argv[1] == "serial":
        serial(sys.argv[2])
    else:
        refused(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "query")
