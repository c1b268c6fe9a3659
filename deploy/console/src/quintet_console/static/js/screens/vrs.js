// VRS import: a company and a solved task, conflicts preview, modes and order status, import with a
// spinner until done, then the imported routes; the company's import history (from the service).
import { useState } from "preact/hooks";
import { call, get, query, session, uuid4 } from "../api.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { ErrorBox, Field, FormError, Pager, Spinner, StatusBadge, formatDate, useErrors, useLoad, usePoll } from "../ui.js";

const ROUTE_MODES = ["no_conflict", "replace_all", "replace_not_started", "rename_new"];
const ORDER_MODES = ["no_conflict", "rename_new", "move_existing"];
const RESULT_PAGE = 50;
const HISTORY_PAGE = 20;

const base = (company) => `/vrs-import/api/v1/companies/${encodeURIComponent(company)}`;
export function VrsScreen() {
  const companies = session.claims()?.companies || [];
  const [company, setCompany] = useState(String(companies[0] ?? ""));
  const [current, setCurrent] = useState(null); // the import being followed: {id, task_id}
  const [historyVersion, setHistoryVersion] = useState(0);
  return html`<div class="screen">
    <section class="card">
      <div class="row">
        <${Field} label=${t("vrs.company")} name="company" hint=${companies.length ? t("vrs.company_hint", { companies: companies.join(", ") }) : t("vrs.no_companies")}>
          <input class="company" name="company" type="number" min="1" list="vrs-companies" value=${company} onInput=${(e) => setCompany(e.target.value)} />
        <//>
        <datalist id="vrs-companies">${companies.map((c) => html`<option value=${c} />`)}</datalist>
      </div>
    </section>
    ${company ? html`<${ImportForm} key=${company} company=${company}
      onStarted=${(entry) => { setCurrent(entry); setHistoryVersion(historyVersion + 1); }} />` : null}
    ${current ? html`<${ImportProgress} key=${current.id} company=${company} entry=${current} onDone=${() => setHistoryVersion(historyVersion + 1)} />` : null}
    ${company ? html`<${History} key=${company + historyVersion} company=${company} onOpen=${setCurrent} />` : null}
  </div>`;
}

function ImportForm({ company, onStarted }) {
  const [form, setForm] = useState({ task_id: "", original_task_id: "", route_conflict_mode: "no_conflict", order_conflict_mode: "no_conflict", order_status: "new" });
  // One idempotency key per distinct request: a repeated click of the same import is one import.
  const [key, setKey] = useState(uuid4);
  const [conflicts, setConflicts] = useState(null);
  const [busy, setBusy] = useState(false);
  const [errors, fail, clear] = useErrors();
  const fields = ["task_id", "original_task_id", "route_conflict_mode", "order_conflict_mode", "order_status"];
  const set = (name, value) => {
    setForm({ ...form, [name]: value });
    setKey(uuid4());
  };
  const preview = async () => {
    clear();
    setConflicts(null);
    try {
      setConflicts(await get(`${base(company)}/vrs-import/conflicts${query({ task_id: form.task_id.trim() })}`));
    } catch (error) {
      fail(error, fields, error.status === 422 ? { task_id: error.message } : {});
    }
  };
  const submit = async (event) => {
    event.preventDefault();
    clear();
    setBusy(true);
    const body = { ...form, task_id: form.task_id.trim(), original_task_id: form.original_task_id.trim() || null };
    try {
      const started = await call("POST", `${base(company)}/vrs-import`, { json: body, headers: { "Idempotency-Key": key } });
      onStarted({ id: started.id, task_id: body.task_id });
      setKey(uuid4());
    } catch (error) {
      fail(error, fields, error.status === 422 && !error.fields.task_id ? { task_id: error.message } : {});
    } finally {
      setBusy(false);
    }
  };
  const select = (name, values, prefix) => html`<${Field} label=${t("vrs." + name)} name=${name} errors=${errors} hint=${t(`${prefix}${form[name]}_hint`, {}, "")}>
    <select name=${name} value=${form[name]} onChange=${(e) => set(name, e.target.value)}>
      ${values.map((v) => html`<option value=${v}>${t(prefix + v, {}, v)}</option>`)}
    </select>
  <//>`;
  return html`<section class="card">
    <h2>${t("vrs.new_import")}</h2>
    <form onSubmit=${submit} data-testid="vrs-import">
      <div class="row">
        <${Field} label=${t("vrs.task_id")} name="task_id" errors=${errors}>
          <input class="wide mono" name="task_id" value=${form.task_id} onInput=${(e) => set("task_id", e.target.value)} required maxlength="64" />
        <//>
        <${Field} label=${t("vrs.original_task_id")} name="original_task_id" errors=${errors} hint=${t("common.optional")}>
          <input class="mono" name="original_task_id" value=${form.original_task_id} onInput=${(e) => set("original_task_id", e.target.value)} maxlength="64" />
        <//>
        <button type="button" disabled=${!form.task_id.trim()} onClick=${preview}>${t("vrs.preview_conflicts")}</button>
      </div>
      ${conflicts ? html`<${ConflictsView} conflicts=${conflicts} />` : null}
      <div class="row">
        ${select("route_conflict_mode", ROUTE_MODES, "vrs.route_mode_")}
        ${select("order_conflict_mode", ORDER_MODES, "vrs.order_mode_")}
        ${select("order_status", ["new", "confirmed"], "vrs.order_status_")}
      </div>
      <${FormError} errors=${errors} />
      <div class="actions"><button class="primary" disabled=${busy || !form.task_id.trim()}>${t("vrs.import")}</button></div>
    </form>
  </section>`;
}

