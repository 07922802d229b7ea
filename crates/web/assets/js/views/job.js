// One job (#/jobs/:id): state, progress (live over SSE until `end`), attempts, timings, the
// pipeline it ran, Cancel / Retry / Download all, and each item's input and outputs (a
// before/after slider, annotations drawn over the image), or a dataset job's metadata.json.

import * as api from "../api.js";
import { h, mount, busy, errorBox, fillError, field, formatBytes, formatTime, stateBadge, toast } from "../ui.js";
import { shortId, isLive, formatDuration, pipelineLabel, progressOf, setProgress } from "./jobs.js";
import { datasetViewer } from "./job-dataset.js";

const ITEMS_PAGE = 24;
const POLL_MS = 3000;

let annotationsModule = null;
/** annotations.js's `drawAnnotations`, or null when it cannot be loaded. */
export function annotationDrawer() {
  annotationsModule ??= import("../annotations.js").then((m) => m.drawAnnotations || null).catch(() => null);
  return annotationsModule;
}

/** As annotations.js reads them: any key counts (`faces: []` says a detector found none). */
export function hasAnnotations(a) {
  return Boolean(a && typeof a === "object" && Object.keys(a).length);
}

/** An error of an item or an output, in the API's words; not an alert (many may show at once). */
export function quietError(err) {
  return h(
    "div",
    { class: "error" },
    h("strong", {}, err.message || String(err)),
    err.code ? [" ", h("code", { class: "code" }, err.code)] : null,
  );
}

/** The input image id of item `index`, where the API names it (`images`, or `items[].image`). */
function inputOf(job, index) {
  const id = Array.isArray(job.images) ? job.images[index] : Array.isArray(job.items) ? job.items[index]?.image : null;
  return typeof id === "string" && id ? id : null;
}

function isDataset(job) {
  const r = job.results;
  return Boolean(r) && typeof r === "object" && !Array.isArray(r.items) && typeof r.dataset === "string";
}

/** An `<img>` for `url`, once decoded (or known not to decode: `broken`). */
async function decoded(url, alt) {
  const img = h("img", { src: url, alt });
  try {
    await img.decode();
  } catch {
    img.dataset.broken = "true";
  }
  return img;
}

function figure(img, caption) {
  const parts = [img];
  if (img.dataset.broken) parts.push(h("p", { class: "muted" }, "Your browser cannot show this format; download it instead."));
  return h("figure", { class: "job-figure" }, parts, h("figcaption", { class: "muted" }, caption));
}

function sameShape(a, b) {
  if (a.dataset.broken || b.dataset.broken || !a.naturalHeight || !b.naturalHeight) return false;
  const ra = a.naturalWidth / a.naturalHeight;
  const rb = b.naturalWidth / b.naturalHeight;
  return Math.abs(ra - rb) <= 0.01 * ra;
}

/** The after image over the before one, clipped from the right by the slider. */
function compare(before, after) {
  const clip = h("div", { class: "after-clip" }, after);
  const range = h("input", { type: "range", min: 0, max: 100, step: 1, value: 50 });
  const set = () => {
    clip.style.clipPath = `inset(0 ${100 - Number(range.value)}% 0 0)`;
    range.setAttribute("aria-valuetext", `${range.value}% after`);
  };
  range.addEventListener("input", set);
  set();
  return h(
    "div",
    { class: "compare" },
    h("div", { class: "compare-frame" }, before, clip),
    h("div", { class: "row spread muted compare-legend", "aria-hidden": "true" }, h("span", {}, "← After"), h("span", {}, "Before →")),
    field("Before / after", range),
  );
}

