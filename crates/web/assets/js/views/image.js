// One image (#/images/:id): the picture, its facts (and a JPEG's EXIF), download and
// delete, and quick actions that each run a one-step job and show its result inline:
// an output image, or what a vision op found drawn over it.

import * as api from "../api.js";
import { h, mount, errorBox, fillError, toast, formatBytes, formatTime, field, busy, stateBadge } from "../ui.js";
import { drawAnnotations, hasAnnotations } from "../annotations.js";
import { imageName, forgetName, confirmInline } from "./images.js";

const STYLES = 26;
const FINAL = new Set(["succeeded", "failed", "canceled", "dead"]);
const EXT = { jpeg: "jpg", tiff: "tif" };

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(new DOMException("aborted", "AbortError"))), { once: true });
  });

export async function render(main, { params, navigate }) {
  const id = params.id;
  const path = `/v1/images/${encodeURIComponent(id)}`;
  const controller = new AbortController();
  const signal = controller.signal;
  const urls = [];
  const keep = (url) => (urls.push(url), url);
  const cleanup = () => {
    controller.abort();
    urls.forEach((url) => URL.revokeObjectURL(url));
  };

  let image;
  let ops = [];
  try {
    [image, ops] = await Promise.all([api.get(path, { signal }), api.get("/v1/ops", { signal }).catch(() => [])]);
  } catch (err) {
    mount(main, h("h1", {}, "Image"), errorBox(err), h("p", {}, h("a", { href: "#/images" }, "Back to your images")));
    return cleanup;
  }
  const name = imageName(image);
  const stem = (name || image.id).replace(/\.[^.]+$/, "");
  const cost = (op) => {
    const n = ops.find((o) => o.name === op)?.cost;
    return n === undefined ? "" : n === 1 ? "1 credit" : `${n} credits`;
  };

  // ---- the original and its facts ----
  const picture = h("img", { alt: name || "The image" });
  const pictureNote = h("p", { class: "muted", hidden: true });
  picture.addEventListener("error", () => {
    pictureNote.hidden = false;
    pictureNote.textContent = `This browser cannot show ${image.format.toUpperCase()} images; run Thumbnail to get a JPEG or PNG.`;
  });
  const facts = h("tbody", {});
  const row = (label, value) => facts.append(h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value)));
  if (name) row("File name", name);
  row("Format", image.format.toUpperCase());
  row("Dimensions", `${image.width} × ${image.height} px`);
  row("Size", `${formatBytes(image.bytes)} (${image.bytes.toLocaleString()} bytes)`);
  row("Uploaded", formatTime(image.created_at));
  row("SHA-256", h("code", { class: "img-hash" }, image.sha256));
  row("ID", h("code", {}, image.id));
  const originalError = h("div", { class: "error", role: "alert", hidden: true });
  api
    .fetchAuthed(`${path}/original`, { signal })
    .then(async (response) => {
      if (!response.ok) throw new api.ApiError(response.status, await response.json().catch(() => null));
      const blob = await response.blob();
      picture.src = keep(URL.createObjectURL(blob));
      const exif = image.format === "jpeg" ? await readExif(blob).catch(() => null) : null;
      if (exif?.length) facts.append(h("tr", {}, h("th", { colspan: 2, scope: "rowgroup" }, "EXIF")));
      for (const [label, value] of exif || []) row(label, value);
    })
    .catch((err) => err.name !== "AbortError" && fillError(originalError, err));

  const downloadButton = h("button", { type: "button" }, "Download original");
  downloadButton.addEventListener("click", () =>
    api.download(`${path}/original`, name || `${image.id}.${EXT[image.format] || image.format}`).catch((err) => fillError(originalError, err)),
  );
  const deleteButton = h("button", { type: "button", class: "danger" }, "Delete");
  deleteButton.addEventListener("click", () =>
    confirmInline(deleteButton, `Delete ${name || "this image"}? This cannot be undone.`, async () => {
      await api.del(path);
      forgetName(image.id);
      toast(`Deleted ${name || "the image"}`);
      navigate("/images");
    }),
  );

  // ---- results ----
  const results = h("ol", { class: "img-results", reversed: true });
  const resultsSection = h("section", { "aria-labelledby": "results-heading", hidden: true }, h("h2", { id: "results-heading" }, "Results"), results);

  /** Submits a one-step job and follows it in a result card; errors before queueing go to `box`. */
  const run = async (label, step, options = {}) => {
    const job = await api.post("/v1/jobs", { ops: [step], images: [image.id] }, { signal });
    api.reloadUser().catch(() => {});
    resultsSection.hidden = false;
    const card = resultCard(job, label);
    results.prepend(card.el);
    card.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    toast(`${label}: job queued`);
    follow(job, card, label, options);
  };

  const follow = async (job, card, label, options) => {
    const jobPath = `/v1/jobs/${encodeURIComponent(job.id)}`;
    let final = null;
    let lost = null;
    try {
      await api.stream(`${jobPath}/events`, (event, data) => {
        if (event === "job") card.update(data);
        else if (event === "end") final = data;
        else if (event === "error") lost = data;
      }, signal);
    } catch (err) {
      if (err.name === "AbortError") return;
    }
    try {
      if (lost) throw new api.ApiError(0, lost);
      // The stream broke off before the end: ask until the job is over.
      while (!final || !FINAL.has(final.state)) {
        if (final) await sleep(1000, signal);
        final = await api.get(jobPath, { signal });
        card.update(final);
      }
      card.update(final);
      toast(`${label}: ${final.state}`);
      await showOutcome(final, card, label, options);
    } catch (err) {
      if (err.name !== "AbortError") fillError(card.box, err);
    } finally {
      if (!signal.aborted) api.reloadUser().catch(() => {});
    }
  };

  const showOutcome = async (job, card, label, options) => {
    if (job.error) fillError(card.box, { message: job.error });
    const items = job.results?.items || [];
    for (const item of items) {
      if (!item) continue;
      if (item.status === "failed") {
        card.output.append(errorBox({ message: item.message, code: item.code }));
        continue;
      }
      for (const output of item.outputs || []) {
        const holder = h("div", { class: "img-output" });
        card.output.append(holder);
        const url = keep(await api.blobUrl(output.url, signal));
        const alt = `${label} result`;
        if (hasAnnotations(output.annotations)) {
          drawAnnotations(holder, url, output.annotations, { width: output.width, height: output.height, boxes: options.boxes, alt });
        } else {
          holder.append(h("img", { src: url, alt }));
        }
        const file = `${stem}-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}.${EXT[output.format] || output.format}`;
        const save = h("button", { type: "button" }, "Download result");
        save.addEventListener("click", () => api.download(output.url, file).catch((err) => fillError(card.box, err)));
        holder.append(h("p", { class: "row" }, h("span", { class: "muted" }, `${output.width} × ${output.height} · ${output.format} · ${formatBytes(output.bytes)}`), save));
      }
    }
  };

  // ---- quick actions ----
  // Thumbnail
  const width = h("input", { type: "number", min: 1, max: 65535, value: 256, required: true, inputmode: "numeric" });
  const thumbBox = h("div", { class: "error", role: "alert", hidden: true });
  const thumbForm = h(
    "form",
    { class: "card img-action", "aria-labelledby": "thumb-heading" },
    h("h3", { id: "thumb-heading" }, "Thumbnail"),
    field("Width", width, `Shrinks to this width, never enlarging. ${cost("thumbnail")}`),
    thumbBox,
    h("button", { type: "submit", class: "primary" }, "Thumbnail"),
  );
  thumbForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(thumbForm, thumbBox, () => run("Thumbnail", `thumbnail:width=${Math.round(Number(width.value))}`));
  });

  // Stylize
  let style = 0;
  const styleButtons = Array.from({ length: STYLES }, (_, n) => {
    const button = h(
      "button",
      { type: "button", "aria-pressed": String(n === style), "aria-label": `Style ${n}` },
      h("img", { src: `/ui/styles/${String(n).padStart(2, "0")}.jpg`, alt: "", width: 96, height: 96, loading: "lazy" }),
      h("span", { "aria-hidden": "true" }, String(n)),
    );
    button.addEventListener("click", () => {
      style = n;
      styleButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === n)));
    });
    return button;
  });
  const strength = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: 1 });
  const strengthValue = h("output", { "aria-hidden": "true" }, "1.00");
  strength.addEventListener("input", () => (strengthValue.textContent = Number(strength.value).toFixed(2)));
  const keepColour = h("input", { type: "checkbox", id: "keep-colour" });
  const styleBox = h("div", { class: "error", role: "alert", hidden: true });
  const styleForm = h(
    "form",
    { class: "card img-action img-stylize", "aria-labelledby": "style-heading" },
    h("h3", { id: "style-heading" }, "Stylize"),
    h("p", { class: "hint" }, `Paint the image in one of ${STYLES} styles (previews show each style on one photo). ${cost("stylize")}`),
    h("div", { class: "styles", role: "group", "aria-label": "Style" }, styleButtons),
    h("div", { class: "row" }, field("Strength", strength), strengthValue),
    h("div", { class: "row img-check" }, keepColour, h("label", { for: "keep-colour" }, "Keep the photo's colours")),
    styleBox,
    h("button", { type: "submit", class: "primary" }, "Stylize"),
  );
  styleForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const step = `stylize:style=${style},strength=${Number(strength.value)},keep_colour=${keepColour.checked}`;
    busy(styleForm, styleBox, () => run(`Stylize (style ${style})`, step));
  });

  // Vision: one button per op, no parameters.
  const visionBox = h("div", { class: "error", role: "alert", hidden: true });
  const visionForm = h("form", { class: "card img-action", "aria-labelledby": "vision-heading" }, h("h3", { id: "vision-heading" }, "Find and read"));
  const vision = [
    ["Detect faces", "detect_faces", "Boxes around each face."],
    ["Analyse faces", "analyze_faces", "Age, gender and expression of each face."],
    ["Blur faces", "blur_faces", "A copy with every face blurred.", { boxes: false }],
    ["Recognise digit", "recognize_digit", "Reads a handwritten number."],
    ["Classify", "classify", "What the picture shows, with scores."],
  ];
  const list = h("ul", { class: "img-vision" });
  for (const [label, op, hint, options] of vision) {
    const button = h("button", { type: "button" }, label);
    button.addEventListener("click", () => busy(visionForm, visionBox, () => run(label, op, options)));
    list.append(h("li", {}, button, h("span", { class: "hint" }, `${hint} ${cost(op)}`)));
  }
  visionForm.append(list, visionBox);
  visionForm.addEventListener("submit", (event) => event.preventDefault());

  mount(
    main,
    h("h1", {}, name || "Image"),
    h("p", {}, h("a", { href: "#/images" }, "← My images")),
    h(
      "div",
      { class: "two" },
      h("div", {}, h("div", { class: "stage" }, picture), pictureNote),
      h(
        "div",
        {},
        h("h2", {}, "Details"),
        h("div", { class: "table-wrap" }, h("table", {}, facts)),
        originalError,
        h("div", { class: "row img-buttons" }, downloadButton, deleteButton),
      ),
    ),
    h("section", { "aria-labelledby": "actions-heading" }, h("h2", { id: "actions-heading" }, "Quick actions"), h("div", { class: "img-actions" }, thumbForm, visionForm, styleForm)),
    resultsSection,
  );
  return cleanup;
}