function ConflictsView({ conflicts }) {
  if (!conflicts.routes.length && !conflicts.orders.length) {
    return html`<p class="alert ok" data-testid="vrs-conflicts">${t("vrs.no_conflicts")}</p>`;
  }
  return html`<div class="split" data-testid="vrs-conflicts">
    <div><h3>${t("vrs.route_conflicts", { count: conflicts.routes.length })}</h3>
      <div class="table-wrap"><table><thead><tr><th>${t("vrs.number")}</th><th>${t("vrs.existing")}</th><th>${t("vrs.started")}</th></tr></thead>
      <tbody>${conflicts.routes.slice(0, 200).map((r) => html`<tr><td class="mono">${r.number}</td><td>#${r.existing_route_id}</td><td>${r.started ? t("common.yes") : t("common.no")}</td></tr>`)}</tbody></table></div></div>
    <div><h3>${t("vrs.order_conflicts", { count: conflicts.orders.length })}</h3>
      <div class="table-wrap"><table><thead><tr><th>${t("vrs.number")}</th><th>${t("vrs.existing")}</th><th>${t("common.status")}</th></tr></thead>
      <tbody>${conflicts.orders.slice(0, 200).map((o) => html`<tr><td class="mono">${o.number}</td><td>#${o.existing_order_id}</td><td><${StatusBadge} status=${o.status} /></td></tr>`)}</tbody></table></div></div>
  </div>`;
}

function ImportProgress({ company, entry, onDone }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [page, setPage] = useState(1);
  const [route, setRoute] = useState(null);
  const poll = async () => {
    try {
      const answer = await get(`${base(company)}/vrs-import/${encodeURIComponent(entry.id)}`);
      setStatus(answer);
      if (answer.status !== "running") onDone();
    } catch (e) {
      setError(e);
    }
  };
  const running = !error && (!status || status.status === "running");
  usePoll(poll, 1000, running);
  const result = useLoad(
    () => (status?.status === "completed" ? get(`${base(company)}/vrs-import/${encodeURIComponent(entry.id)}/result${query({ page, per_page: RESULT_PAGE })}`) : Promise.resolve(null)),
    [status?.status, page],
  );
  const r = result.data;
  return html`<section class="card" data-testid="vrs-progress" data-status=${status?.status || "running"}>
    <h2>${t("vrs.import_of", { task: entry.task_id })} ${status ? html`<${StatusBadge} status=${status.status} />` : null}</h2>
    <${ErrorBox} error=${error || result.error} />
    ${running ? html`<${Spinner} label=${t("vrs.importing")} />` : null}
    ${status && status.status !== "running" ? html`<p class=${status.status === "completed" ? "" : "error-reason"}>${status.message}</p>` : null}
    ${status?.details ? html`<pre class="small">${JSON.stringify(status.details, null, 2)}</pre>` : null}
    ${r ? html`<p>${t("vrs.orders_counts", r.orders)}</p>
      <div class="split">
        <div><div class="table-wrap"><table data-testid="vrs-routes"><thead><tr><th>#</th><th>${t("vrs.route")}</th></tr></thead>
          <tbody>${r.routes.map((x) => html`<tr key=${x.id} class=${"clickable" + (route?.id === x.id ? " selected" : "")} onClick=${() => setRoute(x)}>
            <td>${x.id}</td><td class="mono">${x.number}</td></tr>`)}</tbody></table></div>
          <${Pager} page=${page - 1} pages=${Math.max(1, Math.ceil(r.total_routes / RESULT_PAGE))} onPage=${(p) => setPage(p + 1)} /></div>
        <div>${route ? html`<${RouteView} company=${company} routeId=${route.id} />` : html`<p class="muted">${t("vrs.pick_route")}</p>`}</div>
      </div>` : null}
  </section>`;
}

function RouteView({ company, routeId }) {
  const route = useLoad(() => get(`${base(company)}/routes/${routeId}`), [routeId]);
  const d = route.data;
  return html`<div>
    <${ErrorBox} error=${route.error} />
    ${d ? html`<h3 class="mono">${d.number}</h3>
      <p class="muted small">${t("vrs.route_meta", { date: d.date, vehicle: d.vehicle, depot: d.depot || "—" })}</p>
      <div class="table-wrap"><table><thead><tr><th>#</th><th>${t("vrs.order")}</th><th>${t("common.status")}</th><th>${t("vrs.arrival")}</th><th>${t("vrs.address")}</th></tr></thead>
      <tbody>${d.orders.map((o) => html`<tr><td>${o.sequence}</td><td class="mono">${o.number}</td><td><${StatusBadge} status=${o.status} /></td>
        <td>${formatDate(o.planned_arrival)}</td><td>${o.address}</td></tr>`)}</tbody></table></div>` : html`<${Spinner} />`}
  </div>`;
}

function History({ company, onOpen }) {
  const [page, setPage] = useState(0);
  const imports = useLoad(
    () => get(`${base(company)}/vrs-import${query({ page: page + 1, per_page: HISTORY_PAGE })}`),
    [company, page],
  );
  const entries = imports.data || [];
  return html`<section class="card">
    <h2>${t("vrs.history")} <button class="ghost small" onClick=${imports.reload}>${t("common.refresh")}</button></h2>
    <p class="muted small">${t("vrs.history_hint")}</p>
    ${imports.error ? html`<${ErrorBox} error=${imports.error} />` : null}
    ${imports.loading && !imports.data ? html`<${Spinner} />` : entries.length ? html`<div class="table-wrap"><table data-testid="vrs-history">
      <thead><tr><th>${t("common.created_at")}</th><th>${t("vrs.task_id")}</th><th>${t("vrs.modes")}</th><th>${t("common.status")}</th><th></th></tr></thead>
      <tbody>${entries.map((e) => html`<tr key=${e.id}><td>${formatDate(e.created_at)}</td><td class="mono">${e.task_id}</td>
          <td class="small">${e.route_conflict_mode} / ${e.order_conflict_mode}</td>
          <td><${StatusBadge} status=${e.status} /> <span class="small muted">${e.message}</span></td>
          <td><button class="small" onClick=${() => onOpen({ id: e.id, task_id: e.task_id })}>${t("vrs.open")}</button></td></tr>`)}</tbody></table></div>
      <${Pager} page=${page} onPage=${setPage} hasNext=${entries.length === HISTORY_PAGE} />` : html`<p class="muted">${t("vrs.no_history")}</p>`}
  </section>`;
}
