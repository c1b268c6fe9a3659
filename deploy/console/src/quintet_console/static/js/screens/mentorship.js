// Mentorship: matchings with filters (status, park/driver), each with its status timeline and
// results; run a periodic job now.
import { useState } from "preact/hooks";
import { call, get, query } from "../api.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { ErrorBox, Field, FormError, Pager, Spinner, StatusBadge, formatDate, useErrors, useLoad } from "../ui.js";

const ADMIN = "/contractor-mentorship/internal/admin";
const STATUSES = ["created", "requested", "matched", "initialized", "in_progress", "finished", "succeed", "failed"];
const JOBS = ["import-matchings", "import-progress", "import-finished", "archive"];
const PAGE = 25;
const RESULT_FIELDS = ["rate_avg_7d", "rate_avg_14d", "avg_dp_7d", "avg_dp_14d", "sh_7d", "sh_14d", "correct_answers", "passed_test_flg"];

export function MentorshipScreen() {
  const [filters, setFilters] = useState({ status: "", park_id: "", driver_id: "" });
  const [draft, setDraft] = useState(filters);
  const [cursors, setCursors] = useState([null]);
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState(null);
  const list = useLoad(() => get(`${ADMIN}/matchings${query({ ...filters, cursor: cursors[page], limit: PAGE })}`), [filters, page]);
  const apply = (event) => {
    event.preventDefault();
    setCursors([null]);
    setPage(0);
    setFilters({ ...draft, park_id: draft.park_id.trim(), driver_id: draft.driver_id.trim() });
  };
  const turn = (next) => {
    if (next > page && list.data?.next_cursor) setCursors([...cursors.slice(0, next), list.data.next_cursor]);
    setPage(next);
  };
  const fieldErrors = {};
  for (const [field, message] of Object.entries(list.error?.fields || {})) fieldErrors[field] = message;
  const rows = list.data?.matchings || [];
  return html`<div class="screen">
    <${Jobs} onRan=${list.reload} />
    <section class="card">
      <h2>${t("mentorship.matchings")} <button class="ghost small" onClick=${list.reload}>${t("common.refresh")}</button></h2>
      <form class="row" onSubmit=${apply} data-testid="matching-filters">
        <${Field} label=${t("common.status")} name="status" errors=${fieldErrors}>
          <select value=${draft.status} onChange=${(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">${t("mentorship.any_status")}</option>
            ${STATUSES.map((s) => html`<option value=${s}>${t("status." + s, {}, s)}</option>`)}
          </select>
        <//>
        <${Field} label=${t("mentorship.park_id")} name="park_id" errors=${fieldErrors}>
          <input value=${draft.park_id} onInput=${(e) => setDraft({ ...draft, park_id: e.target.value })} maxlength="64" />
        <//>
        <${Field} label=${t("mentorship.driver_id")} name="driver_id" errors=${fieldErrors}>
          <input value=${draft.driver_id} onInput=${(e) => setDraft({ ...draft, driver_id: e.target.value })} maxlength="64" />
        <//>
        <button class="primary">${t("mentorship.filter")}</button>
      </form>
      <${ErrorBox} error=${list.error} placed=${Object.keys(fieldErrors).length > 0} />
      ${list.loading && !list.data ? html`<${Spinner} />` : null}
      ${list.data && !rows.length ? html`<p class="muted">${t("mentorship.none")}</p>` : null}
      ${rows.length ? html`<div class="table-wrap"><table data-testid="matchings">
        <thead><tr><th>${t("common.created_at")}</th><th>${t("mentorship.newbie")}</th><th>${t("mentorship.mentor")}</th><th>${t("common.status")}</th><th>${t("mentorship.matched_at")}</th></tr></thead>
        <tbody>${rows.map((m) => html`<tr key=${m.id} class=${"clickable" + (selected === m.id ? " selected" : "")} onClick=${() => setSelected(m.id)}>
          <td>${formatDate(m.created_at)}</td><td class="mono small">${m.newbie_park_id} / ${m.newbie_driver_id}</td>
          <td class="mono small">${m.mentor_driver_id ? `${m.mentor_park_id} / ${m.mentor_driver_id}` : "—"}</td>
          <td><${StatusBadge} status=${m.status} />${m.request_failure ? html`<div class="error-reason small">${m.request_failure}</div>` : null}</td>
          <td>${formatDate(m.matched_at)}</td></tr>`)}</tbody></table></div>` : null}
      <${Pager} page=${page} hasNext=${Boolean(list.data?.next_cursor)} onPage=${turn} />
    </section>
    ${selected ? html`<${MatchingView} key=${selected} id=${selected} />` : null}
  </div>`;
}

