"""Authentication at the gateway (issue 4): login, refresh rotation and reuse
detection, logout, me, bad JWTs, API keys, users, the login limit, the first
admin, JWT_SECRET, and no secret in any answer or log line.

Failed logins count per client IP, and every test comes from 127.0.0.1: tests
that fail logins on purpose do it on a gateway of their own that trusts
127.0.0.1 as a proxy, each attempt from an address of its own in
X-Forwarded-For, so the suite's gateway never locks 127.0.0.1 out."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid

import pytest
import requests

import harness
from harness import UPSTREAM_VAR, SERVICES, check_error, http, wait_for
from promtext import Metrics

KEY_RE = re.compile(r"^brk_[A-Za-z0-9_-]{43}$")


# ---------------------------------------------------------------- helpers


def call(gw, method, path, token=None, **kw):
    headers = dict(kw.pop("headers", None) or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    return http(method, gw.url + path, headers=headers, timeout=15, **kw)


def login(gw, email, password, ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return http("POST", gw.url + "/api/auth/login", json={"email": email, "password": password},
                headers=headers, timeout=15)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint(claims, secret=None, header=None, digest="sha256", signature=None):
    """An HS256 token made here, as the gateway makes them (or spoiled on purpose)."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if signature is None:
        key = (secret or harness.JWT_SECRET).encode()
        signature = b64url(hmac.new(key, f"{h}.{p}".encode(), digest).digest())
    return f"{h}.{p}.{signature}"


def claims_of(user, **change):
    now = int(time.time())
    c = {"sub": user["id"], "role": user["role"], "iat": now, "nbf": now, "exp": now + 300,
         "jti": str(uuid.uuid4())}
    c.update(change)
    return {k: v for k, v in c.items() if v is not None}


