"""svc-toast's menu-changing jobs (issue 5: item_create, item_update,
modifier_sync, menu_build) through the browser-automation service, played by
tests/fakes/fake-browser/server.py over real HTTP: a job created with
POST /api/toast/jobs is checked against the stored menu, handed to the service
with the integration's decrypted login, polled into the job's progress and
completed with the task's result; a task that fails fails the job; a
cancelled job cancels its task; without BROWSER_SERVICE_URL the jobs fail at
once, not retried."""

import re
import subprocess
import sys
import uuid

import pytest

import harness
from harness import REPO, free_port, http, wait_for
from test_toast_menus import auto_of, fake_guid, finished, sync

FAKE_BROWSER = REPO / "tests" / "fakes" / "fake-browser" / "server.py"


class FakeBrowser:
    def __init__(self, root):
        self.port = free_port()
        self.log = open(root / "logs" / f"fake-browser-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-B", str(FAKE_BROWSER), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        harness.register(self)
        wait_for(lambda: http("GET", self.url + "/__tasks", timeout=1).status_code == 200,
                 20, "the fake browser service")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def control(self, **switches):
        r = http("POST", self.url + "/__control", json=switches)
        assert r.status_code == 200, r.text

    def reset(self):
        assert http("POST", self.url + "/__reset", json={}).status_code == 200

    def tasks(self):
        return http("GET", self.url + "/__tasks").json()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="module")
def fake_browser(root):
    f = FakeBrowser(root)
    yield f
    f.kill()


def set_browser_url(suite, url):
    """Restart the suite's svc-toast with BROWSER_SERVICE_URL set to url (None: unset)."""
    d = suite["svc-toast"]
    want = {"BROWSER_SERVICE_URL": url, "BROWSER_POLL_MS": "100"} if url else {}
    have = {k: d.env.get(k) for k in ("BROWSER_SERVICE_URL", "BROWSER_POLL_MS")
            if d.env.get(k) is not None}
    if have == want:
        return
    for k in ("BROWSER_SERVICE_URL", "BROWSER_POLL_MS"):
        d.env.pop(k, None)
    d.env.update(want)
    d.stop()
    d.start()


@pytest.fixture
def browser(toast, suite, fake_browser):
    """svc-toast (with its worker, on the fake Toast API) sending menu changes
    to the fake browser service; afterwards it runs without one again."""
    fake_browser.reset()
    set_browser_url(suite, fake_browser.url)
    yield fake_browser
    set_browser_url(suite, None)


def synced_integration(toast, auto):
    i, body = toast.create()
    sync(toast, auto, i["id"])
    return i, body


def new_job(toast, iid, job_type, config):
    r = toast.post("/jobs", json={"integration_id": iid, "job_type": job_type, "config": config})
    assert r.status_code == 202, r.text
    return r.json()


def test_item_create_goes_through_the_browser_service(toast, tokens, browser):
    auto = auto_of(toast, tokens)
    i, body = synced_integration(toast, auto)
    guid = body["toast_guid"]
    group = fake_guid(guid, "group", 0, 0)
    change = {"item": {"name": "Soup of the day", "price": 6.5, "group_guid": group,
                       "modifier_group_guids": [fake_guid(guid, "modgroup", 0)]}}
    j = new_job(toast, i["id"], "item_create", change)
    done = finished(auto, j["id"])
    assert done["status"] == "completed", done
    (task,) = browser.tasks()
    assert done["result"]["task_id"] == task["id"] and done["result"]["type"] == "item_create"
    assert done["result"]["result"]["applied"] == change
    sent = task["request"]
    assert sent["type"] == "item_create" and sent["job_id"] == j["id"]
    assert sent["change"] == change
    assert sent["integration"]["id"] == i["id"]
    assert sent["integration"]["restaurant_guid"] == guid
    assert sent["integration"]["client_id"] == body["client_id"]
    # the login, decrypted only to be sent, with a current TOTP code
    assert sent["credentials"]["username"] == body["username"]
    assert sent["credentials"]["password"] == body["password"]
    assert re.fullmatch(r"\d{6}", sent["credentials"]["totp_code"])
    assert task["polls"] >= 2  # polled into the job's progress
    # and none of it in the job, which the API shows
    text = auto.get(f"/jobs/{j['id']}").text
    assert body["password"] not in text and body["totp_secret"] not in text


def test_a_change_that_does_not_fit_the_menu_fails_without_a_task(toast, tokens, browser):
    auto = auto_of(toast, tokens)
    i, body = synced_integration(toast, auto)
    j = new_job(toast, i["id"], "item_update",
                {"item_guid": str(uuid.uuid4()), "changes": {"price": 3}})
    done = finished(auto, j["id"])
    assert done["status"] == "failed" and done["error"]["retryable"] is False
    assert "is not in the stored menu" in done["error"]["message"]
    assert len(done["attempts"]) == 1
    assert browser.tasks() == []


def test_a_failed_task_fails_the_job(toast, tokens, browser):
    auto = auto_of(toast, tokens)
    i, body = synced_integration(toast, auto)
    browser.control(fail=True, retryable=False, steps=2, step_ms=100)
    j = new_job(toast, i["id"], "modifier_sync",
                {"modifier_group_guid": fake_guid(body["toast_guid"], "modgroup", 1),
                 "options": [{"name": "Extra cheese", "price": 1.25}]})
    done = finished(auto, j["id"])
    assert done["status"] == "failed" and done["error"]["retryable"] is False
    assert "refused the change" in done["error"]["message"]
    assert len(browser.tasks()) == 1


def test_cancelling_the_job_cancels_the_task(toast, tokens, browser):
    auto = auto_of(toast, tokens)
    i, body = synced_integration(toast, auto)
    browser.control(steps=200, step_ms=100)  # 20 s unless cancelled
    j = new_job(toast, i["id"], "menu_build",
                {"menu": {"name": "Brunch", "groups": [
                    {"name": "Eggs", "items": [{"name": "Benedict", "price": 14}]}]}})
    wait_for(lambda: [t for t in browser.tasks() if t["polls"] > 0], 20, "the task to be polled")
    assert auto.post(f"/jobs/{j['id']}/cancel").status_code == 200
    done = finished(auto, j["id"], timeout=20)
    assert done["status"] == "cancelled", done
    wait_for(lambda: browser.tasks()[0]["status"] == "cancelled", 10, "the task cancelled")


def test_without_the_service_the_jobs_fail_at_once(toast, tokens, suite):
    set_browser_url(suite, None)
    auto = auto_of(toast, tokens)
    i, body = synced_integration(toast, auto)
    j = new_job(toast, i["id"], "item_create",
                {"item": {"name": "Tea", "price": 3,
                          "group_guid": fake_guid(body["toast_guid"], "group", 0, 0)}})
    done = finished(auto, j["id"])
    assert done["status"] == "failed" and done["error"]["retryable"] is False
    assert "BROWSER_SERVICE_URL" in done["error"]["message"]
    assert len(done["attempts"]) == 1
