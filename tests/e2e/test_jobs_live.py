"""Live job updates over WebSocket, through the gateway, across two
svc-automation replicas."""

import asyncio
import json
import uuid

import websockets

from jobsapi import Worker, new_client


def ws_url(base, client_id):
    return base.replace("http://", "ws://") + f"/api/automation/ws/{client_id}"


async def recv_json(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, timeout=10):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        msg = await recv_json(ws, max(0.1, end - loop.time()))
        if pred(msg):
            return msg


def test_subscribe_job_updates_in_order_through_gateway(api, suite):
    async def run():
        c = new_client()
        j = api.create(c, "menu_sync")
        w = Worker(suite.nats.url)
        try:
            async with websockets.connect(ws_url(suite.gateway.url, c),
                                          extra_headers=api.headers) as ws:
                assert await recv_json(ws) == {"type": "connected", "client_id": c}
                await ws.send(json.dumps({"type": "ping"}))
                assert (await recv_json(ws))["type"] == "pong"
                await ws.send(json.dumps({"type": "subscribe", "job_id": j["id"]}))
                assert await recv_json(ws) == {"type": "subscribed", "job_id": j["id"]}
                snap = await recv_json(ws)
                assert snap["type"] == "job_update" and snap["status"] == "queued"
                job = await asyncio.to_thread(w.claim_one)
                for p in (25, 50, 75):
                    await asyncio.to_thread(w.progress, job, p)
                await asyncio.to_thread(w.complete, job)
                seen = []
                while not seen or seen[-1]["status"] != "completed":
                    seen.append(await until(ws, lambda m: m["type"] == "job_update"))
                assert [(m["status"], m["progress"]) for m in seen] == [
                    ("running", 0), ("running", 25), ("running", 50), ("running", 75),
                    ("completed", 100)]
                for key in ("job_id", "client_id", "job_type", "status", "progress", "attempt",
                            "error", "updated_at"):
                    assert key in seen[-1]
        finally:
            w.close()
    asyncio.run(run())


def test_invalid_messages_keep_the_connection(api, suite):
    async def run():
        c = new_client()
        async with websockets.connect(ws_url(suite.gateway.url, c),
                                      extra_headers=api.headers) as ws:
            await recv_json(ws)
            for bad in ("not json", "[]", json.dumps({"type": "dance"}),
                        json.dumps({"type": "subscribe", "job_id": "x"}),
                        json.dumps({"type": "subscribe", "job_id": str(uuid.uuid4())})):
                await ws.send(bad)
                msg = await recv_json(ws)
                assert msg["type"] == "error" and msg["message"], (bad, msg)
            await ws.send(json.dumps({"type": "ping"}))
            assert (await recv_json(ws))["type"] == "pong"
    asyncio.run(run())


def test_other_clients_jobs_are_not_seen(api, suite):
    async def run():
        mine, theirs = new_client(), new_client()
        other = api.create(theirs, "backup")
        async with websockets.connect(ws_url(suite.gateway.url, mine),
                                      extra_headers=api.headers) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "subscribe", "job_id": other["id"]}))
            msg = await recv_json(ws)
            assert msg["type"] == "error" and "not found" in msg["message"]
            await ws.send(json.dumps({"type": "subscribe_client"}))
            await until(ws, lambda m: m["type"] == "subscribed")
            api.post(f"/jobs/{other['id']}/cancel")
            mine_job = api.create(mine, "backup")
            got = await until(ws, lambda m: m["type"] == "job_update")
            assert got["job_id"] == mine_job["id"], got
    asyncio.run(run())


def test_updates_cross_replicas(api, suite, spawn):
    """A client on replica B sees changes made through replica A."""
    two = spawn("svc-automation", env={"LOG_LEVEL": "info"})
    one = suite["svc-automation"]
    headers = {"X-Internal-Token": suite.token}

    async def run():
        c = new_client()
        url = two.url.replace("http://", "ws://") + f"/api/automation/ws/{c}"
        async with websockets.connect(url, extra_headers=headers) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "subscribe_client"}))
            await until(ws, lambda m: m["type"] == "subscribed")
            import requests
            r = requests.post(one.url + "/api/automation/jobs", headers=headers, timeout=5,
                              json={"client_id": c, "job_type": "health_check"})
            assert r.status_code == 201, r.text
            got = await until(ws, lambda m: m["type"] == "job_update")
            assert got["job_id"] == r.json()["id"] and got["status"] == "queued"
            requests.post(one.url + f"/api/automation/jobs/{got['job_id']}/cancel",
                          headers=headers, timeout=5)
            got = await until(ws, lambda m: m["type"] == "job_update")
            assert got["status"] == "cancelled"
    asyncio.run(run())
