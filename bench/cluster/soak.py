"""Soak: five minutes of job submissions at saturation (more than the workers can run)
against 1 API + 2 workers with `max_queued_jobs` set. The promises: overload is answered
at once with 429 `queue_full` instead of a growing queue and growing latency; latency in
the last minute is no worse than in the second; no 5xx, no dropped connection; the API's
and the workers' RSS stay flat."""

import os
import threading
import time
from collections import Counter, defaultdict

from common import Cluster, Lost, NotAccepted, Ticker, fail, log, percentile, report

OPS = ["thumbnail:width=64"]


def main():
    seconds = int(os.environ.get("SOAK_SECONDS", "300"))
    max_queued = int(os.environ.get("MAX_QUEUED", "500"))
    threads = int(os.environ.get("THREADS", "12"))
    photo = os.environ.get("PHOTO", "test-data/photos/astronaut.jpg")
    cluster = Cluster("soak", extra_env={"ATELIER_MAX_QUEUED_JOBS": str(max_queued)})
    problems = []
    try:
        client, image = cluster.bring_up(1, 2, photo)
        api, workers = cluster.apis[0], list(cluster.workers)
        t0 = time.time()
        minute = lambda: int((time.time() - t0) // 60)  # noqa: E731
        latencies, codes, lock, stop = defaultdict(list), defaultdict(Counter), threading.Lock(), threading.Event()
        samples = []

        def load():
            while not stop.is_set():
                m = minute()
                try:
                    status, code, elapsed, headers = client.submit(api.port, image, OPS)
                except (NotAccepted, Lost) as err:
                    with lock:
                        problems.append(f"minute {m}: {type(err).__name__}: {err}")
                    continue
                with lock:
                    latencies[m].append(elapsed * 1000)
                    codes[m][status if status != 429 else f"429 {code}"] += 1
                    if status >= 500:
                        problems.append(f"minute {m}: {status} {code}")
                    if status == 429 and "retry-after" not in {k.lower() for k in headers}:
                        problems.append("a 429 without Retry-After")

        def sample():
            queued = cluster.state_counts().get("queued", 0)
            samples.append((time.time() - t0, api.rss_kib(), [w.rss_kib() for w in workers], queued))

        sampler = Ticker(5, sample)
        sampler.start()
        pool = [threading.Thread(target=load) for _ in range(threads)]
        for thread in pool:
            thread.start()
        while time.time() - t0 < seconds:
            time.sleep(1)
            if int(time.time() - t0) % 30 == 0:
                log(f"{time.time() - t0:.0f} s: {dict(codes[minute()])}")
        stop.set()
        for thread in pool:
            thread.join()
        sampler.stop()
        minutes = sorted(latencies)
        full = [m for m in minutes if m * 60 + 60 <= seconds]
        lines = [
            f"# Soak: {seconds} s of job submissions from {threads} threads, max_queued_jobs = {max_queued}",
            "",
            "| minute | answered | 202 | 429 queue_full | p50 | p99 | API RSS (max) | worker RSS (max) | queued (max) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for m in full:
            in_m = [s for s in samples if m * 60 <= s[0] < m * 60 + 60]
            api_rss = max((s[1] or 0) for s in in_m) if in_m else 0
            worker_rss = max(max(r or 0 for r in s[2]) for s in in_m) if in_m else 0
            queued = max(s[3] for s in in_m) if in_m else 0
            lines.append(
                f"| {m + 1} | {len(latencies[m])} | {codes[m][202]} | {codes[m]['429 queue_full']} | "
                f"{percentile(latencies[m], 50):.1f} ms | {percentile(latencies[m], 99):.1f} ms | "
                f"{api_rss / 1024:.0f} MiB | {worker_rss / 1024:.0f} MiB | {queued} |")
        problems += soak_problems(full, latencies, codes, samples, max_queued, threads)
        lines.append("")
        lines.append(f"Promises: {'all kept' if not problems else f'{len(problems)} broken'}.")
        report(os.path.join(os.environ["CLUSTER_OUT"], "soak.md"), lines)
    finally:
        cluster.stop_all()
    fail(problems)


def soak_problems(full, latencies, codes, samples, max_queued, threads):
    problems = []
    if len(full) < 2:
        return ["the soak needs at least two whole minutes (SOAK_SECONDS >= 120)"]
    second, last = full[1], full[-1]
    if not any(codes[m]["429 queue_full"] for m in full):
        problems.append("no 429 queue_full: the load never saturated the queue")
    for q, slack in ((50, 10), (99, 25)):
        early, late = percentile(latencies[second], q), percentile(latencies[last], q)
        if late > 2 * early + slack:
            problems.append(f"p{q} latency grew from {early:.1f} ms (minute 2) to {late:.1f} ms (last minute)")
    deepest = max(s[3] for s in samples)
    if deepest > max_queued + threads:
        problems.append(f"the queue grew to {deepest} jobs past max_queued_jobs = {max_queued}")

    def peak(rows, pick):
        return max((pick(s) or 0) for s in rows)

    early = [s for s in samples if second * 60 <= s[0] < second * 60 + 60]
    late = [s for s in samples if last * 60 <= s[0] < last * 60 + 60]
    if early and late:
        for name, pick in (("API", lambda s: s[1]), ("worker", lambda s: max(r or 0 for r in s[2]))):
            before, after = peak(early, pick), peak(late, pick)
            if after > before * 1.25 + 16 * 1024:
                problems.append(f"{name} RSS grew from {before // 1024} MiB to {after // 1024} MiB")
    log(f"checked minutes {second + 1} and {last + 1}")
    return problems
