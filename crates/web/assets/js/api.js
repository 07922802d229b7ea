// The API client: the access token lives only in this module's memory; the refresh token
// is the server's HttpOnly, SameSite=Strict cookie, which the browser sends to /v1/auth/*.
// Every failure becomes an ApiError carrying the API's own code and message.

let accessToken = null;
let user = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.code = body?.code || "network_error";
    this.body = body || {};
  }
}

/** The signed-in user, or null. */
export function currentUser() {
  return user;
}

/** Calls `fn(user)` whenever the user signs in, out or changes. */
export function onSession(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(tokens) {
  accessToken = tokens ? tokens.access_token : null;
  user = tokens ? tokens.user : null;
  for (const fn of listeners) fn(user);
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  if (response.status === 204) return null;
  if (type.includes("application/json")) return response.json();
  return response.text();
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { code: `http_${response.status}`, message: response.statusText || `HTTP ${response.status}` };
  }
  return new ApiError(response.status, body);
}

let refreshing = null;

// Refresh tokens are good once, and the server treats a second use as theft and ends the
// session. Two tabs refreshing at once would send the same cookie; under one lock, the
// second sends the cookie the first got back.
function acrossTabs(work) {
  return navigator.locks ? navigator.locks.request("atelier-refresh", work) : work();
}

/** Trades the refresh cookie for a new access token; one at a time. */
export function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await acrossTabs(() => fetch("/v1/auth/refresh", { method: "POST", credentials: "same-origin" }));
      if (!response.ok) {
        setSession(null);
        return false;
      }
      setSession(await response.json());
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A 401 about the token, not about a password the person typed (changing it, say). */
async function expiredToken(response) {
  const body = await response.clone().json().catch(() => null);
  return body?.code !== "invalid_credentials";
}

/** Raw fetch with the bearer token; refreshes once on a 401 about the token. */
export async function fetchAuthed(path, init = {}, retry = true) {
  const headers = new Headers(init.headers || {});
  if (accessToken) headers.set("Authorization", `Bearer ${accessToken}`);
  let response;
  try {
    response = await fetch(path, { ...init, headers, credentials: "same-origin" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { code: "network_error", message: "the server could not be reached" });
  }
  if (response.status === 401 && retry && accessToken && (await expiredToken(response)) && (await refresh())) {
    return fetchAuthed(path, init, false);
  }
  return response;
}

/** A JSON request: `json` is sent as the body; the answer is parsed, errors thrown. */
export async function request(method, path, { json, body, headers, signal } = {}) {
  const init = { method, signal, headers: { ...(headers || {}) } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetchAuthed(path, init);
  if (!response.ok) throw await errorOf(response);
  return parse(response);
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, json, options) => request("POST", path, { ...options, json });
export const del = (path, options) => request("DELETE", path, options);

export async function login(email, password) {
  const response = await fetch("/v1/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw await errorOf(response);
  setSession(await response.json());
  return user;
}

export async function register(email, password, invite) {
  const payload = { email, password };
  if (invite) payload.invite = invite;
  const response = await fetch("/v1/auth/register", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) throw await errorOf(response);
  setSession(await response.json());
  return user;
}

/** Revokes the refresh token on the server (the cookie goes with it), then forgets the access token. */
export async function logout() {
  try {
    await fetch("/v1/auth/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    setSession(null);
  }
}

/** Refreshes the user's view (after a credit change, say). */
export async function reloadUser() {
  const me = await get("/v1/me");
  user = { ...user, ...me };
  for (const fn of listeners) fn(user);
  return user;
}

/** An authenticated binary (an original, an output) as an object URL; revoke it when done. */
export async function blobUrl(path, signal) {
  const response = await fetchAuthed(path, { signal });
  if (!response.ok) throw await errorOf(response);
  return URL.createObjectURL(await response.blob());
}

/** Saves an authenticated download under `name`. */
export async function download(path, name) {
  const url = await blobUrl(path);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * Sends a body with upload progress (fetch has none): `onProgress(sent, total)`.
 * Resolves with the parsed JSON answer; rejects with an ApiError.
 */
export function upload(method, path, body, { headers = {}, onProgress, signal } = {}, retry = true) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    if (accessToken) xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onerror = () => reject(new ApiError(0, { code: "network_error", message: "the upload was cut off" }));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    xhr.onload = async () => {
      let answer = null;
      try {
        answer = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        answer = { code: `http_${xhr.status}`, message: xhr.statusText };
      }
      if (xhr.status === 401 && retry && (await refresh())) {
        upload(method, path, body, { headers, onProgress, signal }, false).then(resolve, reject);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        resolve(answer);
      } else {
        reject(new ApiError(xhr.status, answer));
      }
    };
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

/**
 * Follows a Server-Sent Events stream with the bearer token (EventSource cannot send one).
 * `onEvent(name, data)` gets each event's parsed JSON. Resolves when the stream ends.
 */
export async function stream(path, onEvent, signal) {
  const response = await fetchAuthed(path, { signal, headers: { Accept: "text/event-stream" } });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) {
        let parsed = data.join("\n");
        try {
          parsed = JSON.parse(parsed);
        } catch {
          /* a non-JSON data line is passed on as text */
        }
        onEvent(name, parsed);
      }
    }
  }
}
