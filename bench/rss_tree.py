#!/usr/bin/env python3
"""Runs a command and measures its whole process tree: peak total resident memory and wall
time. GNU time's maxrss is one process's (the largest child's, at best), which understates a
tool that forks a pool of workers; this adds up the command and all its descendants.

    python3 bench/rss_tree.py [--interval 0.05] [--pss-interval 1] [--json FILE] -- COMMAND [ARG...]

Standard library only; Linux (/proc). Every --interval seconds (default 0.05) it finds the
command's descendants (/proc/PID/task/*/children, or every process's parent pid from
/proc/*/stat when the kernel has no `children` files) and adds up
  - RSS: resident pages (/proc/PID/statm) of each process; pages that several processes
    share (a forked pool's copy-on-write pages, shared libraries) count once per process,
    as `ps` and most reports count them;
  - PSS: /proc/PID/smaps_rollup's Pss, where a shared page is split between its sharers, so
    the sum is the tree's real footprint. The kernel walks every page table to answer (about
    4 ms per 100 MB resident), so it is read only every --pss-interval seconds (default 1;
    0 never), and its peak can miss a short high; null without smaps_rollup.
The peaks are of the sums at one sample; a peak shorter than the interval can be missed.

The command keeps its stdin, stdout and stderr. At the end the report, one JSON object, goes
to FILE (--json) or else to stderr:
  {"command": [...], "rc": exit status (negative: killed by that signal), "wall_s",
   "cpu_s" (user + system of the command and every descendant it waited for),
   "peak_rss_bytes", "peak_rss_mib", "peak_pss_bytes", "peak_pss_mib" (null when
   not read), "peak_processes", "samples", "interval_s",
   "sampler_cpu_s" (this script's own CPU time: what measuring cost the machine)}
Exits with the command's status (128 + N when killed by signal N).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def parent_map() -> dict[int, list[int]]:
    """pid -> child pids, for every process now in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # gone since listdir
        # The command name (field 2) is in parentheses and may hold spaces or ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def children_of(pid: int) -> list[int] | None:
    """pid's children from /proc/PID/task/*/children (a thread's own children each), which
    costs far less than reading every process's stat; None when the kernel lacks the file."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []  # gone
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended
            return None
        except OSError:
            continue
    return found


def tree(root: int) -> list[int]:
    """root and all its descendants now."""
    pids, todo, children = [], [root], None
    while todo:
        pid = todo.pop()
        pids.append(pid)
        kids = children_of(pid) if children is None else None
        if kids is None:
            children = children or parent_map()
            kids = children.get(pid, [])
        todo.extend(kids)
    return pids


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description="Peak RSS of a whole process tree, and wall time.",
                                     usage="%(prog)s [--interval S] [--json FILE] -- COMMAND [ARG...]")
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--pss-interval", type=float, default=1.0)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    has_pss = args.pss_interval > 0 and os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")
    next_pss = 0.0
    started = time.monotonic()
    proc = subprocess.Popen(command)
    # Forward the signals a user or a timeout sends, so that the command ends and reports.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))

    peak_rss = peak_pss = peak_procs = samples = 0
    status, usage = None, None
    while True:
        pids = tree(proc.pid)
        total_rss = sum(rss_bytes(pid) for pid in pids)
        if has_pss and time.monotonic() >= next_pss:
            next_pss = time.monotonic() + args.pss_interval
            total_pss = sum(pss_bytes(pid) or 0 for pid in pids)
            peak_pss = max(peak_pss, total_pss)
        peak_rss, peak_procs = max(peak_rss, total_rss), max(peak_procs, len(pids))
        samples += 1
        # wait4 rather than Popen.wait: its rusage covers the command and every descendant
        # it waited for (a pool's workers), which Popen does not hand back.
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        time.sleep(args.interval)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # so that Popen does not wait again

    own = resource.getrusage(resource.RUSAGE_SELF)
    mib = lambda b: round(b / 2**20, 1)
    report = {
        "command": command,
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_bytes": peak_rss,
        "peak_rss_mib": mib(peak_rss),
        "peak_pss_bytes": peak_pss if has_pss else None,
        "peak_pss_mib": mib(peak_pss) if has_pss else None,
        "peak_processes": peak_procs,
        "samples": samples,
        "interval_s": args.interval,
        "pss_interval_s": args.pss_interval if has_pss else None,
        "sampler_cpu_s": round(own.ru_utime + own.ru_stime, 3),
    }
    text = json.dumps(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text, file=sys.stderr)
    rc = proc.returncode
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
