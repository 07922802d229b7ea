// The pipeline builder (#/pipelines/new, #/pipelines/:name): steps with schema-made forms,
// reordering, a live preview of the pipeline document, saving as a new pipeline or a new
// version, and loading any saved version back into the builder.

import * as api from "../api.js";
import { h, mount, field, errorBox, fillError, toast, busy } from "../ui.js";
import { schemaForm } from "../schema-form.js";

/** The document version this UI writes (`atelier_imaging::pipeline::VERSION`). */
const DOCUMENT_VERSION = 1;
const NAME_PATTERN = "[a-z0-9][a-z0-9._\\-]{0,63}";
let keys = 0;

/** `pipeline.steps[2].width: must be ...` → {step: 2, path: "width", message}; null otherwise. */
export function stepError(message) {
  const m = /^(?:pipeline\.|ops: )?steps\[(\d+)\](?:\.([^:\s]+))?: ([\s\S]*)$/.exec(message || "");
  return m ? { step: Number(m[1]), path: m[2] || "", message: m[3] } : null;
}

export async function render(main, { params, navigate }) {
  const name = params.name || null;
  const controller = new AbortController();
  const signal = controller.signal;
  let ops;
  let record = null;
  try {
    [ops, record] = await Promise.all([
      api.get("/v1/ops", { signal }),
      name ? api.get(`/v1/pipelines/${encodeURIComponent(name)}`, { signal }) : null,
    ]);
  } catch (err) {
    if (err.status === 404 && name) {
      mount(main, h("h1", {}, "Pipeline not found"), errorBox(err), h("p", {}, h("a", { href: "#/pipelines" }, "Back to pipelines")));
      return () => controller.abort();
    }
    throw err;
  }
  const byName = new Map(ops.map((op) => [op.name, op]));
  let versions = record?.versions || (record ? [record.version] : []);
  let loaded = record?.version ?? null;
  const steps = [];

  // ---- steps ----
  const list = h("ol", { class: "pe-steps", "aria-label": "Steps" });
  const empty = h("p", { class: "muted" }, "No steps yet: choose an op below and add it.");
  const description = h("input", { type: "text", maxlength: "1000", autocomplete: "off" });
  description.addEventListener("input", () => update());

  function makeStep(opName, params = {}) {
    const op = byName.get(opName);
    const step = { key: (keys += 1), op: opName };
    step.form = schemaForm(op?.parameters || {}, { value: params, defaults: op?.defaults || {}, onChange: () => update() });
    step.heading = h("h3", { tabindex: "-1" });
    step.errors = h("div", { class: "error", hidden: true });
    const button = (text, action) => h("button", { type: "button", onclick: () => action(step) }, text);
    step.up = button("Move up", (s) => move(s, -1));
    step.down = button("Move down", (s) => move(s, 1));
    step.remove = button("Remove", removeStep);
    const unknown = op ? null : h("p", { class: "error" }, `This build has no op called \`${opName}\`; saving will fail until it is removed.`);
    step.card = h(
      "li",
      { class: "card pe-step" },
      step.heading,
      op ? h("p", { class: "muted" }, op.summary) : unknown,
      step.form.element,
      step.errors,
      h("div", { class: "row" }, step.up, step.down, step.remove),
    );
    return step;
  }

  function renumber() {
    steps.forEach((step, i) => {
      const n = i + 1;
      step.heading.textContent = `Step ${n}: ${step.op}`;
      step.card.setAttribute("aria-label", `Step ${n}: ${step.op}`);
      step.up.setAttribute("aria-label", `Move step ${n} up`);
      step.down.setAttribute("aria-label", `Move step ${n} down`);
      step.remove.setAttribute("aria-label", `Remove step ${n}`);
      step.up.disabled = i === 0;
      step.down.disabled = i === steps.length - 1;
    });
    list.replaceChildren(...steps.map((s) => s.card));
    empty.hidden = steps.length > 0;
    update();
  }

  function move(step, by) {
    const from = steps.indexOf(step);
    const to = from + by;
    if (to < 0 || to >= steps.length) return;
    steps.splice(from, 1);
    steps.splice(to, 0, step);
    renumber();
    // Keep the keyboard where it was: on the same button of the moved step, or its twin.
    const same = by < 0 ? step.up : step.down;
    (same.disabled ? (by < 0 ? step.down : step.up) : same).focus();
    toast(`Moved ${step.op} to step ${to + 1}`);
  }

  function removeStep(step) {
    const at = steps.indexOf(step);
    steps.splice(at, 1);
    renumber();
    const next = steps[Math.min(at, steps.length - 1)];
    (next ? next.heading : opSelect).focus();
    toast(`Removed step ${at + 1} (${step.op})`);
  }

  function load(document) {
    steps.length = 0;
    description.value = document?.description || "";
    for (const raw of Array.isArray(document?.steps) ? document.steps : []) {
      const { op, ...params } = raw && typeof raw === "object" ? raw : { op: String(raw) };
      steps.push(makeStep(String(op), params));
    }
    renumber();
  }

  // ---- adding ----
  const opSelect = h(
    "select",
    { id: "pe-op" },
    ops.map((op) => h("option", { value: op.name }, op.name)),
  );
  const opSummary = h("small", { class: "hint", id: "pe-op-summary", "aria-live": "polite" });
  opSelect.setAttribute("aria-describedby", "pe-op-summary");
  const showSummary = () => (opSummary.textContent = byName.get(opSelect.value)?.summary || "");
  opSelect.addEventListener("change", showSummary);
  showSummary();
  const addForm = h(
    "form",
    { class: "card pe-add" },
    h("div", { class: "field" }, h("label", { for: "pe-op" }, "Op"), opSelect, opSummary),
    h("button", { type: "submit", class: "primary" }, "Add step"),
  );
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const step = makeStep(opSelect.value);
    steps.push(step);
    renumber();
    step.heading.focus();
    toast(`Added step ${steps.length}: ${step.op}`);
  });

  // ---- the document ----
  const preview = h("code", {});
  const problemsNote = h("p", { class: "error", hidden: true });
  function documentOf() {
    const problems = [];
    const out = { version: DOCUMENT_VERSION };
    if (description.value.trim()) out.description = description.value.trim();
    out.steps = steps.map((step, i) => {
      const { value, problems: mine } = step.form.read();
      for (const p of mine) problems.push({ step: i, ...p });
      return { op: step.op, ...value };
    });
    return { document: out, problems };
  }
  function update() {
    const { document, problems } = documentOf();
    preview.textContent = JSON.stringify(document, null, 2);
    problemsNote.hidden = problems.length === 0;
    problemsNote.textContent = problems.length
      ? `Not sent as shown until fixed: ${problems.map((p) => `step ${p.step + 1} ${p.path}: ${p.message}`).join("; ")}`
      : "";
  }

  const jsonBox = h("textarea", { id: "pe-json", rows: "8", spellcheck: "false" });
  const jsonError = errorBox(null);
  const jsonForm = h(
    "form",
    {},
    field("Pipeline document (JSON)", jsonBox, "Paste a document with `version` and `steps`; loading it replaces the steps above."),
    jsonError,
    h("button", { type: "submit" }, "Load JSON into builder"),
  );
  jsonForm.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      const doc = JSON.parse(jsonBox.value);
      if (!doc || typeof doc !== "object" || !Array.isArray(doc.steps)) throw new Error("a pipeline is an object with `version` and `steps`");
      fillError(jsonError, null);
      load(doc);
      toast(`Loaded ${steps.length} step${steps.length === 1 ? "" : "s"} from JSON`);
    } catch (err) {
      fillError(jsonError, { message: `Not a pipeline document: ${err.message}` });
    }
  });
  const copy = h("button", { type: "button" }, "Copy JSON");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(preview.textContent);
      toast("Copied the pipeline document");
    } catch {
      toast("Copying is not allowed here; select the text instead");
    }
  });

  // ---- saving ----
  const saveBox = errorBox(null);
  const nameInput = h("input", { type: "text", name: "name", required: true, pattern: NAME_PATTERN, maxlength: "64", autocomplete: "off", spellcheck: "false" });
  const saveForm = h(
    "form",
    { class: "card pe-save" },
    name ? h("p", {}, `Saving adds version ${(versions.at(-1) ?? 0) + 1} of ${name}; earlier versions stay as they are.`) : field("Name", nameInput, "1 to 64 characters: a-z, 0-9, '-', '_' and '.', starting with a letter or digit. Jobs cite it as name@version."),
    saveBox,
    h("button", { type: "submit", class: "primary" }, name ? "Save new version" : "Save pipeline"),
  );
  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    steps.forEach((s) => {
      s.form.clearErrors();
      fillError(s.errors, null);
    });
    const { document, problems } = documentOf();
    if (!steps.length) {
      fillError(saveBox, { message: "Add at least one step first." });
      return;
    }
    if (problems.length) {
      for (const p of problems) steps[p.step].form.showError(p.path, p.message);
      const first = problems[0];
      fillError(saveBox, { message: `Fix step ${first.step + 1}'s ${first.path} first: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}.` });
      return;
    }
    let failure = null;
    const saved = await busy(saveForm, saveBox, () =>
      (name
        ? api.post(`/v1/pipelines/${encodeURIComponent(name)}/versions`, { pipeline: document }, { signal })
        : api.post("/v1/pipelines", { name: nameInput.value.trim(), pipeline: document }, { signal })
      ).catch((err) => {
        failure = err;
        throw err;
      }),
    );
    if (!saved) {
      if (failure?.code === "pipeline_exists") {
        const taken = nameInput.value.trim();
        saveBox.append(h("div", {}, "Choose another name, or ", h("a", { href: `#/pipelines/${encodeURIComponent(taken)}` }, `open ${taken}`), " to add a version (copy the JSON first to keep these steps)."));
      } else if (failure) pointAt(failure.message);
      return;
    }
    toast(`Saved ${saved.reference}`);
    if (!name) {
      navigate(`/pipelines/${encodeURIComponent(saved.name)}`);
      return;
    }
    versions = saved.versions || [...versions, saved.version];
    loaded = saved.version;
    // The server keeps the canonical document (every parameter spelled out): show that.
    load(saved.pipeline);
    saveForm.querySelector("p").textContent = `Saving adds version ${saved.version + 1} of ${name}; earlier versions stay as they are.`;
    showVersions();
  });

  /** Marks the step and field an API error names (`pipeline.steps[1].width: ...`). */
  function pointAt(text) {
    const found = stepError(text);
    const step = found && steps[found.step];
    if (!step) return;
    saveBox.append(h("div", {}, `At step ${found.step + 1} (${step.op})${found.path ? `, field ${found.path}` : ""}.`));
    const shown = found.path && step.form.showError(found.path, found.message);
    if (!shown) {
      fillError(step.errors, { message: found.path ? `${found.path}: ${found.message}` : found.message });
      step.heading.focus();
    }
  }

  // ---- versions ----
  const versionList = h("ul", { class: "pe-versions" });
  const versionBox = errorBox(null);
  function showVersions() {
    versionList.replaceChildren(
      ...[...versions].reverse().map((v) =>
        h(
          "li",
          { class: "row" },
          h("span", {}, `Version ${v}`, v === versions.at(-1) ? " (latest)" : "", v === loaded ? " — in the builder" : ""),
          h("button", { type: "button", "aria-label": `Load version ${v}`, onclick: () => loadVersion(v) }, "Load"),
          h("a", { href: `#/pipelines?pipeline=${encodeURIComponent(`${name}@${v}`)}` }, `Run ${name}@${v}`),
        ),
      ),
    );
  }
  async function loadVersion(v) {
    fillError(versionBox, null);
    try {
      const found = await api.get(`/v1/pipelines/${encodeURIComponent(name)}/versions/${v}`, { signal });
      loaded = found.version;
      load(found.pipeline);
      showVersions();
      toast(`Loaded version ${v} into the builder`);
    } catch (err) {
      if (err.name !== "AbortError") fillError(versionBox, err);
    }
  }

  mount(
    main,
    h("h1", {}, name ? `Pipeline ${name}` : "New pipeline"),
    h("p", {}, h("a", { href: "#/pipelines" }, "All pipelines"), name ? [" · ", h("a", { href: `#/pipelines?pipeline=${encodeURIComponent(name)}` }, "Run this pipeline")] : null),
    h("div", { class: "two pe-layout" },
      h("div", {},
        h("h2", {}, "Steps"),
        empty,
        list,
        addForm,
        field("Description", description, "Optional: what this pipeline is for."),
        h("h2", {}, "Save"),
        saveForm,
        name ? [h("h2", {}, "Versions"), versionBox, versionList] : null,
      ),
      h("div", { class: "pe-side" },
        h("h2", {}, "Pipeline document"),
        problemsNote,
        h("pre", { class: "pe-preview", "aria-label": "Pipeline document preview" }, preview),
        h("div", { class: "row" }, copy),
        h("details", { class: "pe-json" }, h("summary", {}, "Edit as JSON"), jsonForm),
      ),
    ),
  );
  load(record?.pipeline || { steps: [] });
  if (name) showVersions();
  return () => controller.abort();
}