def decode_part(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def new_email(tag="u"):
    return f"{tag}-{secrets.token_hex(6)}@brain.test"


def new_ip():
    """A documentation address (RFC 5737), fresh for each attempt."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def create_user(gw, admin_token, role, password=None, email=None):
    password = password or "pw-" + secrets.token_hex(10)
    r = call(gw, "POST", "/api/auth/users", admin_token,
             json={"email": email or new_email(role), "password": password, "role": role})
    assert r.status_code == 201, r.text
    return r.json(), password


def auth_failures(gw, reason):
    m = Metrics(http("GET", gw.url + "/metrics", timeout=5).text)
    return m.get("gateway_auth_failures_total", reason=reason) or 0


def gateway_env(suite, **extra):
    env = {UPSTREAM_VAR[s]: suite[s].url for s in SERVICES}
    env.update(extra)
    return env


@pytest.fixture
def proxied_gw(suite, spawn):
    """A gateway of its own that takes the client address from X-Forwarded-For
    (127.0.0.1 is its trusted proxy), on the suite's database."""
    return spawn("gateway", env=gateway_env(suite, TRUSTED_PROXIES="127.0.0.1"))


# ---------------------------------------------------------------- login, refresh, logout, me


def test_login_gives_a_token_pair(suite, tokens):
    gw = suite.gateway
    r = login(gw, harness.ADMIN_EMAIL.upper(), harness.ADMIN_PASSWORD)  # email in any case
    assert r.status_code == 200, r.text
    assert r.headers.get("cache-control") == "no-store"
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    user = body["user"]
    assert user["email"] == harness.ADMIN_EMAIL and user["role"] == "admin"
    assert user["last_login_at"] and not user["disabled"]
    assert not any("hash" in k or "password" in k for k in user), user
    assert body["refresh_token"].startswith("brr_") and len(body["refresh_token"]) == 47
    header, claims = decode_part(body["access_token"], 0), decode_part(body["access_token"], 1)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert set(claims) == {"sub", "role", "iat", "nbf", "exp", "jti"}
    assert claims["sub"] == user["id"] and claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 60

    me = call(gw, "GET", "/api/auth/me", body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"] and me.json()["kind"] == "user"
    assert me.json()["email"] == harness.ADMIN_EMAIL


def test_refresh_rotates_and_reuse_revokes_the_login(suite, tokens):
    gw = suite.gateway
    admin = tokens.access("admin")
    user, pw = create_user(gw, admin, "staff")
    first = login(gw, user["email"], pw).json()
    other = login(gw, user["email"], pw).json()  # another login of the same user
    mark = gw.mark()

    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["user"]["id"] == user["id"] and second["token_type"] == "Bearer"
    assert call(gw, "GET", "/api/auth/me", second["access_token"]).status_code == 200
    third = call(gw, "POST", "/api/auth/refresh",
                 json={"refresh_token": second["refresh_token"]}).json()

    # The spent first token comes back: refused, and its whole login with it.
    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    check_error(r, 401, "unauthorized")
    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": third["refresh_token"]})
    check_error(r, 401, "unauthorized")
    line = gw.find_log(lambda l: l.get("msg", "").startswith("refresh token reused"), since=mark)
    assert line["level"] == "warn" and line["user_id"] == user["id"]
    # The other login is untouched.
    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 200, r.text
    # Unknown and malformed refresh tokens.
    check_error(call(gw, "POST", "/api/auth/refresh", json={"refresh_token": "brr_nope"}),
                401, "unauthorized")
    err = check_error(call(gw, "POST", "/api/auth/refresh", json={"refresh_token": 7}), 400,
                      "invalid_request")
    assert err["field"] == "refresh_token"
    check_error(call(gw, "POST", "/api/auth/refresh", json={"refresh_token": "x" * 129}), 400,
                "invalid_request")


def test_logout_revokes_the_refresh_token(suite, tokens):
    gw = suite.gateway
    user, pw = create_user(gw, tokens.access("admin"), "viewer")
    mine = login(gw, user["email"], pw).json()
    theirs = login(gw, harness.ADMIN_EMAIL, harness.ADMIN_PASSWORD).json()

    # Without a credential: the gate asks for one.
    r = call(gw, "POST", "/api/auth/logout", json={"refresh_token": mine["refresh_token"]})
    check_error(r, 401, "unauthorized")
    # Someone else's refresh token is left alone (and the answer is the same).
    r = call(gw, "POST", "/api/auth/logout", mine["access_token"],
             json={"refresh_token": theirs["refresh_token"]})
    assert r.status_code == 204 and r.content == b""
    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": theirs["refresh_token"]})
    assert r.status_code == 200, r.text

    r = call(gw, "POST", "/api/auth/logout", mine["access_token"],
             json={"refresh_token": mine["refresh_token"]})
    assert r.status_code == 204
    r = call(gw, "POST", "/api/auth/refresh", json={"refresh_token": mine["refresh_token"]})
    check_error(r, 401, "unauthorized")
    err = check_error(call(gw, "POST", "/api/auth/logout", mine["access_token"], json={}), 400,
                      "invalid_request")
    assert err["field"] == "refresh_token"


def test_me_needs_a_credential(suite):
    r = call(suite.gateway, "GET", "/api/auth/me")
    check_error(r, 401, "unauthorized")
    assert r.headers.get("www-authenticate", "").startswith("Bearer")


def test_bad_access_tokens_are_refused(suite, tokens):
    gw = suite.gateway
    admin = tokens.user("admin")
    now = int(time.time())
    good = mint(claims_of(admin))
    # The control: a token minted here with the test secret is accepted, so
    # each refusal below is for the one thing spoiled.
    r = call(gw, "GET", "/api/auth/me", good)
    assert r.status_code == 200 and r.json()["id"] == admin["id"], r.text

    unsigned = mint(claims_of(admin), header={"alg": "none", "typ": "JWT"}, signature="")
    cases = [
        ("expired", mint(claims_of(admin, iat=now - 1000, nbf=now - 1000, exp=now - 120))),
        ("not_yet_valid", mint(claims_of(admin, nbf=now + 300, exp=now + 900))),
        ("bad_signature", mint(claims_of(admin), secret="another-secret-of-at-least-32-bytes!")),
        ("bad_signature", good[:-8] + ("A" if good[-8] != "A" else "B") + good[-7:]),
        ("bad_alg", unsigned),
        ("bad_alg", mint(claims_of(admin), header={"alg": "HS512", "typ": "JWT"},
                         digest="sha512")),
        ("malformed", mint(claims_of(admin, exp=None))),
        ("malformed", mint(claims_of(admin, sub="not-a-uuid"))),
        ("malformed", mint(claims_of(admin, role="root"))),
        ("malformed", "abc"),
        ("malformed", good.rsplit(".", 1)[0]),
        ("malformed", good + ".x"),
        ("malformed", good + "="),
        ("malformed", "x" * 5000),
    ]
    for reason, tok in cases:
        before = auth_failures(gw, reason)
        r = call(gw, "GET", "/api/auth/me", tok)
        err = check_error(r, 401, "unauthorized")
        assert reason in err["message"], (reason, err)
        assert auth_failures(gw, reason) == before + 1, reason
    # A token claiming admin for a viewer, even signed with the right key (a
    # leaked secret), gets the user's own role: the role claim is not trusted.
    viewer = tokens.user("viewer")
    r = call(gw, "GET", "/api/auth/users", mint(claims_of(viewer, role="admin")))
    check_error(r, 403, "forbidden")
    # Another scheme, or two credentials at once.
    check_error(call(gw, "GET", "/api/auth/me", headers={"Authorization": "Basic YTpi"}),
                401, "unauthorized")
    check_error(call(gw, "GET", "/api/auth/me", good, headers={"X-API-Key": "brk_x"}),
                401, "unauthorized")


def test_a_token_in_use_stops_working_when_it_expires(suite, tokens):
    """The gateway remembers tokens it verified (each thread its last few):
    one used again and again is still refused once its exp (plus the 30 s of
    leeway) has passed, on the gateway's own routes and on proxied ones."""
    gw = suite.gateway
    admin = tokens.user("admin")
    now = int(time.time())
    tok = mint(claims_of(admin, iat=now - 100, nbf=now - 100, exp=now - 27))
    with requests.Session() as s:  # one kept-alive connection: the same thread
        s.headers["Authorization"] = "Bearer " + tok
        assert s.get(gw.url + "/api/automation/jobs", timeout=15).status_code == 200
        assert s.get(gw.url + "/api/auth/me", timeout=15).status_code == 200
        # (a Response with an error status is falsy: wrapped in a list)
        [r] = wait_for(lambda: (lambda r: [r] if r.status_code != 200 else None)(
            s.get(gw.url + "/api/automation/jobs", timeout=15)), 20, "the token to expire",
            interval=0.2)
        err = check_error(r, 401, "unauthorized")
        assert "expired" in err["message"], err
        assert int(time.time()) >= now - 27 + 30
        check_error(s.get(gw.url + "/api/auth/me", timeout=15), 401, "unauthorized")


# ---------------------------------------------------------------- API keys


def test_api_key_create_use_list_revoke(suite, tokens):
    gw = suite.gateway
    admin = tokens.access("admin")
    r = call(gw, "POST", "/api/auth/api-keys", admin, json={"name": "e2e robot", "role": "staff"})
    assert r.status_code == 201, r.text
    made = r.json()
    key = made["key"]
    assert KEY_RE.match(key), key
    assert made["prefix"] == key[:12] and made["role"] == "staff" and made["name"] == "e2e robot"
    assert made["created_by"] == tokens.user("admin")["id"]
    assert made["revoked_at"] is None and made["expires_at"] is None
    assert not any("hash" in k for k in made)

    # Both headers work; the role is the key's.
    for headers in ({"X-API-Key": key}, {"Authorization": "Bearer " + key}):
        r = call(gw, "GET", "/api/automation/jobs?limit=1", headers=headers)
        assert r.status_code == 200, r.text
    check_error(call(gw, "GET", "/api/auth/users", headers={"X-API-Key": key}), 403, "forbidden")
    me = call(gw, "GET", "/api/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "api_key" and me.json()["id"] == made["id"]
    assert "key" not in me.json() and key not in me.text

    listed = call(gw, "GET", "/api/auth/api-keys?limit=500", admin)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert set(page) == {"items", "total", "limit", "offset"} and page["limit"] == 500
    mine = [k for k in page["items"] if k["id"] == made["id"]]
    assert len(mine) == 1 and mine[0]["prefix"] == key[:12] and mine[0]["last_used_at"]
    assert key not in listed.text and hashlib.sha256(key.encode()).hexdigest() not in listed.text
    assert all("key" not in k and "key_hash" not in k for k in page["items"])

    r = call(gw, "DELETE", f"/api/auth/api-keys/{made['id']}", admin)
    assert r.status_code == 204
    # The replica that revokes forgets the key at once.
    check_error(call(gw, "GET", "/api/automation/jobs", headers={"X-API-Key": key}), 401,
                "unauthorized")
    listed = call(gw, "GET", "/api/auth/api-keys?limit=500", admin).json()
    assert [k for k in listed["items"] if k["id"] == made["id"]][0]["revoked_at"]
    assert call(gw, "DELETE", f"/api/auth/api-keys/{made['id']}", admin).status_code == 204
    check_error(call(gw, "DELETE", f"/api/auth/api-keys/{uuid.uuid4()}", admin), 404,
                "not_found")
    check_error(call(gw, "DELETE", "/api/auth/api-keys/nope", admin), 400, "invalid_request")
    # A key nobody made, and a key-shaped JWT header.
    check_error(call(gw, "GET", "/api/auth/me", headers={"X-API-Key": "brk_" + "A" * 43}), 401,
                "unauthorized")
    check_error(call(gw, "GET", "/api/auth/me", headers={"X-API-Key": tokens.access("viewer")}),
                401, "unauthorized")


def test_api_key_roles_and_expiry(suite, tokens):
    gw = suite.gateway
    admin = tokens.access("admin")
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))
    r = call(gw, "POST", "/api/auth/api-keys", admin,
             json={"name": "short-lived", "role": "viewer", "expires_at": soon})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert r.json()["expires_at"].startswith(soon[:19])
    r = call(gw, "POST", "/api/automation/jobs", headers={"X-API-Key": key},
             json={"client_id": str(uuid.uuid4()), "job_type": "menu_sync"})
    check_error(r, 403, "forbidden")  # a viewer may not trigger jobs
    assert call(gw, "GET", "/api/auth/me", headers={"X-API-Key": key}).status_code == 200
    wait_for(lambda: call(gw, "GET", "/api/auth/me", headers={"X-API-Key": key}).status_code
             == 401, 10, "the key to expire")
    check_error(call(gw, "GET", "/api/auth/me", headers={"X-API-Key": key}), 401,
                "unauthorized")

    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    for body, field in (({"name": "x", "role": "viewer", "expires_at": past}, "expires_at"),
                        ({"name": "x", "role": "root"}, "role"),
                        ({"role": "viewer"}, "name"),
                        ({"name": "", "role": "viewer"}, "name"),
                        ({"name": "x" * 201, "role": "viewer"}, "name"),
                        ({"name": "x", "role": "viewer", "key": "brk_mine"}, "key")):
        err = check_error(call(gw, "POST", "/api/auth/api-keys", admin, json=body), 400,
                          "invalid_request")
        assert err["field"] == field, (body, err)


# ---------------------------------------------------------------- users


def test_users_crud_by_admin(suite, tokens, proxied_gw):
    gw = suite.gateway
    admin = tokens.access("admin")
    email = new_email("crud")
    r = call(gw, "POST", "/api/auth/users", admin,
             json={"email": email, "name": "Crud Person", "role": "staff",
                   "password": "first-password"})
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == email and user["role"] == "staff" and user["name"] == "Crud Person"
    assert user["disabled"] is False and user["last_login_at"] is None
    check_error(call(gw, "POST", "/api/auth/users", admin,
                     json={"email": email.upper(), "role": "viewer", "password": "whatever1"}),
                409, "conflict")

    page = call(gw, "GET", "/api/auth/users?limit=500", admin).json()
    assert user["id"] in [u["id"] for u in page["items"]] and page["total"] >= 2
    assert "pbkdf2" not in json.dumps(page) and "password" not in json.dumps(page)

    staff = login(gw, email, "first-password").json()["access_token"]
    assert call(gw, "GET", "/api/automation/jobs?limit=1", staff).status_code == 200
    # A role change applies to the tokens already out.
    r = call(gw, "PATCH", f"/api/auth/users/{user['id']}", admin,
             json={"role": "viewer", "name": "Crud Viewer"})
    assert r.status_code == 200 and r.json()["role"] == "viewer", r.text
    check_error(call(gw, "GET", "/api/automation/jobs?limit=1", staff), 403, "forbidden")
    # A new password: the old one stops working, the new one works.
    r = call(gw, "PATCH", f"/api/auth/users/{user['id']}", admin,
             json={"password": "second-password"})
    assert r.status_code == 200, r.text
    check_error(login(proxied_gw, email, "first-password", ip=new_ip()), 401, "unauthorized")
    assert login(gw, email, "second-password").status_code == 200
    session = login(gw, email, "second-password").json()
    # Disabling ends the tokens and refresh tokens of the user.
    r = call(gw, "PATCH", f"/api/auth/users/{user['id']}", admin, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    err = check_error(call(gw, "GET", "/api/auth/me", session["access_token"]), 401,
                      "unauthorized")
    assert "disabled_user" in err["message"]
    check_error(call(gw, "POST", "/api/auth/refresh",
                     json={"refresh_token": session["refresh_token"]}), 401, "unauthorized")
    r = call(gw, "PATCH", f"/api/auth/users/{user['id']}", admin, json={"disabled": False})
    assert r.status_code == 200
    check_error(call(gw, "POST", "/api/auth/refresh",
                     json={"refresh_token": session["refresh_token"]}), 401, "unauthorized")

    session = login(gw, email, "second-password").json()
    assert call(gw, "DELETE", f"/api/auth/users/{user['id']}", admin).status_code == 204
    check_error(call(gw, "GET", "/api/auth/me", session["access_token"]), 401, "unauthorized")
    check_error(call(gw, "DELETE", f"/api/auth/users/{user['id']}", admin), 404, "not_found")
    check_error(call(gw, "PATCH", f"/api/auth/users/{user['id']}", admin, json={"name": "x"}),
                404, "not_found")
    page = call(gw, "GET", "/api/auth/users?limit=500", admin).json()
    assert user["id"] not in [u["id"] for u in page["items"]]


def test_an_old_password_hash_is_upgraded_at_login(suite, tokens):
    """A hash with fewer rounds (made here by Python's hashlib, so also a check
    of the format) still verifies, and the login replaces it with today's."""
    gw = suite.gateway
    user, _ = create_user(gw, tokens.access("admin"), "viewer")
    password, salt = "correct horse battery staple", secrets.token_bytes(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000, 32)
    old = f"pbkdf2-sha256$1000${b64url(salt)}${b64url(dk)}"
    suite.pg.psql(f"UPDATE gateway.users SET password_hash = '{old}' WHERE id = '{user['id']}'")
    assert login(gw, user["email"], password).status_code == 200
    stored = suite.pg.psql(f"SELECT password_hash FROM gateway.users WHERE id = '{user['id']}'")
    assert stored.startswith("pbkdf2-sha256$210000$") and stored != old, stored
    assert login(gw, user["email"], password).status_code == 200


def test_users_validation(suite, tokens):
    gw = suite.gateway
    admin = tokens.access("admin")
    someone = tokens.user("viewer")["id"]
    for body, field in (({"role": "viewer", "password": "long-enough"}, "email"),
                        ({"email": "no-at-sign", "role": "viewer", "password": "long-enough"},
                         "email"),
                        ({"email": "a b@c.d", "role": "viewer", "password": "long-enough"},
                         "email"),
                        ({"email": "x" * 250 + "@b.cd", "role": "viewer",
                          "password": "long-enough"}, "email"),
                        ({"email": new_email(), "role": "root", "password": "long-enough"},
                         "role"),
                        ({"email": new_email(), "role": "viewer", "password": "short"},
                         "password"),
                        ({"email": new_email(), "role": "viewer", "password": "p" * 1025},
                         "password"),
                        ({"email": new_email(), "role": "viewer", "password": "long-enough",
                          "name": "n" * 201}, "name"),
                        ({"email": new_email(), "role": "viewer", "password": "long-enough",
                          "disabled": "no"}, "disabled"),
                        ({"email": new_email(), "role": "viewer", "password": "long-enough",
                          "password_hash": "x"}, "password_hash")):
        err = check_error(call(gw, "POST", "/api/auth/users", admin, json=body), 400,
                          "invalid_request")
        assert err["field"] == field, (body, err)
    check_error(call(gw, "PATCH", f"/api/auth/users/{someone}", admin, json={}), 400,
                "invalid_request")
    err = check_error(call(gw, "PATCH", "/api/auth/users/not-a-uuid", admin, json={"name": "x"}),
                      400, "invalid_request")
    assert err["field"] == "id"
    check_error(call(gw, "POST", "/api/auth/users", admin, data=b"[1]",
                     headers={"Content-Type": "application/json"}), 400, "invalid_request")


@pytest.mark.parametrize("role", ["viewer", "staff", "manager"])
def test_only_admins_manage_users_and_keys(suite, tokens, role):
    gw = suite.gateway
    tok = tokens.access(role)
    for method, path, body in (("GET", "/api/auth/users", None),
                               ("POST", "/api/auth/users", {"email": new_email(), "role": "admin",
                                                            "password": "long-enough"}),
                               ("PATCH", f"/api/auth/users/{tokens.user(role)['id']}",
                                {"role": "admin"}),
                               ("DELETE", f"/api/auth/users/{tokens.user('admin')['id']}", None),
                               ("GET", "/api/auth/api-keys", None),
                               ("POST", "/api/auth/api-keys", {"name": "x", "role": "admin"}),
                               ("DELETE", f"/api/auth/api-keys/{uuid.uuid4()}", None)):
        r = call(gw, method, path, tok, json=body)
        check_error(r, 403, "forbidden")
    me = call(gw, "GET", "/api/auth/me", tok)
    assert me.status_code == 200 and me.json()["role"] == role


# ---------------------------------------------------------------- the login limit


def test_a_failed_login_never_tells_whether_the_email_exists(suite, tokens, proxied_gw):
    gw = proxied_gw
    user, _ = create_user(suite.gateway, tokens.access("admin"), "viewer")
    answers, times = {}, {"unknown": [], "wrong": []}
    for _ in range(3):
        for kind, email in (("unknown", new_email("nobody")), ("wrong", user["email"])):
            t0 = time.monotonic()
            r = login(gw, email, "not-the-password", ip=new_ip())
            times[kind].append(time.monotonic() - t0)
            err = check_error(r, 401, "unauthorized")
            answers.setdefault(kind, set()).add((err["code"], err["message"], r.headers.get(
                "content-type"), r.headers.get("www-authenticate")))
    assert answers["unknown"] == answers["wrong"] and len(answers["wrong"]) == 1, answers
    # The KDF runs for an unknown email too: the time does not tell either
    # (a lookup alone would be tens of times faster than PBKDF2). The fastest
    # of each is the least disturbed by a busy machine.
    assert min(times["unknown"]) > 0.3 * min(times["wrong"]), times


def test_login_limit_per_email_and_per_ip(suite, tokens, proxied_gw):
    gw = proxied_gw
    user, pw = create_user(suite.gateway, tokens.access("admin"), "viewer")
    # Per email: five failures from five addresses, then even the right
    # password is refused for a while.
    for _ in range(5):
        check_error(login(gw, user["email"], "wrong-password", ip=new_ip()), 401, "unauthorized")
    r = login(gw, user["email"].upper(), pw, ip=new_ip())
    check_error(r, 429, "rate_limited")
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 900, retry
    # Per address: five failures for five emails, then any email is refused.
    ip = new_ip()
    for _ in range(5):
        check_error(login(gw, new_email("nobody"), "x", ip=ip), 401, "unauthorized")
    r = login(gw, harness.ADMIN_EMAIL, harness.ADMIN_PASSWORD, ip=ip)
    check_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 900
    # Others are not held up: another address and email log in.
    assert login(gw, harness.ADMIN_EMAIL, harness.ADMIN_PASSWORD, ip=new_ip()).status_code == 200
    # The counts live in PostgreSQL: the suite's gateway refuses the email too.
    check_error(login(suite.gateway, user["email"], pw), 429, "rate_limited")


# ---------------------------------------------------------------- start-up


def test_first_admin_with_a_generated_password_and_the_last_admin(suite, spawn):
    db = "auth_" + secrets.token_hex(4)
    suite.pg.createdb(db)
    env = harness.daemon_env(suite.pg, suite.nats, suite.token)
    del env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"]
    env.update(gateway_env(suite, DATABASE_URL=suite.pg.url_for(db=db)))
    gw = spawn("gateway", env=env, replace_env=True)
    line = gw.find_log(lambda l: "first admin" in l.get("msg", ""), what="the first admin line")
    assert line["level"] == "warn" and line["email"] == "admin@localhost", line
    password = re.search(r"with the password (\S+) ", line["msg"]).group(1)
    assert len([l for l in gw.log_lines() if password in json.dumps(l)]) == 1
    r = login(gw, "admin@localhost", password)
    assert r.status_code == 200, r.text
    first = r.json()
    tok, me = first["access_token"], first["user"]["id"]

    # The only enabled admin can be neither demoted, disabled nor deleted.
    for method, body in (("PATCH", {"role": "manager"}), ("PATCH", {"disabled": True}),
                         ("DELETE", None)):
        r = call(gw, method, f"/api/auth/users/{me}", tok, json=body)
        check_error(r, 409, "conflict")
    assert call(gw, "GET", "/api/auth/me", tok).json()["role"] == "admin"
    second, pw2 = create_user(gw, tok, "admin")
    tok2 = login(gw, second["email"], pw2).json()["access_token"]
    r = call(gw, "PATCH", f"/api/auth/users/{me}", tok2, json={"disabled": True})
    assert r.status_code == 200, r.text
    check_error(call(gw, "PATCH", f"/api/auth/users/{second['id']}", tok2,
                     json={"disabled": True}), 409, "conflict")
    check_error(login(gw, "admin@localhost", password), 401, "unauthorized")

    # A restart with users present creates nobody and logs no password.
    mark = gw.mark()
    gw.stop()
    gw.start()
    assert not [l for l in gw.log_lines(since=mark) if "first admin" in l.get("msg", "")]


def test_jwt_secret_is_required(suite, spawn):
    base = gateway_env(suite)
    for secret, why in ((None, "JWT_SECRET"), ("too-short", "JWT_SECRET must be")):
        env = harness.daemon_env(suite.pg, suite.nats, suite.token)
        env.update(base)
        del env["JWT_SECRET"]
        if secret:
            env["JWT_SECRET"] = secret
        gw = spawn("gateway", env=env, replace_env=True, start=False)
        gw.start(wait=False)
        assert gw.wait_exit(30) == 1
        assert any(why in l.get("msg", "") and l["level"] == "error" for l in gw.log_lines()), \
            gw.tail()
        assert not secret or secret not in gw.log_text()

    # In development a random key is used, with a warning: tokens signed with
    # anything else are refused.
    env = harness.daemon_env(suite.pg, suite.nats, suite.token)
    env.update(base)
    del env["JWT_SECRET"]
    env["BRAIN_ENV"] = "development"
    gw = spawn("gateway", env=env, replace_env=True)
    gw.find_log(lambda l: l.get("level") == "warn" and "JWT_SECRET" in l.get("msg", ""))
    r = login(gw, harness.ADMIN_EMAIL, harness.ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    assert call(gw, "GET", "/api/auth/me", r.json()["access_token"]).status_code == 200
    admin = r.json()["user"]
    check_error(call(gw, "GET", "/api/auth/me", mint(claims_of(admin))), 401, "unauthorized")


# ---------------------------------------------------------------- no secret anywhere


def test_no_secret_in_any_answer_or_log_line(suite, tokens):
    gw = suite.gateway
    admin = tokens.access("admin")
    password = "pw-never-logged-" + secrets.token_hex(6)
    seen = []  # every answer's text

    def api(method, path, token=admin, **kw):
        r = call(gw, method, path, token, **kw)
        seen.append(r.text + json.dumps(dict(r.headers)))
        return r

    user = api("POST", "/api/auth/users", json={"email": new_email("secret"), "role": "staff",
                                                 "password": password}).json()
    session = login(gw, user["email"], password).json()
    refreshed = api("POST", "/api/auth/refresh", token=None,
                    json={"refresh_token": session["refresh_token"]}).json()
    made = api("POST", "/api/auth/api-keys", json={"name": "secret test", "role": "viewer"})
    key = made.json()["key"]
    api("GET", "/api/automation/jobs?limit=1", token=None, headers={"X-API-Key": key})
    api("GET", "/api/auth/me", token=refreshed["access_token"])
    api("GET", "/api/auth/api-keys?limit=500")
    api("GET", "/api/auth/users?limit=500")
    api("PATCH", f"/api/auth/users/{user['id']}", json={"password": password + "2"})
    api("POST", "/api/auth/logout", token=refreshed["access_token"],
        json={"refresh_token": refreshed["refresh_token"]})
    api("DELETE", f"/api/auth/api-keys/{made.json()['id']}")

    # Answers: a key only in the one answer that creates it, never a hash.
    secrets_out = [password, password + "2", harness.ADMIN_PASSWORD, harness.JWT_SECRET]
    hashes = [hashlib.sha256(s.encode()).hexdigest()
              for s in (key, session["refresh_token"], refreshed["refresh_token"])]
    for text in seen[:2] + seen[3:]:
        for s in secrets_out + [key] + hashes + ["pbkdf2-sha256"]:
            assert s not in text, f"{s[:12]}... in an answer: {text[:300]}"
    # Logs: no password, key, token, hash or the JWT secret in any line of
    # any daemon started in this run.
    every = secrets_out + hashes + [key, session["refresh_token"], session["access_token"],
                                    refreshed["refresh_token"], refreshed["access_token"], admin,
                                    "pbkdf2-sha256"]
    every += [tokens.passwords[r] for r in tokens.passwords]
    logs = sorted((suite.root / "logs").glob("*"))
    assert logs
    for f in logs:
        text = f.read_text(errors="replace")
        for s in every:
            assert s not in text, f"a secret ({s[:10]}...) is in {f}"
