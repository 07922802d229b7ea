"""What every cluster scenario shares: the processes (one API, N workers, on the
PostgreSQL and S3 server that bench/cluster.sh started), a small HTTP client that tells
"never accepted" from "accepted, then lost", and the checks read from the database and
the bucket. Standard library only, so a fresh clone needs nothing installed."""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET

PASSWORD = "a long bench passphrase, not a secret"


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class NotAccepted(Exception):
    """The request never reached the server: connection refused, or reset before it was sent."""


class Lost(Exception):
    """The request was sent, and no complete answer came back."""


def call(port, method, path, body=None, headers=None, timeout=30):
    """One request on its own connection; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            conn.connect()
        except OSError as err:
            raise NotAccepted(str(err)) from err
        try:
            conn.request(method, path, body=body, headers=headers or {})
        except OSError as err:
            raise NotAccepted(str(err)) from err
        try:
            res = conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException) as err:
            raise Lost(f"{method} {path}: {type(err).__name__}: {err}") from err
        return res.status, dict(res.getheaders()), data
    finally:
        conn.close()


class Proc:
    def __init__(self, name, args, env, logdir, port):
        self.name, self.port = name, port
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None


class Cluster:
    """The processes of one scenario, from the environment bench/cluster.sh sets."""

    def __init__(self, name, lease_ms=5000, extra_env=None):
        self.binary = os.environ["ATELIER"]
        self.s3 = os.environ["CLUSTER_S3"]
        self.workdir = os.path.join(os.environ["CLUSTER_OUT"], name)
        os.makedirs(self.workdir, exist_ok=True)
        # A database and a bucket of its own: every scenario starts from nothing.
        base = os.environ["CLUSTER_PG_BASE"]
        slug = name.replace("-", "_")
        for statement in (f"DROP DATABASE IF EXISTS atelier_{slug}", f"CREATE DATABASE atelier_{slug}"):
            subprocess.run(["psql", f"{base}/postgres", "-q", "-c", statement], check=True, capture_output=True)
        self.db_url = f"{base}/atelier_{slug}"
        self.bucket = f"atelier-{name}"
        urllib.request.urlopen(urllib.request.Request(f"{self.s3}/{self.bucket}", method="PUT"), timeout=30).read()
        self.env = dict(os.environ)
        self.env.update({
            "ATELIER_DATABASE_URL": self.db_url,
            "ATELIER_BLOBS__BACKEND": "s3",
            "ATELIER_BLOBS__BUCKET": self.bucket,
            "ATELIER_BLOBS__ENDPOINT": self.s3,
            "ATELIER_BLOBS__REGION": "us-east-1",
            "ATELIER_BLOBS__ACCESS_KEY_ID": "bench",
            "ATELIER_BLOBS__SECRET_ACCESS_KEY": "bench",
            "ATELIER_BLOBS__ALLOW_HTTP": "true",
            "ATELIER_AUTH__SECRET": "bench-secret-bench-secret-bench-secret-0123",
            "ATELIER_AUTH__ACCESS_TTL_SECS": "86400",
            "ATELIER_AUTH__EXPENSIVE_REQUESTS_PER_MINUTE": "100000000",
            "ATELIER_AUTH__AUTH_REQUESTS_PER_MINUTE": "100000",
            "ATELIER_CREDITS__ENABLED": "false",
            "ATELIER_QUOTAS__JOBS": "0",
            "ATELIER_QUOTAS__BYTES": "0",
            "ATELIER_LEASE_MS": str(lease_ms),
            "ATELIER_SERVE_WORKERS": "false",
            "RUST_LOG": "warn",
        })
        self.env.update(extra_env or {})
        self.apis, self.workers = [], []
        self.count = 0

    def _spawn(self, kind, args, env):
        self.count += 1
        port = free_port()
        name = f"{kind}-{self.count}"
        env = dict(self.env, **env)
        if kind == "api":
            env["ATELIER_LISTEN"] = f"127.0.0.1:{port}"
            env["ATELIER_DATA_DIR"] = os.path.join(self.workdir, name)
        else:
            env["ATELIER_WORKER__LISTEN"] = f"127.0.0.1:{port}"
            env["ATELIER_DATA_DIR"] = os.path.join(self.workdir, name)
            # Distinct worker ids per process even if a pid is reused.
            env["HOSTNAME"] = f"bench-{name}"
        proc = Proc(name, [self.binary, *args], env, self.workdir, port)
        deadline = time.time() + 60
        while time.time() < deadline:
            if not proc.alive():
                raise SystemExit(f"{name} exited at start; see {proc.log_path}")
            try:
                if call(port, "GET", "/healthz", timeout=2)[0] == 200:
                    return proc
            except (NotAccepted, Lost):
                pass
            time.sleep(0.05)
        raise SystemExit(f"{name} did not answer /healthz in 60 s; see {proc.log_path}")

    def bring_up(self, apis, workers, photo):
        """Starts `apis` API replicas and `workers` worker processes, signs in an account
        named after the scenario and uploads `photo`: (client, image id)."""
        for _ in range(apis):
            self.start_api()
        client = Client(self, f"{os.path.basename(self.workdir)}@example.com")
        image = client.upload(self.apis[0].port, photo)
        for _ in range(workers):
            self.start_worker()
        return client, image

    def start_api(self, env=None):
        proc = self._spawn("api", ["serve"], env or {})
        self.apis.append(proc)
        return proc

    def start_worker(self, tasks=1, env=None):
        proc = self._spawn("worker", ["worker", "--workers", str(tasks)], env or {})
        self.workers.append(proc)
        return proc

    def stop_all(self):
        for proc in self.apis + self.workers:
            proc.signal(signal.SIGTERM)
        for proc in self.apis + self.workers:
            if proc.wait(40) is None:
                proc.signal(signal.SIGKILL)

    # --- the database, read directly: the source of truth for the checks -------------
    def sql(self, query):
        out = subprocess.run(["psql", self.db_url, "-At", "-F", "\t", "-c", query],
                             check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def state_counts(self):
        return {state: int(n) for state, n in self.sql("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def jobs(self):
        rows = self.sql("SELECT id, state, attempts, created_at, COALESCE(started_at, 0), "
                        "COALESCE(finished_at, 0), COALESCE(results, '') FROM jobs")
        return [{"id": r[0], "state": r[1], "attempts": int(r[2]), "created": int(r[3]),
                 "started": int(r[4]), "finished": int(r[5]), "results": r[6]} for r in rows]

    def bucket_keys(self, prefix):
        """Every key under `prefix` in the bucket (ListObjectsV2, paged)."""
        keys, token = [], None
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        while True:
            url = f"{self.s3}/{self.bucket}?list-type=2&prefix={prefix}&max-keys=1000"
            if token:
                url += "&continuation-token=" + urllib.request.quote(token, safe="")
            with urllib.request.urlopen(url, timeout=60) as res:
                root = ET.fromstring(res.read())
            keys += [c.findtext(f"{ns}Key") for c in root.iter(f"{ns}Contents")]
            if root.findtext(f"{ns}IsTruncated") != "true":
                return keys
            token = root.findtext(f"{ns}NextContinuationToken")


class Client:
    """A signed-in account on one or more API replicas."""

    def __init__(self, cluster, email):
        self.cluster = cluster
        api = cluster.apis[0]
        body = json.dumps({"email": email, "password": PASSWORD}).encode()
        status, _, data = call(api.port, "POST", "/v1/auth/register", body, {"content-type": "application/json"})
        if status == 409:
            status, _, data = call(api.port, "POST", "/v1/auth/login", body, {"content-type": "application/json"})
        if status not in (200, 201):
            raise SystemExit(f"signing in {email}: {status} {data[:300]!r}")
        self.auth = {"authorization": "Bearer " + json.loads(data)["access_token"]}

    def upload(self, port, path):
        with open(path, "rb") as f:
            status, _, data = call(port, "POST", "/v1/images", f.read(), self.auth)
        if status != 201 and status != 200:
            raise SystemExit(f"upload: {status} {data[:300]!r}")
        return json.loads(data)["id"]

    def submit(self, port, image, ops):
        """POST /v1/jobs once: (status, job id or error code, seconds)."""
        body = json.dumps({"ops": ops, "images": [image]}).encode()
        started = time.perf_counter()
        status, headers, data = call(port, "POST", "/v1/jobs", body, dict(self.auth, **{"content-type": "application/json"}))
        elapsed = time.perf_counter() - started
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = {}
        return status, parsed.get("id") if status == 202 else parsed.get("code"), elapsed, headers


def wait_until_settled(cluster, expected, deadline_s, every=0.5, on_tick=None):
    """Polls the database until `expected` jobs are final (or the deadline passes)."""
    final = ("succeeded", "failed", "canceled", "dead")
    end = time.time() + deadline_s
    while True:
        try:
            counts = cluster.state_counts()
        except subprocess.CalledProcessError:
            counts = None  # The database is restarting; ask again.
        if counts is not None and sum(counts.get(s, 0) for s in final) >= expected:
            return counts
        if time.time() > end:
            return counts or {}
        if on_tick:
            on_tick()
        time.sleep(every)


def check_outputs(cluster, accepted):
    """Every accepted job succeeded once, with exactly one output that is in the bucket
    once; nothing else was created. Returns (problems, jobs)."""
    problems = []
    jobs = {job["id"]: job for job in cluster.jobs()}
    extra = set(jobs) - set(accepted)
    if extra:
        problems.append(f"{len(extra)} jobs in the database that no 202 answered (duplicated submissions)")
    missing = [j for j in accepted if j not in jobs]
    if missing:
        problems.append(f"{len(missing)} accepted jobs are not in the database (lost): {missing[:3]}")
    not_ok = [jobs[j] for j in accepted if j in jobs and jobs[j]["state"] != "succeeded"]
    if not_ok:
        sample = ", ".join(f"{j['id']}={j['state']}" for j in not_ok[:5])
        problems.append(f"{len(not_ok)} accepted jobs did not succeed: {sample}")
    keys = cluster.bucket_keys("jobs/")
    per_job = {}
    for key in keys:
        per_job.setdefault(key.split("/")[1], []).append(key)
    for job_id in accepted:
        job = jobs.get(job_id)
        if not job or job["state"] != "succeeded":
            continue
        results = json.loads(job["results"] or "{}").get("items", [])
        outputs = [o["key"] for item in results if item for o in item.get("outputs", [])]
        stored = per_job.get(job_id, [])
        if len(outputs) != 1 or stored != outputs:
            problems.append(f"job {job_id}: results name {outputs}, the bucket holds {stored}")
            if len(problems) > 20:
                break
    stray = set(per_job) - set(accepted)
    if stray:
        problems.append(f"{len(stray)} job folders in the bucket belong to no accepted job")
    return problems, jobs


def queue_waits_ms(jobs):
    return [j["started"] - j["created"] for j in jobs if j["started"]]


def report(path, lines):
    text = "\n".join(lines) + "\n"
    with open(path, "w") as out:
        out.write(text)
    print(text)


def random_worker(cluster):
    alive = [w for w in cluster.workers if w.alive()]
    return random.choice(alive) if alive else None


def fail(problems):
    if problems:
        print("BROKEN PROMISES:", file=sys.stderr)
        for problem in problems:
            print("  -", problem, file=sys.stderr)
        sys.exit(1)


class Ticker(threading.Thread):
    """Runs `fn` every `every` seconds until stopped."""

    def __init__(self, every, fn):
        super().__init__(daemon=True)
        self.every, self.fn, self.done = every, fn, threading.Event()

    def run(self):
        while not self.done.wait(self.every):
            self.fn()

    def stop(self):
        self.done.set()
        self.join()