/** A result card for `job`: its state, progress, errors and outputs, and a link to it. */
function resultCard(job, label) {
  const badge = h("span", {}, stateBadge(job.state));
  const bar = h("progress", { max: 1, value: 0, "aria-label": `Progress of ${label}` });
  const line = h("span", { class: "muted", role: "status" }, "Queued");
  const box = h("div", { class: "error", role: "alert", hidden: true });
  const output = h("div", { class: "img-outputs" });
  const el = h(
    "li",
    { class: "card img-result" },
    h("div", { class: "row spread" }, h("h3", {}, label), badge, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, "Open job")),
    bar,
    line,
    box,
    output,
  );
  const update = (state) => {
    mount(badge, stateBadge(state.state));
    const { done = 0, total = 0 } = state.progress || {};
    if (total) {
      bar.max = total;
      bar.value = done;
    } else if (state.state === "running") bar.removeAttribute("value");
    if (FINAL.has(state.state)) bar.value = bar.max;
    line.textContent = `${state.state[0].toUpperCase()}${state.state.slice(1)}${total ? ` · ${done} of ${total}` : ""}`;
  };
  return { el, box, output, update };
}

// ---- EXIF (the API keeps it in the original but does not list it) ----
const TAGS = {
  0x010f: "Camera make",
  0x0110: "Camera model",
  0xa434: "Lens",
  0x9003: "Taken",
  0x829a: "Exposure",
  0x829d: "Aperture",
  0x8827: "ISO",
  0x920a: "Focal length",
  0x0112: "Orientation",
  0x0131: "Software",
};

