"""The gateway's event loops never wait on PostgreSQL (auth_nowait.c): a
credential the gateway has not seen is looked up on civetweb's threads, and a
known one whose cache entry ran out is used while it is loaded again. Shown
with the table of the lookup locked, so that the lookup waits as long as the
test wants: connections with known credentials are answered meanwhile."""

import socket
import subprocess
import time

import requests

from promtext import Metrics

from test_auth import claims_of, create_user, mint
from test_gateway_loop import HEALTH, Reader, connect, head

CACHE_TTL_S = 10  # AUTH_CACHE_TTL_MS
CONNS = 16  # over the loops (SO_REUSEPORT): some all but surely share the lookup's loop


class TableLock:
    """An ACCESS EXCLUSIVE lock on a table, held by a psql session until
    release(): every query that reads the table waits for it."""

    def __init__(self, pg, table):
        prefix = ["runuser", "-u", "postgres", "--"] if pg.as_root else []
        self.p = subprocess.Popen(
            prefix + [str(pg.bindir / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                      "-h", "127.0.0.1", "-p", str(pg.port), "-U", "brain", "-d", "brain"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/tmp")
        self.p.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT 'held';\n")
        self.p.stdin.flush()
        assert self.p.stdout.readline().strip() == "held"

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.write("ROLLBACK;\n")
            self.p.stdin.close()
            self.p.wait(timeout=30)


def new_key(suite, admin):
    r = requests.post(f"{suite.gateway.url}/api/auth/api-keys", headers=admin,
                      json={"name": "loop lookup", "role": "staff"}, timeout=10)
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


def warm(suite, headers):
    """CONNS connections, each answered once with headers. A first request on
    a connection of its own puts the credential in the cache (were it not
    there, the request's connection would be handed to civetweb): these are
    the loops' connections."""
    r = requests.get(suite.gateway.url + HEALTH, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    conns = []
    for _ in range(CONNS):
        s = connect(suite)
        conns.append((s, Reader(s)))
    for s, rd in conns:
        s.sendall(head("GET", HEALTH, headers))
        assert rd.next()[0] == 200
    return conns


def answered_meanwhile(conns, headers, within_s=3):
    """Every connection answers a request within within_s."""
    for s, rd in conns:
        s.settimeout(within_s)
        s.sendall(head("GET", HEALTH, headers))
        try:
            assert rd.next()[0] == 200
        except (socket.timeout, TimeoutError):
            raise AssertionError("a connection with a known credential waited on the lookup")


def close_all(conns):
    for s, _ in conns:
        s.close()


def looked_up_off_the_loops(suite, admin, table, credential):
    """A request with credential, which the gateway must ask table about,
    waits while table is locked; connections with a known credential are
    answered meanwhile. Once the table is free the request is answered, and
    the next one on its connection too."""
    conns = warm(suite, admin)
    lock = TableLock(suite.pg, table)
    waiting = connect(suite)
    try:
        waiting.sendall(head("GET", HEALTH, credential))
        answered_meanwhile(conns, admin)
        waiting.settimeout(0.5)
        try:
            assert waiting.recv(1) == b"", "answered while its credential could not be read"
        except (socket.timeout, TimeoutError):
            pass
        lock.release()
        waiting.settimeout(30)
        rd = Reader(waiting)
        assert rd.next()[0] == 200
        waiting.sendall(head("GET", HEALTH, credential))
        assert rd.next()[0] == 200
    finally:
        lock.release()
        waiting.close()
        close_all(conns)


def test_a_new_api_key_is_looked_up_off_the_loops(suite, admin):
    looked_up_off_the_loops(suite, admin, "gateway.api_keys", new_key(suite, admin))


def test_a_user_not_in_the_cache_is_looked_up_off_the_loops(suite, admin):
    # a user this gateway has not checked yet, with a token of their own
    user, _ = create_user(suite.gateway, admin["Authorization"][len("Bearer "):], "staff")
    token = {"Authorization": "Bearer " + mint(claims_of(user))}
    looked_up_off_the_loops(suite, admin, "gateway.users", token)


def test_a_known_key_past_its_cache_lifetime_is_used_while_it_is_refreshed(suite, admin):
    key = new_key(suite, admin)
    conns = warm(suite, key)
    try:
        # The key's entry runs out; the connections are kept from their idle
        # close meanwhile with another credential.
        stale_at = time.monotonic() + CACHE_TTL_S + 0.5
        while time.monotonic() < stale_at:
            answered_meanwhile(conns, admin)
            time.sleep(1)
        lock = TableLock(suite.pg, "gateway.api_keys")
        try:
            answered_meanwhile(conns, key)
        finally:
            lock.release()
    finally:
        close_all(conns)


def relayed(suite, reason):
    text = requests.get(suite.gateway.url + "/metrics", timeout=10).text
    return Metrics(text).get("gateway_edge_relayed_total", reason=reason)


def test_a_new_credential_is_loaded_while_its_request_waits_on_its_loop(suite, admin):
    """A key the gateway has not seen: its request waits on the loop while
    the key is loaded, and is answered by the loop (the connection is not
    handed to civetweb, which would take a thread of the gateway's and an
    upstream connection for as long as it stays open)."""
    key = new_key(suite, admin)
    before = relayed(suite, "credential")
    s = connect(suite)
    try:
        rd = Reader(s)
        t0 = time.monotonic()
        s.sendall(head("GET", HEALTH, key))
        assert rd.next()[0] == 200
        assert time.monotonic() - t0 < 2  # EDGE_AUTH_WAIT_MS: woken, not timed out
        s.sendall(head("GET", HEALTH, key))
        assert rd.next()[0] == 200
    finally:
        s.close()
    assert relayed(suite, "credential") == before

