// Personal goals: dataset address → validate → apply → progress per selection; selections list.
import { useState } from "preact/hooks";
import { call, get, query } from "../api.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { ErrorBox, Field, FormError, Pager, Progress, Spinner, StatusBadge, formatDate, useErrors, useLoad, usePoll } from "../ui.js";

const ADMIN = "/personal-goals/internal/admin";
const FINISHED = new Set(["complete", "partially_completed", "failed"]);
const SKIPPED_PAGE = 50;
const SELECTIONS_PAGE = 20;

export function GoalsScreen() {
  const [refresh, setRefresh] = useState(0);
  return html`<div class="screen">
    <${Upload} onFinished=${() => setRefresh(refresh + 1)} />
    <${Selections} refresh=${refresh} />
  </div>`;
}

function Upload({ onFinished }) {
  const [table, setTable] = useState("");
  const [validated, setValidated] = useState(null);
  const [problems, setProblems] = useState(null);
  const [upload, setUpload] = useState(null);
  const [applying, setApplying] = useState(false);
  const [skippedOffset, setSkippedOffset] = useState(0);
  const [errors, fail, clear] = useErrors();
  const reset = () => {
    clear();
    setValidated(null);
    setProblems(null);
  };
  const failDataset = (error) => {
    // invalid_dataset names every problem of the dataset (column, kind, message): list them all.
    if (error.code === "invalid_dataset" && Array.isArray(error.details)) setProblems(error.details);
    fail(error, ["table"], error.code === "invalid_dataset" ? {} : {});
  };
  const validate = async (event) => {
    event.preventDefault();
    reset();
    try {
      setValidated(await call("POST", `${ADMIN}/validate_goals_upload_from_yt`, { json: { table: table.trim() } }));
    } catch (error) {
      failDataset(error);
    }
  };
  const status = async (offset = skippedOffset) =>
    call("POST", `${ADMIN}/upload_goals_from_yt`, {
      json: { table: upload?.table || table.trim(), skipped_offset: offset, skipped_limit: SKIPPED_PAGE },
    });
  const apply = async () => {
    reset();
    setApplying(true);
    try {
      const state = await call("POST", `${ADMIN}/upload_goals_from_yt`, {
        json: { table: table.trim(), skipped_offset: 0, skipped_limit: SKIPPED_PAGE },
      });
      setSkippedOffset(0);
      setUpload({ table: table.trim(), state });
    } catch (error) {
      failDataset(error);
    } finally {
      setApplying(false);
    }
  };
  const running = upload && !FINISHED.has(upload.state.status);
  // Apply is idempotent and answers the current state: polling it moves the bars as chunks commit.
  usePoll(async () => {
    try {
      const state = await status();
      setUpload((u) => (u ? { ...u, state } : u));
      if (FINISHED.has(state.status)) onFinished();
    } catch (error) {
      fail(error, []);
    }
  }, 1000, running);
  const pageSkipped = async (offset) => {
    setSkippedOffset(offset);
    try {
      const state = await status(offset);
      setUpload((u) => ({ ...u, state }));
    } catch (error) {
      fail(error, []);
    }
  };
  return html`<section class="card">
    <h2>${t("goals.upload")}</h2>
    <form onSubmit=${validate} class="row" data-testid="goals-upload">
      <${Field} label=${t("goals.table")} name="table" errors=${errors} hint=${t("goals.table_hint")}>
        <input class="wide" name="table" value=${table} onInput=${(e) => setTable(e.target.value)}
          placeholder="s3://bucket/goals/2026-12.parquet" required maxlength="1024" />
      <//>
      <button class="primary">${t("goals.validate")}</button>
      <button type="button" disabled=${!validated || applying || running} onClick=${apply}>${t("goals.apply")}</button>
    </form>
    <${FormError} errors=${errors} />
    ${problems
      ? html`<div class="problems" data-testid="dataset-problems"><h3>${t("goals.problems")}</h3><ul>
          ${problems.map((p) => html`<li><span class="mono">${p.field}</span> <${StatusBadge} status=${p.problem} /> ${p.message}</li>`)}
        </ul></div>`
      : null}
    ${validated
      ? html`<div data-testid="validation">
          <p class="alert ok">${t("goals.valid", { rows: validated.rows, selections: validated.selections.length })}</p>
          <div class="table-wrap"><table>
            <thead><tr><th>${t("goals.selection")}</th><th>${t("goals.rows")}</th></tr></thead>
            <tbody>${validated.selections.map((s) => html`<tr><td class="mono">${s.selection_id}</td><td>${s.rows}</td></tr>`)}</tbody>
          </table></div>
        </div>`
      : null}
    ${applying ? html`<${Spinner} />` : null}
    ${upload ? html`<${UploadProgress} upload=${upload} offset=${skippedOffset} onPage=${pageSkipped} />` : null}
  </section>`;
}

