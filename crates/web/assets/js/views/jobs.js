// The jobs list (#/jobs): filters kept in the URL, newest first, "Load more" pages, and
// live state and progress for queued and running jobs (a few event streams, polling the rest).

import * as api from "../api.js";
import { h, mount, busy, fillError, field, formatTime, stateBadge, toast } from "../ui.js";

export const STATES = ["queued", "running", "succeeded", "failed", "canceled", "dead"];
const LIVE = new Set(["queued", "running"]);
const PAGE_SIZES = ["20", "50", "100"];
// Plain-HTTP browsers open at most 6 connections to a host, and each event stream holds
// one: 4 streams leave two for pages, images and the polling below.
const MAX_STREAMS = 4;
const POLL_MS = 4000;

/** The first 8 characters of a job's id: enough to tell jobs apart on screen. */
export function shortId(id) {
  return String(id || "").slice(0, 8);
}

export function isLive(state) {
  return LIVE.has(state);
}

/** "1.2 s", "3 min 5 s", "2 h 10 min"; empty when not started. */
export function formatDuration(job, now = Date.now()) {
  if (!job.started_at) return "";
  const ms = Math.max(0, (job.finished_at || now) - job.started_at);
  if (ms < 100) return "under 0.1 s";
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60) ? `${Math.floor(s / 60)} min ` : ""}${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** What a job ran, in a few words: its saved pipeline, its inline steps, or its dataset. */
export function pipelineLabel(job) {
  if (job.pipeline) return job.pipeline;
  const steps = job.steps?.steps || (Array.isArray(job.steps) ? job.steps : null);
  if (steps?.length) return steps.map((step) => step.op || "?").join(" → ");
  if (job.results && typeof job.results.dataset === "string") return `dataset ${shortId(job.results.dataset)}`;
  return "inline pipeline";
}

/** A `<progress>` for a job, labelled for screen readers, with "done / total" beside it. */
export function progressOf(job, label) {
  const bar = h("progress", { max: Math.max(1, job.progress?.total || 0), "aria-label": label });
  const text = h("span", { class: "muted job-progress-text" });
  setProgress(bar, text, job);
  return { el: h("div", { class: "job-progress" }, bar, text), bar, text };
}

export function setProgress(bar, text, job) {
  const { done = 0, total = 0 } = job.progress || {};
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, Math.max(1, total));
  text.textContent = `${done} / ${total}`;
}

