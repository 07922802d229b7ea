"""Faults: 2,000 thumbnail jobs submitted at a steady pace while a random worker is
killed with SIGKILL every few seconds (and a new one started), PostgreSQL restarts once
(down PG_DOWN = 5 s: an outage shorter than /readyz's 2 s timeout would not show) and
the S3 server is stopped (SIGSTOP: moto keeps its objects in memory, so it is paused
rather than killed) for 10 s. Afterwards every job must have
succeeded exactly once with exactly one stored output, nothing lost or duplicated, and
/readyz must have gone red during each outage and green again by itself."""

import os
import signal
import subprocess
import threading
import time
from collections import Counter

from common import (Cluster, Lost, NotAccepted, Ticker, call, check_outputs, fail, log, random_worker,
                    report, wait_until_settled)

OPS = ["thumbnail:width=256"]


def main():
    jobs = int(os.environ.get("JOBS", "2000"))
    pace = float(os.environ.get("PACE", "40"))  # submissions per second
    kill_every = float(os.environ.get("KILL_EVERY", "3"))
    workers = int(os.environ.get("WORKER_PROCESSES", "3"))
    lease_ms = int(os.environ.get("LEASE_MS", "10000"))
    pg_down = float(os.environ.get("PG_DOWN", "5"))
    photo = os.environ.get("PHOTO", "test-data/photos/astronaut.jpg")
    cluster = Cluster("fault", lease_ms=lease_ms)
    problems = []
    try:
        client, image = cluster.bring_up(1, workers, photo)
        api = cluster.apis[0]
        t0 = time.time()
        timeline, events = [], []

        def note(what):
            events.append((time.time() - t0, what))
            log(what)

        def probe():
            asked = time.time() - t0
            try:
                status = call(api.port, "GET", "/readyz", timeout=5)[0]
            except (NotAccepted, Lost):
                status = 0
            timeline.append((asked, status))

        prober = Ticker(0.2, probe)
        prober.start()

        kills = Counter()

        def chaos():
            victim = random_worker(cluster)
            if victim:
                victim.signal(signal.SIGKILL)
                victim.wait(5)
                kills["workers"] += 1
                cluster.start_worker()

        killer = Ticker(kill_every, chaos)
        killer.start()

        windows = {}

        def outages():
            time.sleep(jobs / pace * 0.25)
            start = time.time() - t0
            pg_ctl = os.environ["CLUSTER_PG_CTL"]
            note(f"stopping PostgreSQL (pg_ctl stop -m fast) for {pg_down:.0f} s")
            subprocess.run(f"{pg_ctl} -m fast -w stop", shell=True, check=True, capture_output=True)
            time.sleep(pg_down)
            subprocess.run(f"{pg_ctl} -w start", shell=True, check=True, capture_output=True)
            note("PostgreSQL is back")
            windows["PostgreSQL"] = (start, time.time() - t0)
            time.sleep(jobs / pace * 0.25)
            s3 = int(os.environ["CLUSTER_S3_PID"])
            start = time.time() - t0
            note("stopping the S3 server (SIGSTOP) for 10 s")
            os.kill(s3, signal.SIGSTOP)
            time.sleep(10)
            os.kill(s3, signal.SIGCONT)
            note("S3 server resumed")
            windows["S3"] = (start, time.time() - t0)

        def outages_or_note():
            try:
                outages()
            except Exception as err:  # noqa: BLE001 - reported as a broken run, below
                problems.append(f"the fault injection itself failed: {err!r}")

        faults = threading.Thread(target=outages_or_note)
        faults.start()

        accepted, refused = [], Counter()
        for i in range(jobs):
            while time.time() < t0 + i / pace:
                time.sleep(0.002)
            while True:  # A client retries what was refused; nothing here is ambiguous.
                try:
                    status, job, _, _ = client.submit(api.port, image, OPS)
                except NotAccepted:
                    status, job = 0, "connection refused"
                except Lost as err:
                    problems.append(f"a submission was lost in flight: {err}")
                    status, job = 0, "lost"
                if status == 202:
                    accepted.append(job)
                    break
                refused[f"{status} {job}"] += 1
                time.sleep(0.2)
        note(f"all {len(accepted)} submissions accepted")
        faults.join()
        killer.stop()
        note(f"killed {kills['workers']} workers; waiting for the queue to drain")
        counts = wait_until_settled(cluster, len(accepted), deadline_s=600)
        time.sleep(1)
        prober.stop()
        drained_s = time.time() - t0
        more, rows = check_outputs(cluster, accepted)
        problems += more
        problems += readiness_problems(timeline, windows)
        attempts = Counter(j["attempts"] for j in rows.values())
        red = red_spells(timeline)
        lines = [
            f"# Faults: {jobs} thumbnail jobs at {pace:.0f}/s, {workers} worker processes, lease {lease_ms} ms",
            "",
            f"- workers killed with SIGKILL (and replaced): {kills['workers']}, one every {kill_every:.0f} s",
            f"- PostgreSQL stopped for {pg_down:.0f} s and started again, once; the S3 server stopped (SIGSTOP) for 10 s",
            f"- final states: {dict(sorted(counts.items()))}; all drained {drained_s:.0f} s after the first submission",
            f"- attempts per job: {dict(sorted(attempts.items()))} (a killed worker's job runs again; its output "
            "key is the same, so it is overwritten, never doubled)",
            f"- submissions refused and retried: {dict(refused) or 'none'}",
            f"- /readyz red spells (s after start): {', '.join(f'{a:.1f}-{b:.1f}' for a, b in red) or 'none'}",
            f"- events: {'; '.join(f'{t:.1f}s {what}' for t, what in events)}",
            f"- promises: {'all kept' if not problems else f'{len(problems)} broken'}",
        ]
        report(os.path.join(os.environ["CLUSTER_OUT"], "fault.md"), lines)
    finally:
        cluster.stop_all()
    fail(problems)


def red_spells(timeline):
    spells, start = [], None
    for t, status in timeline:
        if status != 200 and start is None:
            start = t
        elif status == 200 and start is not None:
            spells.append((start, t))
            start = None
    if start is not None:
        spells.append((start, timeline[-1][0]))
    return spells


def readiness_problems(timeline, windows):
    """Red during each outage, green at the end, and nobody but time in between."""
    problems = []
    for name in ("PostgreSQL", "S3"):
        if name not in windows:
            problems.append(f"the {name} outage did not happen")
            continue
        start, end = windows[name]
        if not any(start <= t <= end + 3 and status != 200 for t, status in timeline):
            problems.append(f"/readyz stayed green through the {name} outage")
    if not timeline or timeline[-1][1] != 200:
        problems.append("/readyz was not green at the end")
    return problems
