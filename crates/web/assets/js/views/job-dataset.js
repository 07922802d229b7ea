// A dataset job's results on the job page: its metadata.json as a summary, a per-item table
// (a page at a time, each item's files previewed on demand with their annotations) and the
// raw document, pretty-printed only when opened.

import * as api from "../api.js";
import { h, mount, formatBytes } from "../ui.js";

const ROWS_PAGE = 50;

const pct = (score) => `${Math.round((Number(score) || 0) * 100)}%`;

/** What the vision steps found, in a few words. */
export function findings(a) {
  if (!a) return "";
  const out = [];
  if (a.faces?.length) out.push(`${a.faces.length} face${a.faces.length === 1 ? "" : "s"}`);
  if (a.number) out.push(`number ${a.number}`);
  else if (a.digits?.length) out.push(`digits ${a.digits.map((d) => d.digit).join("")}`);
  if (a.labels?.length) out.push(`${a.labels[0].label} (${pct(a.labels[0].score)})`);
  if (a.category) out.push(`category ${a.category.label}`);
  else if (a.categories?.length) out.push(`${a.categories[0].label} (${pct(a.categories[0].score)})`);
  if (a.moderation) out.push(a.moderation.needs_review ? "needs review" : "moderation: fine");
  return out.join(" · ");
}

function problem(err) {
  return h("div", { class: "error" }, h("strong", {}, err.message || String(err)), err.code ? [" ", h("code", { class: "code" }, err.code)] : null);
}

/**
 * Fills `box` with the viewer. `ctx`: `{ job, path, blob(src, owned), revoke(owned), signal }`
 * from the job page, which owns the object URLs and revokes them on cleanup.
 */
export async function datasetViewer(box, { job, path, blob, revoke, signal }) {
  mount(box, h("p", { class: "loading" }, "Loading metadata.json…"));
  const source = `${path}/outputs/metadata.json`;
  const raw = await api.get(source, { signal });
  const doc = typeof raw === "string" ? JSON.parse(raw) : raw;
  const items = Array.isArray(doc.items) ? doc.items : [];
  const s = doc.summary || {};

  const save = h("button", { type: "button" }, "Download metadata.json");
  save.addEventListener("click", () => api.download(source, `job-${job.id}-metadata.json`).catch((err) => box.prepend(problem(err))));

  // The preview of one item's files; its object URLs go when another item is shown.
  const preview = h("section", { class: "card", "aria-label": "Item preview", hidden: true });
  const previewUrls = [];
  let current = 0;
  async function show(item) {
    const mine = ++current;
    revoke(previewUrls);
    preview.hidden = false;
    const files = [item.image, ...(item.variants || [])].filter(Boolean);
    const grid = h("div", { class: "job-outputs" });
    const title = h("h4", { tabindex: "-1" }, `Item ${item.index}: ${item.name}`);
    mount(preview, title, grid);
    title.focus();
    const draw = await import("../annotations.js").then((m) => m.drawAnnotations || null).catch(() => null);
    for (const file of files) {
      if (mine !== current) return;
      const cell = h("div", { class: "job-output" }, h("p", { class: "loading" }, "Loading…"));
      grid.append(cell);
      try {
        const url = await blob(`${path}/outputs/${file.file.split("/").map(encodeURIComponent).join("/")}`, previewUrls);
        const meta = h("p", { class: "muted job-output-meta" }, `${file.file} · ${file.width}×${file.height} · ${formatBytes(file.bytes)}`);
        const a = file.annotations;
        if (a && draw && Object.keys(a).length) {
          const holder = h("div", { class: "job-annotated" });
          mount(cell, holder, meta);
          await draw(holder, url, a, { width: file.width, height: file.height, alt: file.file });
        } else {
          mount(cell, h("figure", { class: "job-figure" }, h("img", { src: url, alt: file.file })), meta);
        }
      } catch (err) {
        if (err.name === "AbortError") return;
        mount(cell, problem(err));
      }
    }
  }

  const tbody = h("tbody");
  const more = h("button", { type: "button" }, "Show more items");
  let rows = 0;
  function addRows() {
    for (const item of items.slice(rows, rows + ROWS_PAGE)) {
      const files = (item.image ? 1 : 0) + (item.variants?.length || 0);
      const found = [item.image, ...(item.variants || [])].map((f) => findings(f?.annotations)).find(Boolean) || "";
      const view = files ? h("button", { type: "button", class: "link", "aria-label": `Show item ${item.index}` }, "Show") : "";
      if (files) view.addEventListener("click", () => show(item));
      tbody.append(
        h(
          "tr",
          {},
          h("td", {}, String(item.index)),
          h("td", {}, item.name),
          h("td", {}, Object.entries(item.metadata || {}).slice(0, 4).map(([k, v]) => `${k}=${v}`).join(", ")),
          h("td", {}, h("span", { class: `badge state-${item.status}` }, item.status)),
          h("td", {}, String(files)),
          h("td", {}, found),
          h("td", {}, item.error ? [item.error.message, " ", h("code", {}, item.error.code)] : ""),
          h("td", {}, view),
        ),
      );
    }
    rows = Math.min(items.length, rows + ROWS_PAGE);
    more.hidden = rows >= items.length;
  }
  more.addEventListener("click", addRows);
  addRows();

  const pre = h("pre", {});
  const rawView = h("details", {}, h("summary", {}, "Raw metadata.json"), pre);
  rawView.addEventListener("toggle", () => {
    if (rawView.open && !pre.textContent) pre.textContent = JSON.stringify(doc, null, 2);
  });

  const fact = (term, value) => [h("dt", {}, term), h("dd", {}, String(value ?? "—"))];
  mount(
    box,
    h("h3", {}, "metadata.json"),
    h(
      "dl",
      { class: "job-facts" },
      fact("Dataset", doc.dataset),
      fact("Items in the dataset", s.items),
      fact("Left out by the filter", s.filtered_out),
      fact("Succeeded", s.succeeded),
      fact("Failed", s.failed),
      fact("Files written", s.files),
    ),
    doc.notes?.length ? h("ul", { class: "muted" }, doc.notes.map((n) => h("li", {}, n))) : null,
    h("div", { class: "row" }, save),
    doc.spec ? h("details", {}, h("summary", {}, "Job spec"), h("pre", {}, JSON.stringify(doc.spec, null, 2))) : null,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "muted" }, `${items.length} items`),
        h("thead", {}, h("tr", {}, ["#", "Name", "Metadata", "Status", "Files", "Found", "Error", "Preview"].map((t) => h("th", { scope: "col" }, t)))),
        tbody,
      ),
    ),
    h("div", { class: "row" }, more),
    preview,
    rawView,
  );
}
