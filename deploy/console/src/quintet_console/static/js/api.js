// Every call goes through the gateway (same origin) with the token the person signed in with.
const TOKEN_KEY = "quintet.console.token";
const TIMEOUT_MS = 30000;

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
  // The token's claims, for display only: the services verify it, the console never trusts it.
  claims() {
    const token = this.token;
    if (!token) return null;
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  },
};

export class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope?.message || `HTTP ${status}`);
    this.status = status;
    this.code = envelope?.code || `http_${status}`;
    this.details = envelope?.details ?? null;
  }

  // {field: message} from the envelope's details[] (a 400 names the offending field).
  get fields() {
    const fields = {};
    if (Array.isArray(this.details)) {
      for (const detail of this.details) {
        if (detail && typeof detail.field === "string") {
          fields[detail.field] = fields[detail.field] || detail.message || this.message;
        }
      }
    }
    return fields;
  }
}

export async function request(method, path, { json, body, headers = {}, timeout = TIMEOUT_MS } = {}) {
  const sent = { ...headers };
  if (session.token) sent.Authorization = `Bearer ${session.token}`;
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetch(path, { method, headers: sent, body, signal: controller.signal });
  } catch (error) {
    throw new ApiError(0, { code: "network", message: error.name === "AbortError" ? "timeout" : String(error) });
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    let envelope = null;
    try {
      envelope = await response.json();
    } catch {
      envelope = { code: `http_${response.status}`, message: response.statusText };
    }
    throw new ApiError(response.status, envelope);
  }
  return response;
}

export async function call(method, path, options) {
  const response = await request(method, path, options);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, options) => call("GET", path, options);

// Fetch with the token and hand the body to the browser as a file download.
export async function download(path, fallbackName) {
  const response = await request("GET", path, { timeout: 300000 });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}

// A blob: URL of a response, e.g. to show a PDF or an image that needs the token.
export async function objectUrl(path) {
  const response = await request("GET", path);
  return URL.createObjectURL(await response.blob());
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// An idempotency key; crypto.randomUUID needs a secure context, getRandomValues does not.
export function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
