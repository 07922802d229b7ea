// "My images" (#/images): the grid of the user's images (paged), uploads (many at once,
// one-shot or chunked, each with its own progress and error), selection for a pipeline run,
// and deletion. Also owns the file-name memory the image page reads (the API keeps no names).

import * as api from "../api.js";
import { h, mount, errorBox, fillError, toast, formatBytes, field } from "../ui.js";

/** Files bigger than this go through the resumable upload API, in parts of this size. */
const CHUNKED_OVER = 8 * 1024 * 1024;
const PART_BYTES = 8 * 1024 * 1024;
/** Uploads and thumbnail fetches running at once. */
const UPLOADS_AT_ONCE = 3;
const THUMBS_AT_ONCE = 4;
const PAGE = 24;

// ---- file names -------------------------------------------------------------------------
// The API stores no file name, so this browser remembers the names of what it uploaded.
const NAMES_KEY = "atelier.image-names";
const MAX_NAMES = 1000;

function names() {
  try {
    return JSON.parse(localStorage.getItem(NAMES_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

/** Remembers `name` as the file name of image `id` (in this browser only). */
export function rememberName(id, name) {
  try {
    const all = names();
    delete all[id];
    all[id] = name;
    const ids = Object.keys(all);
    for (const old of ids.slice(0, Math.max(0, ids.length - MAX_NAMES))) delete all[old];
    localStorage.setItem(NAMES_KEY, JSON.stringify(all));
  } catch {
    /* storage full or off: names are a convenience */
  }
}

/** Forgets a deleted image's name. */
export function forgetName(id) {
  try {
    const all = names();
    delete all[id];
    localStorage.setItem(NAMES_KEY, JSON.stringify(all));
  } catch {
    /* as above */
  }
}

/** The file name this browser uploaded `image` under, or null. */
export function imageName(image) {
  return image.name || image.filename || names()[image.id] || null;
}

/** A name to show for `image`: its file name, else "Image" and the start of its id. */
export function displayName(image) {
  return imageName(image) || `Image ${image.id.slice(0, 8)}`;
}

/**
 * An inline "are you sure?" next to `button`: `message`, then "Yes, delete" (runs `yes`)
 * and "Cancel" (puts focus back). No window.confirm, so it is styled and scriptable.
 */
export function confirmInline(button, message, yes) {
  const box = h("div", { class: "img-confirm", role: "group", "aria-label": "Confirm deletion" });
  const close = () => {
    box.remove();
    button.hidden = false;
    button.focus();
  };
  const error = h("div", { class: "error", role: "alert", hidden: true });
  const sure = h("button", { type: "button", class: "danger" }, "Yes, delete");
  sure.addEventListener("click", async () => {
    sure.disabled = true;
    try {
      await yes();
      box.remove();
    } catch (err) {
      sure.disabled = false;
      fillError(error, err);
    }
  });
  mount(box, h("p", {}, message), error, h("div", { class: "row" }, sure, h("button", { type: "button", onclick: close }, "Cancel")));
  button.hidden = true;
  button.after(box);
  sure.focus();
}

// ---- thumbnails ---------------------------------------------------------------------------
// There is no owner thumbnail route (transform URLs need a server-side signature), so the
// original is fetched, shrunk in the browser to a small object URL, and the big one dropped.
async function shrink(blob) {
  try {
    const bitmap = await createImageBitmap(blob, { resizeWidth: 360, resizeQuality: "medium" });
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    const small = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
    return small || blob;
  } catch {
    return blob; // a format the browser cannot decode: let <img> try (and show its alt text)
  }
}

export async function render(main, { navigate }) {
  const controller = new AbortController();
  const signal = controller.signal;
  const urls = new Set();
  const selected = new Map(); // id → name, in selection order
  const tiles = new Map(); // id → tile element

  // Thumbnails load as tiles scroll into view, a few at a time.
  const waiting = [];
  let loading = 0;
  const pump = () => {
    while (loading < THUMBS_AT_ONCE && waiting.length && !signal.aborted) {
      const [img, id] = waiting.shift();
      loading += 1;
      api
        .fetchAuthed(`/v1/images/${encodeURIComponent(id)}/original`, { signal })
        .then(async (response) => {
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const url = URL.createObjectURL(await shrink(await response.blob()));
          if (signal.aborted) return URL.revokeObjectURL(url);
          urls.add(url);
          img.src = url;
        })
        .catch(() => img.classList.add("broken"))
        .finally(() => {
          loading -= 1;
          pump();
        });
    }
  };
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        waiting.push([entry.target, entry.target.dataset.id]);
      }
      pump();
    },
    { rootMargin: "200px" },
  );

  // ---- selection bar ----
  const count = h("span", { role: "status", class: "muted" }, "No images selected");
  const runSelected = h("button", { type: "button", class: "primary", disabled: true }, "Run a pipeline on selected");
  const clear = h("button", { type: "button", disabled: true }, "Clear selection");
  const selectionChanged = () => {
    const n = selected.size;
    count.textContent = n === 0 ? "No images selected" : n === 1 ? "1 image selected" : `${n} images selected`;
    runSelected.disabled = clear.disabled = n === 0;
  };
  runSelected.addEventListener("click", () => navigate(`/pipelines?images=${[...selected.keys()].map(encodeURIComponent).join(",")}`));
  clear.addEventListener("click", () => {
    selected.clear();
    for (const tile of tiles.values()) {
      tile.classList.remove("selected");
      tile.querySelector("input[type=checkbox]").checked = false;
    }
    selectionChanged();
  });

  // ---- grid ----
  const grid = h("ul", { class: "grid image-grid", "aria-label": "Your images" });
  const empty = h("p", { class: "muted", hidden: true }, "No images yet: upload some above.");
  const listError = h("div", { class: "error", role: "alert", hidden: true });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor = null;

  const tileFor = (image) => {
    const name = displayName(image);
    const img = h("img", { alt: name, "data-id": image.id, loading: "lazy", decoding: "async" });
    const check = h("input", { type: "checkbox", "aria-label": `Select ${name}`, checked: selected.has(image.id) });
    const remove = h("button", { type: "button", class: "danger img-small", "aria-label": `Delete ${name}` }, "Delete");
    const tile = h(
      "li",
      { class: `tile${selected.has(image.id) ? " selected" : ""}` },
      h("a", { href: `#/images/${encodeURIComponent(image.id)}`, tabindex: "-1", "aria-hidden": "true" }, img),
      h(
        "div",
        { class: "meta" },
        h("a", { href: `#/images/${encodeURIComponent(image.id)}`, class: "name" }, name),
        h("span", { class: "muted" }, `${image.width}×${image.height} · ${formatBytes(image.bytes)} · ${image.format}`),
        h("div", { class: "row spread" }, h("label", { class: "img-pick" }, check, " Select"), remove),
      ),
    );
    check.addEventListener("change", () => {
      if (check.checked) selected.set(image.id, name);
      else selected.delete(image.id);
      tile.classList.toggle("selected", check.checked);
      selectionChanged();
    });
    remove.addEventListener("click", () =>
      confirmInline(remove, `Delete ${name}? This cannot be undone.`, async () => {
        await api.del(`/v1/images/${encodeURIComponent(image.id)}`);
        forgetName(image.id);
        if (img.src.startsWith("blob:")) {
          URL.revokeObjectURL(img.src);
          urls.delete(img.src);
        }
        tile.remove();
        tiles.delete(image.id);
        if (selected.delete(image.id)) selectionChanged();
        empty.hidden = tiles.size > 0;
        toast(`Deleted ${name}`);
        (grid.querySelector("input[type=checkbox]") || more).focus?.();
      }),
    );
    tiles.set(image.id, tile);
    observer.observe(img);
    return tile;
  };

  const add = (image, first = false) => {
    if (tiles.has(image.id)) return;
    const tile = tileFor(image);
    if (first) grid.prepend(tile);
    else grid.append(tile);
    empty.hidden = true;
  };

  const loadPage = async () => {
    fillError(listError, null);
    more.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) query.set("cursor", cursor);
      const page = await api.get(`/v1/images?${query}`, { signal });
      page.items.forEach((image) => add(image));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = tiles.size > 0;
    } catch (err) {
      if (err.name !== "AbortError") fillError(listError, err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", async () => {
    const before = tiles.size;
    await loadPage();
    const fresh = [...tiles.values()][before];
    fresh?.querySelector("a.name")?.focus();
  });

  // ---- uploads ----
  const input = h("input", { type: "file", multiple: true, accept: "image/*", name: "images" });
  const uploads = h("ul", { class: "img-uploads", "aria-label": "Uploads" });
  const tidy = h("button", { type: "button", class: "img-small", hidden: true }, "Clear finished uploads");
  tidy.addEventListener("click", () => {
    uploads.querySelectorAll("li.img-finished").forEach((li) => li.remove());
    tidy.hidden = true;
    input.focus();
  });
  const drop = h("div", { class: "drop" }, h("p", {}, h("strong", {}, "Drop images here or choose files")), field("Choose images", input));
  let active = 0;
  const pending = [];
  let batch = { done: 0, failed: 0, total: 0 };

  const startNext = () => {
    while (active < UPLOADS_AT_ONCE && pending.length) {
      const job = pending.shift();
      active += 1;
      job().finally(() => {
        active -= 1;
        if (!active && !pending.length && batch.total) {
          const { done, failed } = batch;
          if (done || failed) toast(failed ? `${done} uploaded, ${failed} failed` : done === 1 ? "1 image uploaded" : `${done} images uploaded`);
          batch = { done: 0, failed: 0, total: 0 };
        }
        startNext();
      });
    }
  };

  const enqueue = (files) => {
    for (const file of files) {
      const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload progress for ${file.name}` });
      const status = h("span", { class: "muted" }, "Waiting");
      const cancel = h("button", { type: "button", class: "img-small", "aria-label": `Cancel upload of ${file.name}` }, "Cancel");
      const row = h("li", { class: "img-upload" }, h("div", { class: "row spread" }, h("span", { class: "name" }, file.name), h("span", { class: "muted" }, formatBytes(file.size)), cancel), bar, status);
      uploads.prepend(row);
      const mine = new AbortController();
      signal.addEventListener("abort", () => mine.abort(), { once: true });
      const finish = () => {
        row.classList.add("img-finished");
        cancel.remove();
        tidy.hidden = false;
      };
      let started = false;
      cancel.addEventListener("click", () => {
        mine.abort();
        if (started) return;
        status.textContent = "Canceled";
        finish();
      });
      batch.total += 1;
      pending.push(async () => {
        if (mine.signal.aborted) return;
        started = true;
        status.textContent = "Uploading";
        const progress = (sent, total) => {
          if (total) bar.value = Math.min(100, Math.round((sent / total) * 100));
        };
        try {
          const image = file.size > CHUNKED_OVER ? await sendChunked(file, progress, mine.signal, status) : await sendOnce(file, progress, mine.signal);
          rememberName(image.id, file.name);
          bar.value = 100;
          status.textContent = `Uploaded: ${image.width}×${image.height} ${image.format}`;
          status.className = "ok";
          finish();
          add(image, true);
          batch.done += 1;
        } catch (err) {
          finish();
          if (err.name === "AbortError") {
            status.textContent = "Canceled";
            return;
          }
          batch.failed += 1;
          status.textContent = "Failed";
          row.append(errorBox(err));
        }
      });
    }
    startNext();
  };

  input.addEventListener("change", () => {
    enqueue([...input.files]);
    input.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) enqueue(files);
  });

  mount(
    main,
    h("h1", {}, "My images"),
    h("section", { "aria-label": "Upload images" }, drop, uploads, tidy),
    h("div", { class: "row img-selection" }, count, runSelected, clear),
    listError,
    grid,
    empty,
    h("div", { class: "row" }, more),
  );
  await loadPage();

  return () => {
    controller.abort();
    observer.disconnect();
    for (const url of urls) URL.revokeObjectURL(url);
  };
}

/** A one-shot upload: `POST /v1/images` with the file in a form's `file` field. */
function sendOnce(file, onProgress, signal) {
  const form = new FormData();
  form.append("file", file, file.name);
  return api.upload("POST", "/v1/images", form, { onProgress, signal });
}

/**
 * A resumable upload: `POST /v1/uploads` with the size, `PUT /v1/uploads/{id}?offset=N`
 * parts (a dropped connection resumes from the session's `received`, twice at most), then
 * `POST /v1/uploads/{id}/complete`. On failure or cancel the session is deleted.
 */
async function sendChunked(file, onProgress, signal, status) {
  const session = await api.post("/v1/uploads", { size: file.size }, { signal });
  const path = `/v1/uploads/${encodeURIComponent(session.id)}`;
  const part = Math.min(PART_BYTES, session.max_part_bytes || PART_BYTES);
  let offset = session.received || 0;
  let retries = 2;
  try {
    while (offset < file.size) {
      const end = Math.min(offset + part, file.size);
      const start = offset;
      status.textContent = `Uploading part ${Math.floor(start / part) + 1} of ${Math.ceil(file.size / part)}`;
      try {
        const answer = await api.upload("PUT", `${path}?offset=${start}`, file.slice(start, end), {
          headers: { "Content-Type": "application/octet-stream" },
          onProgress: (sent) => onProgress(start + sent, file.size),
          signal,
        });
        offset = answer.received;
      } catch (err) {
        const resumable = err.status === 0 || err.code === "upload_offset_mismatch" || err.status >= 500;
        if (err.name === "AbortError" || !resumable || retries === 0) throw err;
        retries -= 1;
        offset = (await api.get(path, { signal })).received;
      }
    }
    status.textContent = "Checking the image";
    return await api.post(`${path}/complete`, undefined, { signal });
  } catch (err) {
    // Gone already when completing refused the bytes; a 404 then is expected.
    api.del(path).catch(() => {});
    throw err;
  }
}
