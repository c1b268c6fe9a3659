// Small shared pieces: fields with their error, the error box, progress, paging, dialogs, polling.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { getLanguage, t } from "./i18n.js";

// Errors of one form: {field: message}, plus the envelope's message for the form itself.
export function useErrors() {
  const [errors, setErrors] = useState({});
  // `forced` places an error without details[].field (e.g. a 404 naming unknown slugs) on a field.
  const fail = useCallback((error, knownFields = [], forced = {}) => {
    const fields = { ...(error?.fields || {}), ...forced };
    const shown = {};
    let placed = false;
    for (const [field, message] of Object.entries(fields)) {
      const target = nearestField(field, knownFields);
      if (target && message) {
        shown[target] = shown[target] || message;
        placed = true;
      }
    }
    shown._error = error;
    shown._placed = placed;
    setErrors(shown);
  }, []);
  const clear = useCallback(() => setErrors({}), []);
  return [errors, fail, clear];
}

// "settings.qr.x" goes next to the field "settings.qr.x", else "settings.qr", else "settings".
function nearestField(field, knownFields) {
  const parts = field.split(".");
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join(".");
    if (knownFields.includes(name)) return name;
  }
  return null;
}

export function Field({ label, name, errors, children, hint }) {
  const message = errors?.[name];
  return html`<label class=${"field" + (message ? " invalid" : "")}>
    <span class="label">${label}</span>
    ${children}
    ${hint && !message ? html`<span class="hint">${hint}</span>` : null}
    ${message ? html`<span class="field-error" data-field=${name}>${message}</span>` : null}
  </label>`;
}

// 401 and 403 are said as such; other errors show the envelope's message (unless a field shows it).
export function ErrorBox({ error, placed }) {
  if (!error) return null;
  let text = error.message;
  let kind = "error";
  if (error.status === 401) {
    text = t("error.unauthorized", { message: error.message });
    kind = "auth";
  } else if (error.status === 403) {
    text = t("error.forbidden", { message: error.message });
    kind = "auth";
  } else if (error.status === 0) {
    text = t("error.network", { message: error.message });
  } else if (placed) {
    text = t("error.see_fields");
  }
  return html`<div class=${"alert " + kind} role="alert" data-status=${error.status} data-code=${error.code}>
    ${error.status ? html`<strong>${error.status}</strong> ` : null}${text}
  </div>`;
}

export function FormError({ errors }) {
  return html`<${ErrorBox} error=${errors._error} placed=${errors._placed} />`;
}

export function Progress({ value, max, label }) {
  const percent = max > 0 ? Math.min(100, Math.floor((value * 100) / max)) : 0;
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow=${percent} aria-label=${label}>
    <div class="bar" style=${`width: ${percent}%`}></div>
    <span class="progress-text">${percent} %</span>
  </div>`;
}

export function Spinner({ label }) {
  return html`<span class="spinner-wrap" role="status"><span class="spinner"></span>${label || t("common.working")}</span>`;
}

export function Modal({ title, onClose, children, wide }) {
  useEffect(() => {
    const onKey = (event) => event.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return html`<div class="backdrop" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class=${"modal" + (wide ? " wide" : "")} role="dialog" aria-modal="true" aria-label=${title}>
      <header><h3>${title}</h3><button class="ghost" onClick=${onClose} aria-label=${t("common.close")}>×</button></header>
      ${children}
    </div>
  </div>`;
}

export function Confirm({ title, children, yes, onYes, onNo, danger }) {
  return html`<${Modal} title=${title} onClose=${onNo}>
    <div class="confirm-body">${children}</div>
    <div class="actions">
      <button class=${danger ? "danger" : "primary"} onClick=${onYes}>${yes || t("common.yes")}</button>
      <button onClick=${onNo}>${t("common.cancel")}</button>
    </div>
  <//>`;
}

// Client-side paging of a list already loaded.
export function usePage(items, size = 20) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(page, pages - 1);
  return {
    rows: items.slice(current * size, current * size + size),
    pager: html`<${Pager} page=${current} pages=${pages} onPage=${setPage} />`,
  };
}

export function Pager({ page, pages, onPage, hasNext }) {
  const last = pages !== undefined ? page >= pages - 1 : !hasNext;
  if (page === 0 && last) return null;
  return html`<nav class="pager">
    <button disabled=${page === 0} onClick=${() => onPage(page - 1)}>‹ ${t("common.prev")}</button>
    <span>${t("common.page", { page: page + 1, pages: pages ?? "…" })}</span>
    <button disabled=${last} onClick=${() => onPage(page + 1)}>${t("common.next")} ›</button>
  </nav>`;
}

// Load data with `load()`; `reload()` runs it again. Errors are kept, not thrown.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState({ data: null, error, loading: false });
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { ...state, reload };
}

// Run `tick` every `ms` while `active`; the latest tick is used without restarting the timer.
export function usePoll(tick, ms, active) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    let stopped = false;
    let timer;
    const run = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(run, ms);
      }
    };
    timer = setTimeout(run, ms);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, ms]);
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString(getLanguage());
}

export function StatusBadge({ status }) {
  return html`<span class=${"badge status-" + String(status).replace(/[^a-z0-9_-]/gi, "")}>${t("status." + status, {}, status)}</span>`;
}
