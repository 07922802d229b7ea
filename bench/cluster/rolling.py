"""Rolling restart under load: two API replicas and two workers; each API replica in
turn is taken out of rotation (as a load balancer does when its pod starts terminating),
sent SIGTERM while requests are still in flight on it (slow uploads, half sent), and
replaced; then each worker is sent SIGTERM while it runs jobs, and replaced. Every
request that reached a replica must be answered, every replica must exit 0 by itself,
and every accepted job must succeed on its first attempt (a worker that drains never
leaves a job to its lease)."""

import http.client
import itertools
import os
import signal
import threading
import time
from collections import Counter

from common import (Cluster, Lost, NotAccepted, check_outputs, fail, log, report,
                    wait_until_settled)

OPS = ["thumbnail:width=256"]


def slow_upload(port, auth, data, results):
    """Sends half an upload, waits, sends the rest: in flight across the SIGTERM."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", "/v1/images")
        for name, value in auth.items():
            conn.putheader(name, value)
        conn.putheader("content-length", str(len(data)))
        conn.endheaders()
        conn.send(data[: len(data) // 2])
        time.sleep(1.5)
        conn.send(data[len(data) // 2:])
        res = conn.getresponse()
        res.read()
        results.append(res.status)
    except (OSError, http.client.HTTPException) as err:
        results.append(f"{type(err).__name__}: {err}")
    finally:
        conn.close()


def main():
    photo = os.environ.get("PHOTO", "test-data/photos/astronaut.jpg")
    with open(photo, "rb") as f:
        photo_bytes = f.read()
    cluster = Cluster("rolling", lease_ms=60000)
    problems, exits = [], {}
    try:
        client, image = cluster.bring_up(2, 2, photo)
        apis = list(cluster.apis)
        routable = list(apis)
        lock = threading.Lock()
        accepted, outcomes, stop = [], Counter(), threading.Event()
        turn = itertools.count()

        def load():
            while not stop.is_set():
                with lock:
                    target = routable[next(turn) % len(routable)]
                try:
                    status, job, _, _ = client.submit(target.port, image, OPS)
                except NotAccepted:
                    outcomes["not accepted (retried elsewhere)"] += 1
                    continue
                except Lost as err:
                    with lock:
                        problems.append(f"an accepted request got no answer from {target.name}: {err}")
                    continue
                with lock:
                    outcomes[status] += 1
                    if status == 202:
                        accepted.append(job)
                    else:
                        problems.append(f"{target.name} answered {status} {job}")
                time.sleep(0.01)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        in_flight = []
        for old in list(apis):
            with lock:
                routable.remove(old)
            time.sleep(0.5)  # the balancer's propagation delay (a preStop sleep in Kubernetes)
            uploads = [threading.Thread(target=slow_upload, args=(old.port, client.auth, photo_bytes, in_flight))
                       for _ in range(3)]
            for upload in uploads:
                upload.start()
            time.sleep(0.5)
            log(f"SIGTERM {old.name} with {len(uploads)} uploads half sent")
            started = time.time()
            old.signal(signal.SIGTERM)
            for upload in uploads:
                upload.join()
            exits[old.name] = (old.wait(45), time.time() - started)
            new = cluster.start_api()
            with lock:
                routable.append(new)
            time.sleep(2)
        for old in list(cluster.workers):
            log(f"SIGTERM {old.name} while it works")
            cluster.start_worker()  # the surge replica first, as a Deployment does
            started = time.time()
            old.signal(signal.SIGTERM)
            exits[old.name] = (old.wait(45), time.time() - started)
            time.sleep(2)
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join()
        wait_until_settled(cluster, len(accepted), deadline_s=300)
        more, rows = check_outputs(cluster, accepted)
        problems += more
        retried = [j for j in rows.values() if j["attempts"] != 1]
        if retried:
            problems.append(f"{len(retried)} jobs ran more than once (left to a lease): {[j['id'] for j in retried[:3]]}")
        bad_uploads = [r for r in in_flight if r not in (200, 201)]
        if bad_uploads:
            problems.append(f"uploads in flight at SIGTERM did not complete: {bad_uploads}")
        for name, (code, took) in exits.items():
            if code != 0:
                problems.append(f"{name} exited with {code} after SIGTERM")
        lines = [
            "# Rolling restart under load: 2 API replicas, 2 workers, each sent SIGTERM in turn",
            "",
            f"- requests: {dict(outcomes)}; jobs accepted {len(accepted)}, all succeeded on attempt 1: {not retried}",
            f"- uploads half sent at SIGTERM, then finished: {in_flight}",
            "- exits: " + ", ".join(f"{name} {code} in {took:.1f} s" for name, (code, took) in exits.items()),
            f"- promises: {'all kept' if not problems else f'{len(problems)} broken'}",
        ]
        report(os.path.join(os.environ["CLUSTER_OUT"], "rolling.md"), lines)
    finally:
        cluster.stop_all()
    fail(problems)