export async function render(main, { query, navigate }) {
  const controller = new AbortController();
  const { signal } = controller;
  const rows = new Map(); // id → { job, tr, badge, bar, text, duration }
  const streams = new Map(); // id → AbortController
  const pollOnly = new Set(); // ids whose stream failed: polled from then on
  let timer = null;
  let polling = false;

  // The filter form, mirrored in the URL: #/jobs?state=running&limit=50
  const wanted = { state: query.get("state") || "", limit: query.get("limit") || "" };
  const state = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "Any state"),
    STATES.map((s) => h("option", { value: s }, s)),
  );
  const limit = h(
    "select",
    { name: "limit" },
    [...new Set([...PAGE_SIZES, wanted.limit || "20"])].sort((a, b) => a - b).map((n) => h("option", { value: n }, n)),
  );
  state.value = wanted.state;
  limit.value = wanted.limit || "20";
  const form = h(
    "form",
    { class: "row job-filters", role: "search", "aria-label": "Filter jobs" },
    field("State", state),
    field("Per page", limit),
    h("button", { type: "submit" }, "Apply filters"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (state.value) params.set("state", state.value);
    if (limit.value && limit.value !== "20") params.set("limit", limit.value);
    const qs = params.toString();
    navigate(qs ? `/jobs?${qs}` : "/jobs");
  });

  const box = h("div", { class: "error", role: "alert", hidden: true });
  const count = h("p", { class: "muted", role: "status" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "jobs-table" },
    h("caption", { class: "muted" }, wanted.state ? `Jobs in state ${wanted.state}, newest first` : "Your jobs, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Job", "Pipeline", "State", "Progress", "Items", "Created", "Duration"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    tbody,
  );
  const wrap = h("div", { class: "table-wrap" }, table);
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const empty = h(
    "p",
    { hidden: true },
    wanted.state ? `No ${wanted.state} jobs. ` : "No jobs yet. ",
    h("a", { href: "#/images" }, "Pick images to run a job on"),
  );
  mount(main, h("h1", {}, "Jobs"), form, box, empty, wrap, count, h("div", { class: "row" }, more));

  function row(job) {
    const badge = h("span", {}, stateBadge(job.state));
    const progress = progressOf(job, `Progress of job ${shortId(job.id)}`);
    const duration = h("td", {}, formatDuration(job));
    const items = h("td", {}, String(job.progress?.total ?? ""));
    const pipeline = h("td", {}, pipelineLabel(job));
    const tr = h(
      "tr",
      { "data-job": job.id },
      h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, title: job.id }, h("code", {}, shortId(job.id)))),
      pipeline,
      h("td", {}, badge),
      h("td", { class: "job-progress-cell" }, progress.el),
      items,
      h("td", {}, formatTime(job.created_at)),
      duration,
    );
    rows.set(job.id, { job, tr, badge, bar: progress.bar, text: progress.text, duration, items, pipeline });
    return tr;
  }

  // Applies a `job` event, an `end` event or a polled JobView to its row.
  function update(data) {
    const entry = rows.get(data.id);
    if (!entry) return;
    const before = entry.job.state;
    entry.job = { ...entry.job, ...data };
    const job = entry.job;
    if (before !== job.state) {
      mount(entry.badge, stateBadge(job.state));
      if (!isLive(job.state)) toast(`Job ${shortId(job.id)}: ${job.state}`);
    }
    setProgress(entry.bar, entry.text, job);
    entry.items.textContent = String(job.progress?.total ?? "");
    entry.duration.textContent = formatDuration(job);
    if (data.results !== undefined) entry.pipeline.textContent = pipelineLabel(job);
  }

  function stop(id) {
    streams.get(id)?.abort();
    streams.delete(id);
  }

  function live() {
    return [...rows.values()].filter((e) => isLive(e.job.state)).map((e) => e.job.id);
  }

  // Opens streams for live jobs while there is room; the rest wait for the poller.
  function follow() {
    if (signal.aborted) return;
    for (const id of live()) {
      if (streams.size >= MAX_STREAMS) break;
      if (streams.has(id) || pollOnly.has(id)) continue;
      const mine = new AbortController();
      streams.set(id, mine);
      signal.addEventListener("abort", () => mine.abort(), { once: true });
      api
        .stream(
          `/v1/jobs/${encodeURIComponent(id)}/events`,
          (name, data) => {
            if ((name === "job" || name === "end") && data && typeof data === "object") update(data);
            if (name === "end" || name === "error") {
              // The server closes the stream after these: its slot goes to the next live job.
              if (streams.get(id) === mine) streams.delete(id);
              if (name === "error") pollOnly.add(id);
              follow();
            }
          },
          mine.signal,
        )
        .catch((err) => {
          if (err.name !== "AbortError") pollOnly.add(id);
        })
        .finally(() => {
          if (streams.get(id) === mine) streams.delete(id);
          // A stream that closed without `end` (a restart, a dropped connection) is polled.
          if (!mine.signal.aborted && isLive(rows.get(id)?.job.state)) pollOnly.add(id);
          follow();
        });
    }
  }

  // Every few seconds: the live jobs without a stream, one request each; running rows'
  // durations tick on.
  async function poll() {
    timer = null;
    if (signal.aborted) return;
    polling = true;
    const waiting = live().filter((id) => !streams.has(id));
    for (const id of waiting) {
      try {
        update(await api.get(`/v1/jobs/${encodeURIComponent(id)}`, { signal }));
      } catch (err) {
        if (err.name === "AbortError") return; // the page is gone: nothing to reschedule
        if (err.status === 404) {
          rows.get(id)?.tr.remove();
          rows.delete(id);
        }
      }
    }
    for (const id of live()) {
      const entry = rows.get(id);
      if (entry) entry.duration.textContent = formatDuration(entry.job);
    }
    polling = false;
    follow();
    if (!signal.aborted && live().length) timer = setTimeout(poll, POLL_MS);
  }

  function schedule() {
    follow();
    if (timer === null && !polling && live().length) timer = setTimeout(poll, POLL_MS);
  }

  let cursor = null;
  async function load() {
    const params = new URLSearchParams();
    if (wanted.state) params.set("state", wanted.state);
    if (wanted.limit) params.set("limit", wanted.limit);
    if (cursor) params.set("cursor", cursor);
    const qs = params.toString();
    const page = await api.get(`/v1/jobs${qs ? `?${qs}` : ""}`, { signal });
    for (const job of page.items || []) {
      if (rows.has(job.id)) update(job);
      else tbody.append(row(job));
    }
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = rows.size > 0;
    wrap.hidden = rows.size === 0;
    count.textContent = rows.size ? `Showing ${rows.size} job${rows.size === 1 ? "" : "s"}${cursor ? "; more are older" : ""}.` : "";
    schedule();
  }

  more.addEventListener("click", () => busy(more, box, () => load()));

  try {
    await load();
  } catch (err) {
    wrap.hidden = true;
    if (err.name !== "AbortError") fillError(box, err);
  }

  return () => {
    controller.abort();
    for (const id of [...streams.keys()]) stop(id);
    clearTimeout(timer);
    timer = null;
  };
}