export async function render(main, { params }) {
  const id = params.id;
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  const controller = new AbortController();
  const { signal } = controller;
  const urls = new Set();
  let timer = null;
  let ticker = null;
  const cleanup = () => {
    controller.abort();
    clearTimeout(timer);
    clearInterval(ticker);
    for (const url of urls) URL.revokeObjectURL(url);
    urls.clear();
  };
  const heading = h("h1", {}, `Job ${shortId(id)}`);
  const back = h("p", {}, h("a", { href: "#/jobs" }, "← All jobs"));

  let job;
  try {
    job = await api.get(path, { signal });
  } catch (err) {
    if (err.name !== "AbortError") mount(main, heading, errorBox(err), back);
    return cleanup;
  }

  // Object URLs: every one is revoked on cleanup, or with the item that owns it.
  async function blob(src, owned) {
    const url = await api.blobUrl(src, signal);
    if (signal.aborted) {
      URL.revokeObjectURL(url);
      throw new DOMException("aborted", "AbortError");
    }
    urls.add(url);
    owned?.push(url);
    return url;
  }
  function revoke(list) {
    for (const url of list.splice(0)) {
      URL.revokeObjectURL(url);
      urls.delete(url);
    }
  }

  // The summary: updated in place, so a focused button keeps its focus.
  const badge = h("span", {}, stateBadge(job.state));
  const progress = progressOf(job, "Job progress");
  const dd = () => h("dd");
  const [attempts, created, started, finished, duration, pipeline] = [dd(), dd(), dd(), dd(), dd(), dd()];
  const note = h("p", { class: "muted", hidden: true }, "Cancellation requested: the job stops after the item in hand.");
  const jobError = h("div", { class: "error", hidden: true });
  const liveStatus = h("p", { class: "muted", role: "status" });
  const cancelBtn = h("button", { type: "button", class: "danger" }, "Cancel");
  const retryBtn = h("button", { type: "button" }, "Retry");
  const zipBtn = h("button", { type: "button", "aria-describedby": "zip-hint" }, "Download all (zip)");
  const zipHint = h("small", { id: "zip-hint", class: "hint" }, "The zip can be downloaded when the job ends.");
  const actionBox = h("div", { class: "error", role: "alert", hidden: true });
  const pair = (term, value) => [h("dt", {}, term), value];
  const summary = h(
    "section",
    { class: "card", "aria-label": "Summary", tabindex: "-1" },
    h(
      "dl",
      { class: "job-facts" },
      pair("State", h("dd", {}, badge)),
      pair("Progress", h("dd", {}, progress.el)),
      pair("Attempts", attempts),
      pair("Created", created),
      pair("Started", started),
      pair("Finished", finished),
      pair("Duration", duration),
      pair("Pipeline", pipeline),
    ),
    note,
    jobError,
    h("div", { class: "row" }, cancelBtn, retryBtn, zipBtn, zipHint),
    actionBox,
    liveStatus,
  );

  function showPipeline() {
    const parts = [];
    if (job.pipeline) {
      const name = job.pipeline.split("@")[0];
      parts.push(h("a", { href: `#/pipelines/${encodeURIComponent(name)}` }, job.pipeline));
    } else {
      parts.push(pipelineLabel(job));
    }
    const steps = job.steps ?? null;
    if (steps && typeof steps === "object") {
      parts.push(h("details", {}, h("summary", {}, "Pipeline document"), h("pre", {}, JSON.stringify(steps, null, 2))));
    }
    mount(pipeline, parts);
  }

  function showSummary() {
    mount(badge, stateBadge(job.state));
    setProgress(progress.bar, progress.text, job);
    attempts.textContent = `${job.attempts} of ${job.max_attempts}`;
    created.textContent = formatTime(job.created_at);
    started.textContent = formatTime(job.started_at) || "not yet";
    finished.textContent = formatTime(job.finished_at) || (isLive(job.state) ? "not yet" : "—");
    duration.textContent = formatDuration(job) || "—";
    note.hidden = !(job.cancel_requested && isLive(job.state));
    if (job.error) mount(jobError, h("strong", {}, "Error: "), job.error);
    jobError.hidden = !job.error;
    const hadFocus = [cancelBtn, retryBtn].includes(document.activeElement);
    cancelBtn.hidden = !isLive(job.state) || job.cancel_requested;
    retryBtn.hidden = !(job.state === "failed" || job.state === "dead");
    if (hadFocus && document.activeElement.hidden) summary.focus(); // not lost to <body>
    zipBtn.disabled = isLive(job.state);
    zipHint.hidden = !isLive(job.state);
    clearInterval(ticker);
    ticker = job.state === "running" ? setInterval(() => (duration.textContent = formatDuration(job)), 1000) : null;
  }

  // Applies a full JobView (the first load, an `end` event, a poll, a cancel or retry answer).
  function apply(next, announce = true) {
    const was = job.state;
    job = next;
    showSummary();
    showPipeline();
    showResults();
    if (announce && was !== job.state) toast(`Job ${shortId(job.id)}: ${job.state}`);
    if (!isLive(job.state)) liveStatus.textContent = `The job ended: ${job.state}.`;
  }

  const act = (button, work) => busy(button, actionBox, work);
  cancelBtn.addEventListener("click", () =>
    act(cancelBtn, async () => {
      apply(await api.post(`${path}/cancel`, undefined, { signal }), false);
      toast(job.state === "canceled" ? "Job canceled" : "Cancellation requested");
      api.reloadUser().catch(() => {});
    }),
  );
  retryBtn.addEventListener("click", () =>
    act(retryBtn, async () => {
      apply(await api.post(`${path}/retry`, undefined, { signal }), false);
      toast("Job queued again");
      api.reloadUser().catch(() => {});
      follow();
    }),
  );
  zipBtn.addEventListener("click", () => act(zipBtn, () => api.download(`${path}/archive`, `job-${job.id}.zip`)));

  // Live progress: the event stream until `end`; polling if the stream cannot be had.
  let following = false;
  function follow() {
    if (following || signal.aborted || !isLive(job.state)) return;
    following = true;
    liveStatus.textContent = "Following the job live.";
    api
      .stream(
        `${path}/events`,
        (name, data) => {
          if (!data || typeof data !== "object") return;
          if (name === "job") {
            const was = job.state;
            job = { ...job, ...data };
            showSummary();
            if (was !== job.state) toast(`Job ${shortId(job.id)}: ${job.state}`);
          } else if (name === "item" && Number.isInteger(data.index)) {
            setItem(data.index, data.result);
          } else if (name === "end") {
            apply(data);
            api.reloadUser().catch(() => {});
          } else if (name === "error") {
            fillError(actionBox, data);
          }
        },
        signal,
      )
      .catch(() => {})
      .finally(() => {
        following = false;
        if (!signal.aborted && isLive(job.state)) {
          liveStatus.textContent = "Checking the job every few seconds.";
          timer = setTimeout(poll, POLL_MS);
        }
      });
  }
  async function poll() {
    timer = null;
    try {
      apply(await api.get(path, { signal }));
    } catch (err) {
      if (err.name === "AbortError") return;
    }
    if (!signal.aborted && isLive(job.state)) timer = setTimeout(poll, POLL_MS);
  }

  // Results: one card per item, a page at a time; each card is rebuilt only when its result changes.
  const resultsNote = h("p", { class: "muted" });
  const list = h("div", { class: "job-items" });
  const moreItems = h("button", { type: "button", hidden: true }, "Show more results");
  const datasetBox = h("div");
  const itemResults = [];
  const slots = [];
  let shown = 0;
  let datasetDone = false;

  function itemCount() {
    return Math.max(job.progress?.total || 0, itemResults.length);
  }

  function setItem(index, result) {
    itemResults[index] = result ?? null;
    if (!shown && result) showMore();
    else if (index < shown) renderItem(index);
    updateNote();
  }

  function updateNote() {
    const done = itemResults.filter(Boolean).length;
    resultsNote.textContent = done ? `${done} of ${itemCount()} items have finished.` : isLive(job.state) ? "No item has finished yet." : "This job has no results.";
    moreItems.hidden = shown >= itemCount() || !shown;
  }

  function showMore() {
    const until = Math.min(itemCount(), shown + ITEMS_PAGE);
    for (let i = shown; i < until; i++) renderItem(i);
    shown = until;
    updateNote();
  }
  moreItems.addEventListener("click", showMore);

  function showResults() {
    if (isDataset(job)) {
      list.hidden = true;
      moreItems.hidden = true;
      const r = job.results;
      resultsNote.textContent = `Dataset ${r.dataset}: ${r.selected ?? "?"} items selected, ${r.succeeded ?? 0} succeeded, ${r.failed ?? 0} failed.`;
      if (isLive(job.state)) datasetBox.replaceChildren(h("p", { class: "muted" }, "metadata.json is written when the job ends."));
      else if (!datasetDone) {
        datasetDone = true;
        datasetViewer(datasetBox, { job, path, blob, revoke, signal }).catch((err) => {
          if (err.name !== "AbortError") mount(datasetBox, quietError(err));
        });
      }
      return;
    }
    const items = Array.isArray(job.results?.items) ? job.results.items : [];
    items.forEach((result, i) => (itemResults[i] = result ?? null));
    if (!shown && items.some(Boolean)) showMore();
    else for (let i = 0; i < shown; i++) renderItem(i);
    updateNote();
  }

  function renderItem(index) {
    const result = itemResults[index] ?? null;
    const sig = JSON.stringify(result);
    const old = slots[index];
    if (old && old.sig === sig) return;
    const el = h("article", { class: "card job-item", "aria-labelledby": `item-${index}` });
    const slot = { el, sig, urls: [] };
    if (old) {
      revoke(old.urls);
      old.el.replaceWith(el);
    } else {
      list.append(el);
    }
    slots[index] = slot;
    fillItem(el, index, result, slot.urls);
  }

  function fillItem(el, index, result, owned) {
    const inputId = inputOf(job, index);
    const status = result ? stateBadge(result.status) : h("span", { class: "muted" }, isLive(job.state) ? "waiting" : "not run");
    mount(
      el,
      h("div", { class: "row spread" }, h("h3", { id: `item-${index}` }, `Item ${index + 1}`), status),
      inputId ? h("p", { class: "muted" }, "Input: ", h("a", { href: `#/images/${encodeURIComponent(inputId)}` }, "image ", h("code", {}, shortId(inputId)))) : null,
      result?.status === "failed" ? quietError(result) : null,
    );
    if (result?.status !== "succeeded") return;
    const outputs = result.outputs || [];
    if (!outputs.length) el.append(h("p", { class: "muted" }, "This item has no outputs."));
    let input = null;
    const loadInput = () =>
      (input ??= inputId
        ? blob(`/v1/images/${encodeURIComponent(inputId)}/original`, owned).catch((err) => {
            if (err.name === "AbortError") throw err;
            return null; // the image was deleted since: show the output alone
          })
        : Promise.resolve(null));
    const grid = h("div", { class: "job-outputs" });
    el.append(grid);
    outputs.forEach((output, k) => {
      const box = h("div", { class: "job-output" }, h("p", { class: "loading" }, "Loading…"));
      grid.append(box);
      showOutput(box, index, k, outputs.length, output, loadInput, owned).catch((err) => {
        if (err.name !== "AbortError") mount(box, quietError(err));
      });
    });
  }

  async function showOutput(box, index, k, count, output, loadInput, owned) {
    const name = output.url ? decodeURIComponent(output.url.split("/outputs/")[1] || "") : "";
    const label = count > 1 ? `Output ${k + 1} of item ${index + 1}` : `Output of item ${index + 1}`;
    const file = name.split("/").pop() || "output";
    const save = h("button", { type: "button", class: "link" }, `Download ${file}`);
    save.addEventListener("click", () => api.download(output.url, `job-${shortId(job.id)}-${file}`).catch((err) => toast(`${err.message} (${err.code})`)));
    const variant = output.variant ? ` · variant ${output.variant.index + 1}` : "";
    const meta = h("p", { class: "muted job-output-meta" }, `${output.format} · ${output.width}×${output.height} · ${formatBytes(output.bytes)}${variant} `, save);
    if (!output.url) {
      mount(box, meta);
      return;
    }
    const url = await blob(output.url, owned);
    if (hasAnnotations(output.annotations)) {
      const holder = h("div", { class: "job-annotated" });
      mount(box, holder, meta);
      const draw = await annotationDrawer();
      if (draw) await draw(holder, url, output.annotations, { width: output.width, height: output.height, alt: label });
      else mount(holder, figure(await decoded(url, label), label), h("pre", {}, JSON.stringify(output.annotations, null, 2)));
      return;
    }
    const inputUrl = k === 0 ? await loadInput() : null;
    const after = await decoded(url, label);
    if (!inputUrl) {
      mount(box, figure(after, label), meta);
      return;
    }
    const before = await decoded(inputUrl, `Input of item ${index + 1}`);
    const view = sameShape(before, after)
      ? compare(before, after)
      : h("div", { class: "job-side" }, figure(before, "Input"), figure(after, "Output"));
    mount(box, view, meta);
  }

  mount(
    main,
    heading,
    back,
    summary,
    h("section", { "aria-labelledby": "results-h" }, h("h2", { id: "results-h" }, "Results"), resultsNote, list, datasetBox, h("div", { class: "row" }, moreItems)),
  );
  apply(job, false);
  follow();
  return cleanup;
}
