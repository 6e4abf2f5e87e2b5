#!/usr/bin/env python3
"""A scripted writeback agent for CI: speaks the `wire` crate's relay contract (wire/src/lib.rs,
wire/src/types.rs) the way tests/cloud.rs does in Rust, so that a Graph resetPassword of a synced
user reaches an agent and ends `succeeded` before the real agent ([E]) exists.

    agent.py READY_FILE --token-file FILE [--domain contoso.lab] [--jobs N]
             [--status-file FILE] [--expect-password PW] [--timeout SECONDS]

1. Registers with the Hybrid Identity Administrator access token read from --token-file
   (POST /relay/v1/agents; the token is read from a file so it never shows in `ps`).
2. Polls once with wait_ms 0, which makes the domain's agent healthy, then writes
   "registered <agent id>" to --status-file (atomically), so a caller knows it may submit.
3. Long-polls (wait_ms 2000) on one keep-alive HTTPS connection, as the contract asks: the ack
   goes over the connection the offer came on. For each job: checks its fields, opens the sealed
   password when the `cryptography` package is importable (X25519-HKDF-SHA256 + AES-256-GCM,
   wire/src/seal.rs) and compares it with --expect-password if given, acks, and posts the result
   `succeeded`. Exits 0 after --jobs jobs, 1 on any error or after --timeout seconds.

Only the standard library is required; `cryptography` (a dependency of msal) is optional. Never
prints a password or the agent's secret. Importable: clients.py runs ScriptedAgent in a thread.
"""

import argparse
import base64
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

try:  # optional: lets the agent open the sealed secrets, as the real agent does
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    HAVE_CRYPTO = True
except ImportError:  # pragma: no cover - depends on the interpreter
    HAVE_CRYPTO = False

HKDF_INFO_PREFIX = b"sspr-lab/wire/v1"
POLL_WAIT_MS = 2000


class AgentError(Exception):
    """A step of the scripted agent failed; the message says which and what came back."""


def log(msg):
    # One write per line, so lines of a caller's other threads never split it.
    sys.stdout.write(f"   [agent] {msg}\n")
    sys.stdout.flush()


