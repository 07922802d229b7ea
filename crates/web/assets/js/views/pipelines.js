// The pipelines page (#/pipelines): saved pipelines, running one over chosen images
// (`?images=id1,id2` from the images page, `?pipeline=name@v` from the builder), and the
// searchable op catalogue with each op's parameters.

import * as api from "../api.js";
import { h, mount, field, errorBox, fillError, toast, formatBytes, formatTime, busy } from "../ui.js";
import { describeParameters } from "../schema-form.js";

const MAX_PAGES = 20;

/** Every page of a cursor-paged list, up to MAX_PAGES pages of 100. */
async function all(path, signal) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await api.get(`${path}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal });
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export async function render(main, { query, navigate }) {
  const controller = new AbortController();
  const signal = controller.signal;
  const [ops, pipelines] = await Promise.all([api.get("/v1/ops", { signal }), all("/v1/pipelines", signal)]);
  const picked = new Set((query.get("images") || "").split(",").map((s) => s.trim()).filter(Boolean));
  const fromImages = picked.size > 0;

  mount(
    main,
    h("h1", {}, "Pipelines"),
    savedSection(pipelines),
    runSection({ pipelines, picked, fromImages, wanted: query.get("pipeline"), signal, navigate }),
    catalogueSection(ops),
  );
  return () => controller.abort();
}

function savedSection(pipelines) {
  const body = pipelines.length
    ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("caption", { class: "muted pl-caption" }, `${pipelines.length} saved pipeline${pipelines.length === 1 ? "" : "s"}, each at its latest version`),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Latest"), h("th", { scope: "col" }, "Steps"), h("th", { scope: "col" }, "Saved"))),
          h(
            "tbody",
            {},
            pipelines.map((p) =>
              h(
                "tr",
                {},
                h("td", {}, h("a", { href: `#/pipelines/${encodeURIComponent(p.name)}` }, p.name)),
                h("td", {}, h("code", {}, p.reference)),
                h("td", {}, (p.pipeline?.steps || []).map((s) => s.op).join(" → ")),
                h("td", {}, formatTime(p.created_at)),
              ),
            ),
          ),
        ),
      )
    : h("p", { class: "muted" }, "No saved pipelines yet. Build one from the ops below.");
  return h(
    "section",
    { "aria-labelledby": "pl-saved" },
    h("div", { class: "row spread" }, h("h2", { id: "pl-saved" }, "Saved pipelines"), h("a", { href: "#/pipelines/new", class: "button primary" }, "New pipeline")),
    body,
  );
}