function MatchingView({ id }) {
  const matching = useLoad(() => get(`${ADMIN}/matchings/${encodeURIComponent(id)}`), [id]);
  const m = matching.data;
  return html`<section class="card" data-testid="matching">
    <h2>${t("mentorship.matching")} <span class="mono small muted">${id}</span></h2>
    <${ErrorBox} error=${matching.error} />
    ${m ? html`<div class="split">
      <div>
        <dl class="kv small">
          <dt>${t("common.status")}</dt><dd><${StatusBadge} status=${m.status} /></dd>
          <dt>${t("mentorship.newbie")}</dt><dd class="mono">${m.newbie_park_id} / ${m.newbie_driver_id} (${m.newbie_unique_driver_id})</dd>
          <dt>${t("mentorship.mentor")}</dt><dd class="mono">${m.mentor_driver_id ? `${m.mentor_park_id} / ${m.mentor_driver_id}` : "—"}</dd>
          <dt>${t("mentorship.promocode")}</dt><dd class="mono">${m.mentor_promocode || "—"}</dd>
          <dt>${t("mentorship.completed_at")}</dt><dd>${formatDate(m.completed_at) || "—"}</dd>
          ${m.request_failure ? html`<dt>${t("mentorship.request_failure")}</dt><dd class="error-reason">${m.request_failure}</dd>` : null}
        </dl>
        <h3>${t("mentorship.timeline")}</h3>
        <ol class="timeline">${m.transitions.map((tr) => html`<li key=${tr.id}>
          ${tr.from ? html`<${StatusBadge} status=${tr.from} /> → ` : null}<${StatusBadge} status=${tr.to} />
          <span class="muted small"> ${formatDate(tr.created_at)}</span></li>`)}</ol>
      </div>
      <div>
        <h3>${t("mentorship.results")}</h3>
        ${m.results.length ? html`<div class="table-wrap"><table>
          <thead><tr><th></th>${m.results.map((r) => html`<th>${r.stage}</th>`)}</tr></thead>
          <tbody>${RESULT_FIELDS.map((f) => html`<tr><td class="mono small">${f}</td>${m.results.map((r) => html`<td>${r[f] ?? "—"}</td>`)}</tr>`)}</tbody>
        </table></div>` : html`<p class="muted">${t("mentorship.no_results")}</p>`}
      </div>
    </div>` : html`<${Spinner} />`}
  </section>`;
}

function Jobs({ onRan }) {
  const [running, setRunning] = useState(null);
  const [ran, setRan] = useState(null);
  const [errors, fail, clear] = useErrors();
  const run = async (job) => {
    clear();
    setRan(null);
    setRunning(job);
    try {
      setRan(await call("POST", `${ADMIN}/jobs/${job}/run`, { timeout: 600000 }));
      onRan();
    } catch (error) {
      fail(error, []);
    } finally {
      setRunning(null);
    }
  };
  return html`<section class="card">
    <h2>${t("mentorship.jobs")}</h2>
    <div class="row">${JOBS.map((job) => html`<button disabled=${running !== null} onClick=${() => run(job)}>${t("mentorship.job_" + job.replace("-", "_"))}</button>`)}</div>
    ${running ? html`<${Spinner} label=${t("mentorship.job_running", { job: running })} />` : null}
    ${ran ? html`<div class="alert ok" data-testid="job-result">${t("mentorship.job_done", { job: ran.job })}
      ${Object.entries(ran.counts).map(([k, v]) => html` <span class="badge">${k}: ${v}</span>`)}</div>` : null}
    <${FormError} errors=${errors} />
  </section>`;
}
