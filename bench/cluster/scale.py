"""Scale: 1 API + N worker processes (N = 1, 2, 4) on PostgreSQL and S3, a burst of
2,000 thumbnail jobs each: jobs/s from the first submission to the last completion,
and the queue wait (claimed minus submitted) at p50 and p99."""

import os
import threading
import time

from common import Cluster, check_outputs, fail, log, percentile, queue_waits_ms, report, wait_until_settled

OPS = ["thumbnail:width=256"]


def submit_all(client, port, image, count, threads=8):
    """Submits `count` jobs from `threads` threads; returns the accepted ids and the rate."""
    accepted, problems, lock = [], [], threading.Lock()
    todo = iter(range(count))

    def run():
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            status, job, _, _ = client.submit(port, image, OPS)
            with lock:
                (accepted.append(job) if status == 202 else problems.append(f"submission answered {status} {job}"))

    started = time.perf_counter()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return accepted, problems, count / (time.perf_counter() - started)


def one(n, jobs, photo):
    cluster = Cluster(f"scale-n{n}")
    try:
        client, image = cluster.bring_up(1, n, photo)
        api = cluster.apis[0]
        log(f"N={n}: submitting {jobs} jobs")
        accepted, problems, submit_rate = submit_all(client, api.port, image, jobs)
        wait_until_settled(cluster, len(accepted), deadline_s=600)
        more, rows = check_outputs(cluster, accepted)
        problems += more
        done = [j for j in rows.values() if j["finished"]]
        span_s = (max(j["finished"] for j in done) - min(j["created"] for j in done)) / 1000
        waits = queue_waits_ms(list(rows.values()))
        row = {
            "n": n, "jobs": len(accepted), "jobs_per_s": len(done) / span_s, "submit_per_s": submit_rate,
            "wait_p50_ms": percentile(waits, 50), "wait_p99_ms": percentile(waits, 99),
        }
        log(f"N={n}: {row['jobs_per_s']:.1f} jobs/s, queue wait p50 {row['wait_p50_ms']} ms, p99 {row['wait_p99_ms']} ms")
        return row, problems
    finally:
        cluster.stop_all()


def main():
    jobs = int(os.environ.get("JOBS", "2000"))
    sizes = [int(n) for n in os.environ.get("WORKERS", "1 2 4").split()]
    photo = os.environ.get("PHOTO", "test-data/photos/astronaut.jpg")
    rows, problems = [], []
    for n in sizes:
        row, broken = one(n, jobs, photo)
        rows.append(row)
        problems += [f"N={n}: {p}" for p in broken]
    lines = [
        f"# Scale: 1 API + N workers, {jobs} thumbnail jobs in a burst ({os.cpu_count()} cores)",
        "",
        f"Each job: `{' → '.join(OPS)}` of `{photo}`; one worker process runs one job at a time;",
        "PostgreSQL (private cluster) and S3 (moto) on the same machine; 8 submitting threads.",
        "",
        "| worker processes | jobs/s | submissions/s | queue wait p50 | queue wait p99 |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['n']} | {r['jobs_per_s']:.1f} | {r['submit_per_s']:.0f} | "
                     f"{r['wait_p50_ms']:.0f} ms | {r['wait_p99_ms']:.0f} ms |")
    report(os.path.join(os.environ["CLUSTER_OUT"], "scale.md"), lines)
    fail(problems)
