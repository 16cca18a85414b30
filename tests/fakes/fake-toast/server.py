#!/usr/bin/env python3
"""fake-toast: a stand-in for the Toast REST API, for the end-to-end tests and
the benchmark. Nothing in svc-toast knows it is talking to this.

    python3 tests/fakes/fake-toast/server.py --port 0 [--items 300]

prints "listening on <port>" on stdout once it serves. Endpoints (as Toast):
  POST /authentication/v1/authentication/login   {clientId, clientSecret, userAccessType}
  GET  /restaurants/v1/restaurants/{guid}         Bearer + Toast-Restaurant-External-ID
  GET  /menus/v2/metadata                         {restaurantGuid, lastUpdated}
  GET  /menus/v2/menus                            the menus document
A clientSecret starting with "wrong" is refused (401). Every restaurant gets a
generated menu: three menus, nested groups, modifier groups shared between
items, `items` items (default 300).

Switches, per restaurant GUID (or "*" for all), through the control endpoint:
  POST /__control/{guid}  {"fail_401": n, "fail_429": n, "retry_after": s,
                           "fail_500": n, "slow_ms": ms, "items": n,
                           "change_menu": true, "expires_in": s, "reset": true}
    fail_*: the next n authorised calls answer so (401 also forgets the token);
    change_menu: a new version of the menu (prices, a name, an item gone, an
    item added) and a later lastUpdated.
  GET  /__stats/{guid}   {"logins", "calls": {path: n}, "menus_calls": [unix ms]}
  POST /__reset          everything back to the start
"""

import argparse
import json
import secrets
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS = uuid.UUID("6f3c1f7e-8a57-4a5e-9d0b-2f4f3c7d9a10")
LOCK = threading.Lock()
DEFAULT_ITEMS = 300

# guid -> state; tokens -> (client_id, guid or None, expiry)
STATE = {}
TOKENS = {}
LOGINS = {}  # clientId -> count


def gid(*parts):
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


def state(guid):
    s = STATE.get(guid)
    if s is None:
        s = STATE[guid] = {"fail_401": 0, "fail_429": 0, "retry_after": 1, "fail_500": 0,
                           "slow_ms": 0, "items": DEFAULT_ITEMS, "version": 0,
                           "expires_in": 86400, "calls": {}, "menus_calls": [],
                           "logins": 0}
    return s


def switch(guid, key):
    """The value of a switch for guid, or of the "*" switches."""
    s = state(guid)
    star = STATE.get("*")
    if star and star.get(key) and not s.get(key):
        return star, star[key]
    return s, s.get(key)


def last_updated(version):
    base = 1_790_000_000 + version * 3600
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(base))


