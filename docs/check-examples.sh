#!/usr/bin/env bash
# Runs every GraphQL example of the migration guides against a throwaway Switchboard server.
#
#   docs/check-examples.sh            # uses target/debug/switchboard (or $CARGO_TARGET_DIR)
#   SWITCHBOARD_BIN=/path/to/switchboard docs/check-examples.sh
#   VERBOSE=1 docs/check-examples.sh  # also prints every response
#
# Needs: a built switchboard binary, python3 (standard library only), curl.
#
# Each ```graphql block of the guides is one example; a ```json block right after it holds its
# variables. Examples run in file order on a fresh SQLite database, so the ids the guides show are
# the ids the server hands out. Queries and mutations go over HTTP. Subscriptions go over the
# websocket (graphql-transport-ws) and stay open while the next example runs (usually the mutation
# that triggers them); they pass unless the server answers with an error, and the output says
# whether an event arrived. Markers on the line before a block:
#   <!-- check: expect CODE -->   the example must fail with extensions.code CODE
#   <!-- check: upload -->        send as a multipart upload of the CSV in the next ```sh block
#   <!-- check: as-contact -->    run with the token the last issueContactToken example returned
#   <!-- check: resume -->        set variables.after to the last event position a subscription
#                                 example received (`extensions.position`), replacing the
#                                 placeholder the guide shows; an event must arrive at once
#                                 (the replay of what followed that position)
set -euo pipefail

docs=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$docs")
bin=${SWITCHBOARD_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/switchboard}
[ -x "$bin" ] || { echo "no switchboard binary at $bin (build it, or set SWITCHBOARD_BIN)" >&2; exit 2; }

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export JWT_SECRET=check-examples
common=(--database-url "sqlite://$work/sb.db?mode=rwc" --import-dir "$work/imports")

"$bin" "${common[@]}" create-account --name Acme --admin-email admin@acme.test \
  --admin-password 'correct horse battery' >/dev/null 2>"$work/create.log" \
  || { cat "$work/create.log" >&2; exit 1; }
"$bin" "${common[@]}" --listen-addr "127.0.0.1:$port" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
token=$("$bin" "${common[@]}" token --email admin@acme.test 2>/dev/null)

python3 - "127.0.0.1:$port" "$token" "$docs/migrating-rest-contacts.md" "$docs/migrating-actioncable.md" <<'PY'
import base64, json, os, re, socket, struct, sys, time, urllib.request

addr, admin_token, files = sys.argv[1], sys.argv[2], sys.argv[3:]
host, port = addr.split(":")


def examples(path):
    """(line, marker, document, variables, following ```sh text) for each ```graphql block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0  # (start line index, language, text)
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            blocks.append((i, m.group(1), "\n".join(lines[i + 1:j]), j))
            i = j + 1
        else:
            i += 1
    out = []
    for n, (start, lang, text, end) in enumerate(blocks):
        if lang != "graphql":
            continue
        prev = next((l for l in reversed(lines[:start]) if l.strip()), "")
        m = re.match(r"<!-- check: (.*) -->", prev.strip())
        marker = m.group(1).strip() if m else ""
        variables, sh = {}, ""
        following = blocks[n + 1] if n + 1 < len(blocks) else None
        if following and following[1] == "json" and not "".join(lines[end + 1:following[0]]).strip():
            variables = json.loads(following[2])
        for later in blocks[n + 1:n + 4]:
            if later[1] == "sh":
                sh = later[2]
                break
        out.append((start + 1, marker, text, variables, sh))
    return out


def post(body, token, headers=None, data=None):
    req = urllib.request.Request(f"http://{addr}/graphql", method="POST",
                                 data=data if data is not None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {"Content-Type": "application/json"}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def upload(document, variables, csv_text, token):
    boundary = "check-examples-boundary"
    ops = json.dumps({"query": document, "variables": {**variables, "file": None}})
    parts = [
        ("operations", None, ops),
        ("map", None, json.dumps({"0": ["variables.file"]})),
        ("0", "contacts.csv", csv_text),
    ]
    body = b""
    for name, filename, content in parts:
        body += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"".encode()
        if filename:
            body += f"; filename=\"{filename}\"\r\nContent-Type: text/csv".encode()
        body += b"\r\n\r\n" + content.encode() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "GraphQL-Require-Preflight": "1"}
    return post(None, token, headers, body)


class Ws:
    """Just enough of a websocket client for graphql-transport-ws."""

    def __init__(self):
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /graphql/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(head.decode(errors="replace"))

    def send(self, message):
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("socket closed")
            data += chunk
        return data

    def recv(self, timeout):
        """The next JSON message, or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                b0, b1 = self.exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", self.exact(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", self.exact(8))[0]
                payload = self.exact(n)
                opcode = b0 & 0x0F
                if opcode == 8:
                    code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                    raise EOFError(f"closed {code} {payload[2:].decode(errors='replace')}")
                if opcode == 1:
                    return json.loads(payload)
        except socket.timeout:
            return None