const ORIENTATION = { 1: "upright", 2: "mirrored", 3: "upside down", 4: "flipped", 5: "mirrored, on its side", 6: "shown turned 90° clockwise", 7: "mirrored, on its side", 8: "shown turned 90° anticlockwise" };

/** A few EXIF fields of a JPEG, as [label, text] pairs (never GPS); [] when there are none. */
async function readExif(blob) {
  const view = new DataView(await blob.slice(0, 256 * 1024).arrayBuffer());
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return [];
  for (let at = 2; at + 10 <= view.byteLength; ) {
    const marker = view.getUint16(at);
    if (marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966) return readTiff(view, at + 10);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return [];
    at += 2 + view.getUint16(at + 2);
  }
  return [];
}

function readTiff(view, base) {
  const little = view.getUint16(base) === 0x4949;
  const inside = (offset, length) => offset >= 0 && base + offset + length <= view.byteLength;
  const u16 = (o) => view.getUint16(base + o, little);
  const u32 = (o) => view.getUint32(base + o, little);
  const found = [];
  const directory = (offset, nested) => {
    if (!inside(offset, 2)) return;
    const entries = Math.min(u16(offset), 256);
    for (let i = 0; i < entries; i += 1) {
      const e = offset + 2 + i * 12;
      if (!inside(e, 12)) return;
      const [tag, type, count] = [u16(e), u16(e + 2), u32(e + 4)];
      if (tag === 0x8769 && !nested) directory(u32(e + 8), true);
      const size = { 2: 1, 3: 2, 4: 4, 5: 8 }[type];
      if (!TAGS[tag] || !size || count === 0 || count > 256) continue;
      const at = size * count > 4 ? u32(e + 8) : e + 8;
      if (!inside(at, size * count)) continue;
      let value;
      if (type === 2) value = new TextDecoder().decode(new Uint8Array(view.buffer, base + at, count)).replace(/\0[\s\S]*$/, "").trim();
      else if (type === 3) value = tag === 0x0112 && ORIENTATION[u16(at)] ? `${u16(at)} (${ORIENTATION[u16(at)]})` : u16(at);
      else if (type === 4) value = u32(at);
      else {
        const [num, den] = [u32(at), u32(at + 4)];
        if (!den) continue;
        const r = num / den;
        value = tag === 0x829a ? (r < 1 && num ? `1/${Math.round(den / num)} s` : `${r} s`) : tag === 0x829d ? `f/${r.toFixed(1)}` : tag === 0x920a ? `${r.toFixed(1)} mm` : r.toFixed(2);
      }
      if (value !== "") found.push([TAGS[tag], String(value)]);
    }
  };
  directory(u32(4), false);
  return found;
}