function runSection({ pipelines, picked, fromImages, wanted, signal, navigate }) {
  const box = errorBox(null);
  const count = h("p", { role: "status", class: "muted" });
  const showCount = () => (count.textContent = `${picked.size} image${picked.size === 1 ? "" : "s"} selected`);
  showCount();

  // --- images ---
  const chosen = h("p", { class: "muted pl-ids" }, fromImages ? `Chosen on the images page: ${[...picked].join(", ")}` : "");
  const picker = h("fieldset", { class: "pl-picker" }, h("legend", {}, "Images"));
  const pickerList = h("ul", { class: "pl-images" });
  const pickerBox = errorBox(null);
  const more = h("button", { type: "button", hidden: true }, "Load more images");
  let cursor = null;
  let loadedOnce = false;
  async function loadImages() {
    fillError(pickerBox, null);
    more.disabled = true;
    try {
      const page = await api.get(`/v1/images?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal });
      cursor = page.next_cursor || null;
      if (!loadedOnce && !page.items.length) {
        pickerList.append(h("li", { class: "muted" }, "You have no images yet. ", h("a", { href: "#/images" }, "Upload some")));
      }
      loadedOnce = true;
      for (const image of page.items) {
        const box = h("input", { type: "checkbox", id: `pl-img-${image.id}`, value: image.id, "aria-label": `Select ${image.id}`, checked: picked.has(image.id) });
        box.addEventListener("change", () => {
          if (box.checked) picked.add(image.id);
          else picked.delete(image.id);
          showCount();
        });
        pickerList.append(
          h(
            "li",
            {},
            h("label", { for: box.id }, box, " ", h("code", {}, image.id)),
            h("span", { class: "muted" }, ` ${image.format} ${image.width}×${image.height}, ${formatBytes(image.bytes)}, ${formatTime(image.created_at)} · `),
            h("a", { href: `#/images/${encodeURIComponent(image.id)}` }, "view"),
          ),
        );
      }
      more.hidden = !cursor;
    } catch (err) {
      if (err.name !== "AbortError") fillError(pickerBox, err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", loadImages);
  const clear = h("button", { type: "button" }, "Clear selection");
  clear.addEventListener("click", () => {
    picked.clear();
    pickerList.querySelectorAll("input[type=checkbox]").forEach((c) => (c.checked = false));
    showCount();
  });
  picker.append(pickerBox, pickerList, h("div", { class: "row" }, more, clear));
  const choose = h("button", { type: "button" }, "Choose images");
  choose.addEventListener("click", () => {
    picker.hidden = false;
    choose.hidden = true;
    chosen.hidden = true;
    if (!loadedOnce) loadImages();
    picker.querySelector("input, button")?.focus();
  });
  if (fromImages) picker.hidden = true;
  else {
    choose.hidden = true;
    loadImages();
  }

  // --- pipeline and version ---
  const [wantName, wantVersion] = (wanted || "").split("@");
  const pipelineSelect = h(
    "select",
    { name: "pipeline", required: true },
    h("option", { value: "" }, pipelines.length ? "(choose a pipeline)" : "(no saved pipelines)"),
    pipelines.map((p) => h("option", { value: p.name, selected: p.name === wantName || (!wantName && pipelines.length === 1) }, p.name)),
  );
  const versionSelect = h("select", { name: "version", disabled: true }, h("option", { value: "" }, "(latest)"));
  const steps = h("p", { class: "muted", "aria-live": "polite" });
  async function showVersions(prefer) {
    const name = pipelineSelect.value;
    versionSelect.replaceChildren(h("option", { value: "" }, "(latest)"));
    versionSelect.disabled = true;
    steps.textContent = "";
    if (!name) return;
    try {
      const latest = await api.get(`/v1/pipelines/${encodeURIComponent(name)}`, { signal });
      if (pipelineSelect.value !== name) return;
      const versions = latest.versions || [latest.version];
      versionSelect.replaceChildren(
        ...[...versions].reverse().map((v) => h("option", { value: String(v), selected: String(v) === String(prefer ?? latest.version) }, v === latest.version ? `${v} (latest)` : String(v))),
      );
      versionSelect.disabled = false;
      showSteps();
    } catch (err) {
      if (err.name !== "AbortError") fillError(box, err);
    }
  }
  async function showSteps() {
    const name = pipelineSelect.value;
    const v = versionSelect.value;
    if (!name || !v) return;
    try {
      const found = await api.get(`/v1/pipelines/${encodeURIComponent(name)}/versions/${encodeURIComponent(v)}`, { signal });
      if (pipelineSelect.value === name && versionSelect.value === v) {
        steps.textContent = `Steps: ${(found.pipeline?.steps || []).map((s) => s.op).join(" → ")}`;
      }
    } catch (err) {
      if (err.name !== "AbortError") steps.textContent = "";
    }
  }
  pipelineSelect.addEventListener("change", () => {
    fillError(box, null);
    showVersions();
  });
  versionSelect.addEventListener("change", showSteps);
  if (pipelineSelect.value) showVersions(wantVersion);

  const form = h(
    "form",
    { class: "card" },
    chosen,
    choose,
    picker,
    count,
    h("div", { class: "row pl-choose" }, field("Pipeline", pipelineSelect), field("Version", versionSelect)),
    steps,
    box,
    h("button", { type: "submit", class: "primary" }, "Run"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pipelineSelect.value) {
      fillError(box, { message: "Choose a pipeline to run." });
      pipelineSelect.focus();
      return;
    }
    if (!picked.size) {
      fillError(box, { message: "Choose at least one image." });
      return;
    }
    const reference = versionSelect.value ? `${pipelineSelect.value}@${versionSelect.value}` : pipelineSelect.value;
    const job = await busy(form, box, () => api.post("/v1/jobs", { pipeline: reference, images: [...picked] }, { signal }));
    if (!job) return;
    toast(`Job started: ${reference} on ${picked.size} image${picked.size === 1 ? "" : "s"}`);
    api.reloadUser().catch(() => {});
    navigate(`/jobs/${encodeURIComponent(job.id)}`);
  });
  return h("section", { "aria-labelledby": "pl-run" }, h("h2", { id: "pl-run" }, "Run a pipeline"), form);
}

function catalogueSection(ops) {
  const filter = h("input", { type: "search", autocomplete: "off", spellcheck: "false" });
  const shown = h("p", { role: "status", class: "muted" });
  const entries = ops.map((op) => {
    const params = describeParameters(op.parameters, op.defaults || {});
    const text = [op.name, op.summary, ...params.flatMap((p) => [p.name, p.description])].join(" ").toLowerCase();
    const element = h(
      "li",
      { class: "card pl-op" },
      h("div", { class: "row spread" }, h("h3", { id: `op-${op.name}` }, op.name), h("span", { class: "badge", title: "For one image, with default parameters" }, `${op.cost} credit${op.cost === 1 ? "" : "s"} per image`)),
      h("p", {}, op.summary),
      params.length
        ? h(
            "dl",
            { class: "pl-params", "aria-label": `${op.name} parameters` },
            params.map((p) => [
              h("dt", {}, h("code", {}, p.name), p.required ? " (required)" : "", h("span", { class: "muted" }, ` — ${p.type}`), p.default ? [h("span", { class: "muted" }, "; default "), h("code", {}, p.default)] : ""),
              h("dd", {}, p.description),
            ]),
          )
        : h("p", { class: "muted" }, "No parameters."),
    );
    return { text, element };
  });
  const list = h("ul", { class: "pl-ops" }, entries.map((e) => e.element));
  const apply = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let n = 0;
    for (const e of entries) {
      e.element.hidden = !words.every((w) => e.text.includes(w));
      if (!e.element.hidden) n += 1;
    }
    shown.textContent = words.length ? `${n} of ${ops.length} ops match` : `${ops.length} ops`;
  };
  filter.addEventListener("input", apply);
  apply();
  return h(
    "section",
    { "aria-labelledby": "pl-ops" },
    h("h2", { id: "pl-ops" }, "Op catalogue"),
    field("Filter ops", filter, "Matches op names, descriptions and parameters."),
    shown,
    list,
  );
}