def subscribe(document, variables, token):
    """Opens the subscription. Returns (result, None) when it answered at once (an error, a first
    snapshot), else (None, socket) to read after the next example, which usually triggers it."""
    ws = Ws()
    ws.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    ack = ws.recv(5)
    if not ack or ack.get("type") != "connection_ack":
        ws.sock.close()
        return {"errors": [{"message": f"no connection_ack: {ack}"}]}, None
    ws.send({"id": "1", "type": "subscribe", "payload": {"query": document, "variables": variables}})
    result = first_message(ws, 0.5)
    if result is None:
        return None, ws
    ws.sock.close()
    return result, None


def first_message(ws, timeout):
    message = ws.recv(timeout)
    if message is None:
        return None
    if message.get("type") == "next":
        return message["payload"]
    if message.get("type") == "error":
        return {"errors": message["payload"]}
    return {"errors": [{"message": f"unexpected {message}"}]}


contact_token, failures, count, pending, last_position = None, 0, 0, None, None


def remember_position(result):
    """Keeps the position of a subscription's event, for the next `resume` example."""
    global last_position
    position = (result.get("extensions") or {}).get("position")
    if isinstance(position, str):
        last_position = position


def report(label, marker, result, note=""):
    global failures
    errors = result.get("errors") or []
    codes = [e.get("extensions", {}).get("code") for e in errors]
    if marker.startswith("expect "):
        ok = codes[:1] == [marker.split()[1]]
    else:
        ok = not errors and result.get("data") is not None
    print(f"{'ok  ' if ok else 'FAIL'} {label}{note}" + ("" if ok else f": {json.dumps(result)}"))
    if ok and os.environ.get("VERBOSE"):
        print("     " + json.dumps(result))
    failures += not ok


def settle(wait):
    """Reports the pending subscription: its first event, or that none came (not a failure)."""
    global pending
    if pending:
        ws, label, marker = pending
        pending = None
        try:
            result = first_message(ws, wait)
        finally:
            ws.sock.close()
        if result is None:
            report(label, marker, {"data": {}}, " (valid; no event within the wait)")
        else:
            remember_position(result)
            report(label, marker, result, " (received an event)")


for path in files:
    name = os.path.basename(path)
    for line, marker, document, variables, sh in examples(path):
        count += 1
        token = contact_token if marker == "as-contact" else admin_token
        op = re.search(r"\b(query|mutation|subscription)\s+(\w+)", document)
        label = f"{name}:{line} {op.group(2) if op else document.split()[0]}"
        if marker == "as-contact" and not token:
            settle(0)
            report(label, "", {"errors": [{"message": "no contact token issued before it"}]})
            continue
        if document.lstrip().startswith("subscription"):
            settle(0)
            if marker == "resume":
                if not last_position:
                    report(label, "", {"errors": [{"message": "no event position before it"}]})
                    continue
                variables = {**variables, "after": last_position}
            result, ws = subscribe(document, variables, token)
            if ws and marker == "resume":
                ws.sock.close()
                report(label, "", {"errors": [{"message": "no event replayed after " + last_position}]})
            elif ws:
                pending = (ws, label, marker)
            else:
                remember_position(result)
                report(label, marker, result)
            continue
        if marker == "upload":
            csv = re.search(r"<<'CSV'\n(.*?\n)CSV", sh, re.S)
            result = upload(document, variables, csv.group(1), token)
        else:
            result = post({"query": document, "variables": variables}, token)
        report(label, marker, result)
        settle(2)
        data = result.get("data")
        if isinstance(data, dict) and isinstance(data.get("issueContactToken"), str):
            contact_token = data["issueContactToken"]
        if marker == "upload" and isinstance(data, dict) and data.get("importContacts"):
            # Let the background import finish before the examples that rely on its contacts.
            import_id = data["importContacts"]["id"]
            for _ in range(100):
                state = post({"query": "query($id: ID!) { dataImport(id: $id) { status } }",
                              "variables": {"id": import_id}}, admin_token)
                if state["data"]["dataImport"]["status"] in ("COMPLETED", "FAILED"):
                    break
                time.sleep(0.1)
settle(1)

print(f"{count - failures}/{count} examples passed")
sys.exit(1 if failures else 0)
PY