function UploadProgress({ upload, offset, onPage }) {
  const { state } = upload;
  const page = Math.floor(offset / SKIPPED_PAGE);
  return html`<div class="upload" data-testid="upload-progress" data-status=${state.status}>
    <h3>${t("goals.progress")} <${StatusBadge} status=${state.status} /></h3>
    ${state.failure_reason ? html`<div class="alert error">${state.failure_reason}</div>` : null}
    ${state.selections.map((s) => {
      const done = s.loaded + s.skipped;
      const value = s.status === "complete" ? s.rows : Math.min(done, s.rows);
      return html`<div class="selection-progress" data-selection=${s.selection_id} key=${s.selection_id}>
        <div class="between"><span class="mono">${s.selection_id}</span><${StatusBadge} status=${s.status} /></div>
        <${Progress} value=${value} max=${s.rows || 1} label=${s.selection_id} />
        <div class="muted small">${t("goals.counts", { loaded: s.loaded, skipped: s.skipped, rows: s.rows, last: s.last_row_index })}</div>
      </div>`;
    })}
    ${state.skipped_total
      ? html`<h3>${t("goals.skipped", { count: state.skipped_total })}</h3>
          <div class="table-wrap"><table data-testid="skipped-goals">
            <thead><tr><th>${t("goals.row")}</th><th>${t("goals.goal")}</th><th>${t("goals.selection")}</th><th>${t("goals.reason")}</th></tr></thead>
            <tbody>${state.skipped_goals.map((g) => html`<tr>
              <td>${g.row_index}</td><td class="mono">${g.goal_id}</td><td class="mono">${g.selection_id}</td>
              <td>${t("reason." + g.reason.split(":")[0], { column: g.reason.split(":")[1] || "" }, g.reason)}</td></tr>`)}</tbody>
          </table></div>
          <${Pager} page=${page} pages=${Math.ceil(state.skipped_total / SKIPPED_PAGE)} onPage=${(p) => onPage(p * SKIPPED_PAGE)} />`
      : null}
  </div>`;
}

function Selections({ refresh }) {
  const [page, setPage] = useState(0);
  const list = useLoad(
    () => get(`${ADMIN}/selections${query({ offset: page * SELECTIONS_PAGE, limit: SELECTIONS_PAGE + 1 })}`),
    [page, refresh],
  );
  const [error, setError] = useState(null);
  const setStatus = async (selection_id, status) => {
    setError(null);
    try {
      await call("POST", `${ADMIN}/selections/update`, { json: { selection_id, status } });
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  const rows = (list.data || []).slice(0, SELECTIONS_PAGE);
  return html`<section class="card">
    <h2>${t("goals.selections")} <button class="ghost small" onClick=${list.reload}>${t("common.refresh")}</button></h2>
    <${ErrorBox} error=${list.error || error} />
    ${list.loading && !list.data ? html`<${Spinner} />` : null}
    ${list.data && !rows.length ? html`<p class="muted">${t("goals.no_selections")}</p>` : null}
    ${rows.length
      ? html`<div class="table-wrap"><table data-testid="selections">
          <thead><tr><th>${t("goals.selection")}</th><th>${t("common.status")}</th><th>${t("goals.goals")}</th>
            <th>${t("goals.skipped_short")}</th><th>${t("goals.upload_status")}</th><th>${t("common.updated_at")}</th><th></th></tr></thead>
          <tbody>${rows.map((s) => html`<tr data-selection=${s.selection_id} key=${s.selection_id}>
            <td class="mono">${s.selection_id}</td><td><${StatusBadge} status=${s.status} /></td>
            <td>${s.goals}</td><td>${s.skipped}</td>
            <td>${s.upload ? html`<${StatusBadge} status=${s.upload.status} />` : "—"}</td>
            <td>${formatDate(s.updated_at)}</td>
            <td>${s.status === "active"
              ? html`<button class="small" onClick=${() => setStatus(s.selection_id, "hidden")}>${t("goals.hide")}</button>`
              : html`<button class="small primary" onClick=${() => setStatus(s.selection_id, "active")}>${t("goals.activate")}</button>`}</td>
          </tr>`)}</tbody>
        </table></div>`
      : null}
    <${Pager} page=${page} hasNext=${(list.data || []).length > SELECTIONS_PAGE} onPage=${setPage} />
  </section>`;
}