def build_menu(guid, n_items, version):
    """Three menus; groups nested two deep; shared modifier groups; n items."""
    mod_groups, mod_options = {}, {}
    ref = 1
    shared = []
    for g, (name, options) in enumerate([("Size", ["Small", "Medium", "Large"]),
                                         ("Add-ons", ["Cheese", "Bacon", "Avocado", "Egg"]),
                                         ("Temperature", ["Rare", "Medium", "Well done"]),
                                         ("Sauce", ["Ketchup", "Mayo", "BBQ"])]):
        opt_refs = []
        for o, oname in enumerate(options):
            oref = 100 + g * 10 + o
            mod_options[str(oref)] = {"referenceId": oref, "guid": gid(guid, "opt", g, o),
                                      "name": oname, "price": round(0.5 * o, 2)}
            opt_refs.append(oref)
        mod_groups[str(ref)] = {"referenceId": ref, "guid": gid(guid, "modgroup", g),
                                "name": name, "minSelections": 0, "maxSelections": len(options),
                                "modifierOptionReferences": opt_refs}
        shared.append(ref)
        ref += 1
    menus = []
    per_menu = [n_items // 3, n_items // 3, n_items - 2 * (n_items // 3)]
    index = 0
    for m, mname in enumerate(["Lunch", "Dinner", "Drinks"]):
        groups = []
        count = per_menu[m]
        parents = 3
        for p in range(parents):
            sub = []
            for c in range(2):
                sub.append({"guid": gid(guid, "group", m, p, c), "name": f"{mname} {p + 1}.{c + 1}",
                            "menuGroups": [], "menuItems": []})
            groups.append({"guid": gid(guid, "group", m, p), "name": f"{mname} {p + 1}",
                           "menuGroups": sub, "menuItems": []})
        leaves = [g for grp in groups for g in [grp] + grp["menuGroups"]]
        for i in range(count):
            item_no = index
            index += 1
            if version > 0 and item_no == n_items - 1:
                continue  # removed in every changed version
            price = round(5 + (item_no % 40) * 0.25, 2)
            name = f"Item {item_no}"
            if version > 0 and item_no == 0:
                price = round(price + version, 2)
            if version > 0 and item_no == 1:
                name = f"Item {item_no} v{version}"
            leaves[i % len(leaves)]["menuItems"].append({
                "guid": gid(guid, "item", item_no), "name": name, "price": price,
                "pricingStrategy": "BASE_PRICE", "plu": f"P{item_no:05d}",
                "sku": f"S{item_no:05d}", "visibility": ["POS", "ONLINE_ORDERING"],
                "modifierGroupReferences": [shared[item_no % 4], shared[(item_no + 1) % 4]]})
        if version > 0 and m == 0:
            leaves[0]["menuItems"].append({
                "guid": gid(guid, "item", "new", version), "name": f"New item v{version}",
                "price": 9.5, "pricingStrategy": "BASE_PRICE", "plu": "", "sku": "",
                "visibility": ["POS"], "modifierGroupReferences": [shared[0]]})
        menus.append({"guid": gid(guid, "menu", m), "name": mname, "menuGroups": groups})
    return {"restaurantGuid": guid, "lastUpdated": last_updated(version), "menus": menus,
            "modifierGroupReferences": mod_groups, "modifierOptionReferences": mod_options}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read /__stats
        pass

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw else {}

    # ---- control

    def control(self, guid):
        req = self.body()
        with LOCK:
            if req.get("reset"):
                STATE.pop(guid, None)
            s = state(guid)
            if req.get("change_menu"):
                s["version"] += 1
            for k in ("fail_401", "fail_429", "retry_after", "fail_500", "slow_ms", "items",
                      "expires_in"):
                if k in req:
                    s[k] = int(req[k])
            out = {k: v for k, v in s.items() if k not in ("calls", "menus_calls")}
        self.send_json(200, out)

    def stats(self, guid):
        with LOCK:
            s = state(guid)
            out = {"logins": s["logins"], "calls": dict(s["calls"]),
                   "menus_calls": list(s["menus_calls"]), "version": s["version"]}
        self.send_json(200, out)

    # ---- Toast

    def login(self):
        try:
            req = self.body()
        except ValueError:
            return self.send_json(400, {"message": "bad JSON"})
        cid, secret = req.get("clientId"), req.get("clientSecret")
        if req.get("userAccessType") != "TOAST_MACHINE_CLIENT" or not cid or not secret:
            return self.send_json(400, {"message": "clientId, clientSecret and userAccessType "
                                                   "TOAST_MACHINE_CLIENT are required"})
        if str(secret).startswith("wrong"):
            return self.send_json(401, {"message": "invalid credentials"})
        token = "tok-" + secrets.token_hex(24)
        with LOCK:
            LOGINS[cid] = LOGINS.get(cid, 0) + 1
            # The login does not name the restaurant: counted on the client id,
            # and on the guid at the first authorised call.
            TOKENS[token] = {"client": cid, "guid": None, "counted": False}
            expires = STATE.get("*", {}).get("expires_in", 86400)
        self.send_json(200, {"status": "SUCCESS", "token": {
            "tokenType": "Bearer", "accessToken": token, "expiresIn": expires}})

    def authorised(self, guid):
        """None when the call may go on, else it was answered."""
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with LOCK:
            s = state(guid)
            t = TOKENS.get(token)
            if t is not None and not t["counted"]:
                t["counted"] = True
                s["logins"] += 1
            sw, n401 = switch(guid, "fail_401")
            if t is not None and n401:
                sw["fail_401"] -= 1
                TOKENS.pop(token, None)
                t = None
        if t is None:
            self.send_json(401, {"message": "unauthorized"})
            return True
        return None

    def misbehave(self, guid):
        """Slowness, 429 and 500 switches; True when answered."""
        with LOCK:
            _, slow = switch(guid, "slow_ms")
            sw, n429 = switch(guid, "fail_429")
            if n429:
                sw["fail_429"] -= 1
                retry = sw.get("retry_after", 1)
            sw5, n500 = switch(guid, "fail_500")
            if not n429 and n500:
                sw5["fail_500"] -= 1
        if slow:
            time.sleep(slow / 1000)
        if n429:
            self.send_json(429, {"message": "too many requests"}, {"Retry-After": str(retry)})
            return True
        if n500:
            self.send_json(500, {"message": "internal error"})
            return True
        return False

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/__control/"):
            return self.control(path[len("/__control/"):])
        if path == "/__reset":
            with LOCK:
                STATE.clear()
                TOKENS.clear()
                LOGINS.clear()
            return self.send_json(200, {"ok": True})
        if path == "/authentication/v1/authentication/login":
            return self.login()
        self.send_json(404, {"message": "no such endpoint"})

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/__stats/"):
            return self.stats(path[len("/__stats/"):])
        guid = self.headers.get("Toast-Restaurant-External-ID", "")
        if path.startswith("/restaurants/v1/restaurants/"):
            if path.rsplit("/", 1)[1] != guid:
                return self.send_json(400, {"message": "restaurant header and path differ"})
        elif path not in ("/menus/v2/metadata", "/menus/v2/menus"):
            return self.send_json(404, {"message": "no such endpoint"})
        if not guid:
            return self.send_json(400, {"message": "Toast-Restaurant-External-ID is required"})
        with LOCK:
            calls = state(guid)["calls"]
            calls[path] = calls.get(path, 0) + 1
            if path == "/menus/v2/menus":
                state(guid)["menus_calls"].append(int(time.time() * 1000))
        if self.authorised(guid) or self.misbehave(guid):
            return
        with LOCK:
            s = state(guid)
            version, items = s["version"], s["items"]
        if path == "/menus/v2/metadata":
            return self.send_json(200, {"restaurantGuid": guid,
                                        "lastUpdated": last_updated(version)})
        if path == "/menus/v2/menus":
            return self.send_json(200, build_menu(guid, items, version))
        self.send_json(200, {"guid": guid, "general": {"name": f"Restaurant {guid[:8]}",
                                                       "timeZone": "America/New_York"}})


def main():
    global DEFAULT_ITEMS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--items", type=int, default=DEFAULT_ITEMS)
    args = ap.parse_args()
    DEFAULT_ITEMS = args.items
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"listening on {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