class ScriptedAgent:
    """One scripted cloud sync agent for `domain`, talking to the relay of a ready file."""

    def __init__(self, ready, domain="contoso.lab", engine="cloud-sync", version="0.0.0-ci"):
        self.relay = ready["relay"].rstrip("/")
        url = urllib.parse.urlsplit(self.relay)
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port
        self.prefix = url.path
        self.ctx = ssl.create_default_context(cafile=ready["ca_cert"])
        self.domain, self.engine, self.version = domain, engine, version
        self.conn = None
        self.auth = None
        self.agent_id = None
        if HAVE_CRYPTO:
            self.key = X25519PrivateKey.generate()
            public = self.key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        else:
            # Random 32 bytes with the top bit clear: a valid u-coordinate that is not one of the
            # few low-order points (which registration refuses) with overwhelming probability.
            self.key = None
            raw = bytearray(os.urandom(32))
            raw[31] &= 0x7F
            public = bytes(raw)
        self.public = public
        self.jobs_done = []

    # ---- HTTP ------------------------------------------------------------------------------

    def _connection(self, timeout):
        if self.conn is None:
            if self.scheme == "https":
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=timeout
                )
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.conn.timeout = timeout
        if self.conn.sock is not None:
            self.conn.sock.settimeout(timeout)
        return self.conn

    def call(self, method, path, body, authorization, timeout=30):
        """One request on the keep-alive connection → (status, parsed JSON or text)."""
        conn = self._connection(timeout)
        data = json.dumps(body).encode()
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            conn.request(method, self.prefix + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self.conn = None
            raise AgentError(f"{method} {self.prefix}{path}: {type(e).__name__}: {e}") from e
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return resp.status, parsed

    def _expect(self, what, status, body, want):
        if status != want:
            raise AgentError(f"{what}: expected HTTP {want}, got {status}: {body}")

    # ---- the protocol ----------------------------------------------------------------------

    def register(self, admin_token):
        req = {
            "domain": self.domain,
            "engine": self.engine,
            "version": self.version,
            "public_key": base64.b64encode(self.public).decode(),
        }
        st, body = self.call("POST", "/agents", req, f"Bearer {admin_token}")
        self._expect("register (POST /relay/v1/agents)", st, body, 201)
        for field in ("agent_id", "secret", "domain", "engine"):
            if not isinstance(body, dict) or field not in body:
                raise AgentError(f"register: the answer lacks `{field}`")
        self.agent_id = body["agent_id"]
        self.auth = f"Agent {self.agent_id}.{body['secret']}"
        log(f"registered agent {self.agent_id} for {body['domain']} ({body['engine']})")
        return self.agent_id

    def poll(self, wait_ms):
        st, body = self.call(
            "POST",
            "/poll",
            {"max_jobs": 4, "wait_ms": wait_ms},
            self.auth,
            timeout=wait_ms / 1000 + 30,
        )
        self._expect("poll", st, body, 200)
        if not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
            raise AgentError(f"poll: no `jobs` list in {body}")
        if not isinstance(body.get("now_ms"), int):
            raise AgentError(f"poll: no integer `now_ms` in {body}")
        return body["jobs"]

    def open_sealed(self, job):
        """The sealed secrets of `job` as a dict, or None when `cryptography` is missing."""
        if self.key is None:
            return None
        sealed = job["sealed"]
        if sealed.get("v") != 1:
            raise AgentError(f"job {job['id']}: unknown sealing version {sealed.get('v')}")
        epk = base64.b64decode(sealed["epk"])
        nonce = base64.b64decode(sealed["nonce"])
        ct = base64.b64decode(sealed["ct"])
        shared = self.key.exchange(X25519PublicKey.from_public_bytes(epk))
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=epk + self.public,
            info=HKDF_INFO_PREFIX + job["id"].encode(),
        ).derive(shared)
        try:
            plain = AESGCM(key).decrypt(nonce, ct, job["id"].encode())
        except Exception as e:  # InvalidTag: say so without details
            raise AgentError(f"job {job['id']}: the sealed secrets do not open") from e
        return json.loads(plain)

    def handle(self, job, expect_password=None):
        jid = job.get("id")
        for field in ("id", "kind", "target", "deadline_ms", "attempt", "unlock", "must_change"):
            if field not in job:
                raise AgentError(f"job {jid}: no `{field}` in the offer")
        target = job["target"]
        log(
            f"offer: job {jid} kind={job['kind']} attempt={job['attempt']} "
            f"target={target.get('sam_account_name')}@{target.get('domain')} "
            f"anchor={target.get('anchor')} unlock={job['unlock']} must_change={job['must_change']}"
        )
        if target.get("domain") != self.domain:
            raise AgentError(f"job {jid}: for domain {target.get('domain')}, not {self.domain}")
        if job["kind"] != "unlock":
            if not job.get("sealed"):
                raise AgentError(f"job {jid}: a {job['kind']} job without `sealed`")
            if expect_password is not None and expect_password in json.dumps(job):
                raise AgentError(f"job {jid}: the password travels in clear")
        # Ack before any (here: pretended) write, over the connection the offer came on.
        st, body = self.call("POST", f"/jobs/{jid}/ack", {"attempt": job["attempt"]}, self.auth)
        self._expect(f"ack of job {jid}", st, body, 200)
        log(f"acked job {jid} (deadline_ms {body.get('deadline_ms')})")
        if job["kind"] != "unlock":
            secrets = self.open_sealed(job)
            if secrets is None:
                log("sealed secrets not opened (no `cryptography` module)")
            else:
                if "new_password" not in secrets:
                    raise AgentError(f"job {jid}: the sealed secrets have no new_password")
                if expect_password is not None and secrets["new_password"] != expect_password:
                    raise AgentError(f"job {jid}: the sealed new password is not the one sent")
                log("sealed secrets opened" + (": the new password matches" if expect_password else ""))
        event = {"reset": 31002, "admin_reset": 31010, "change": 31007, "unlock": 31002}.get(job["kind"])
        result = {"job_id": jid, "outcome": "succeeded", "timings": []}
        if event:
            result["event_id"] = event
        st, body = self.call("POST", f"/jobs/{jid}/result", result, self.auth)
        self._expect(f"result of job {jid}", st, body, 200)
        if body.get("outcome") != "succeeded":
            raise AgentError(f"result of job {jid}: the relay recorded {body}")
        log(f"result posted for job {jid}: succeeded (duplicate={body.get('duplicate')})")
        self.jobs_done.append(job)

    def serve(self, jobs, timeout, expect_password=None):
        """Polls and answers until `jobs` jobs are done; AgentError after `timeout` seconds."""
        end = time.monotonic() + timeout
        while len(self.jobs_done) < jobs:
            if time.monotonic() > end:
                raise AgentError(f"only {len(self.jobs_done)} of {jobs} jobs came in {timeout} s")
            for job in self.poll(POLL_WAIT_MS):
                self.handle(job, expect_password)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("ready_file")
    p.add_argument("--token-file", required=True, help="file holding a Hybrid Identity Administrator access token")
    p.add_argument("--domain", default="contoso.lab")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--status-file")
    p.add_argument("--expect-password")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    with open(a.ready_file, encoding="utf-8") as f:
        ready = json.load(f)
    with open(a.token_file, encoding="utf-8") as f:
        token = f.read().strip()
    agent = ScriptedAgent(ready, a.domain)
    try:
        agent.register(token)
        agent.poll(0)
        log("first poll done: the domain has a healthy agent")
        if a.status_file:
            write_atomic(a.status_file, f"registered {agent.agent_id}\n")
        agent.serve(a.jobs, a.timeout, a.expect_password)
    except AgentError as e:
        print(f"agent FAILED: {e}", file=sys.stderr, flush=True)
        if a.status_file:
            write_atomic(a.status_file, f"failed {e}\n")
        return 1
    finally:
        agent.close()
    log(f"done: {len(agent.jobs_done)} job(s) answered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
