// The app shell: restores the session from the refresh cookie, routes `#/...` URLs to
// views, keeps the header (user, credits, admin link) current and runs each view's cleanup
// (closing its event streams) when the page changes.

import * as api from "./api.js";
import { h, mount, errorBox } from "./ui.js";

// Route table: pattern → module. Patterns' `:name` parts become params.
const ROUTES = [
  ["/login", "./views/login.js", { public: true }],
  ["/register", "./views/login.js", { public: true, register: true }],
  ["/images", "./views/images.js"],
  ["/images/:id", "./views/image.js"],
  ["/jobs", "./views/jobs.js"],
  ["/jobs/:id", "./views/job.js"],
  ["/pipelines", "./views/pipelines.js"],
  ["/pipelines/new", "./views/pipeline-edit.js"],
  ["/pipelines/:name", "./views/pipeline-edit.js"],
  ["/account", "./views/account.js"],
  ["/admin", "./views/admin.js", { admin: true }],
];

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const [pattern, module, options = {}] of ROUTES) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((w, i) => (w.startsWith(":") ? ((params[w.slice(1)] = decodeURIComponent(parts[i])), true) : w === parts[i]))) {
      return { module, options, params };
    }
  }
  return null;
}

let cleanup = null;
let generation = 0;

export function navigate(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = path;
}

async function route() {
  const main = document.getElementById("main");
  const raw = location.hash.replace(/^#/, "") || "/images";
  const [path, query = ""] = raw.split("?");
  const found = match(path);
  const user = api.currentUser();
  if (!found) {
    mount(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/images" }, "Go to your images")));
    return;
  }
  if (!found.options.public && !user) {
    navigate(`/login?next=${encodeURIComponent(path)}`);
    return;
  }
  if (found.options.admin && user?.role !== "admin") {
    mount(main, h("h1", {}, "Admins only"), h("p", {}, "This page is for administrators."));
    return;
  }
  generation += 1;
  const mine = generation;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a view's cleanup never blocks the next page */
    }
    cleanup = null;
  }
  for (const link of document.querySelectorAll("#nav a")) {
    if (path.startsWith(link.getAttribute("href").slice(1))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  mount(main, h("p", { class: "loading" }, "Loading…"));
  try {
    const view = await import(found.module);
    if (mine !== generation) return;
    const ctx = { params: found.params, query: new URLSearchParams(query), options: found.options, navigate };
    const done = await view.render(main, ctx);
    if (mine !== generation) {
      done?.();
      return;
    }
    cleanup = done || null;
    const heading = main.querySelector("h1");
    if (heading) document.title = `${heading.textContent} · atelier`;
    main.focus({ preventScroll: true });
  } catch (err) {
    if (mine === generation) mount(main, h("h1", {}, "Something went wrong"), errorBox(err));
  }
}

function showUser(user) {
  document.getElementById("nav").hidden = !user;
  document.getElementById("who").hidden = !user;
  document.getElementById("nav-admin").hidden = user?.role !== "admin";
  document.getElementById("who-email").textContent = user?.email || "";
  const credits = document.getElementById("credits");
  credits.textContent = user && user.balance !== undefined && user.balance !== null ? `${user.balance} credits` : "";
}

async function start() {
  api.onSession(showUser);
  document.getElementById("logout").addEventListener("click", async () => {
    await api.logout();
    navigate("/login");
  });
  window.addEventListener("hashchange", route);
  // A page load starts signed out: the refresh cookie, if any, brings the session back.
  await api.refresh();
  route();
}

start();
