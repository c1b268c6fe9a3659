// Segments: list with rollout percent, create, change percent, delete; a user's segments; history report.
import { useState } from "preact/hooks";
import { call, download, get, query, request } from "../api.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { Confirm, ErrorBox, Field, FormError, Spinner, formatDate, useErrors, useLoad, usePage, usePoll } from "../ui.js";

const API = "/segments/api/v1";

export function SegmentsScreen() {
  const list = useLoad(() => get(`${API}/segments`), []);
  return html`<div class="screen">
    <div class="grid">
      <${CreateSegment} onCreated=${list.reload} />
      <${UserSegments} segments=${list.data || []} />
    </div>
    <${SegmentList} list=${list} />
    <${HistoryReport} />
  </div>`;
}

function CreateSegment({ onCreated }) {
  const [slug, setSlug] = useState("");
  const [percent, setPercent] = useState("");
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const [errors, fail, clear] = useErrors();
  const submit = async (event) => {
    event.preventDefault();
    clear();
    setCreated(null);
    setBusy(true);
    try {
      const body = { slug: slug.trim() };
      if (percent !== "") body.percent = Number(percent);
      const segment = await call("POST", `${API}/segment`, { json: body });
      setCreated(segment.slug);
      setSlug("");
      setPercent("");
      onCreated();
    } catch (error) {
      fail(error, ["slug", "percent", "selection"]);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card">
    <h2>${t("segments.create")}</h2>
    <form onSubmit=${submit} data-testid="create-segment">
      <${Field} label=${t("segments.slug")} name="slug" errors=${errors} hint=${t("segments.slug_hint")}>
        <input name="slug" value=${slug} onInput=${(e) => setSlug(e.target.value)} required maxlength="128" />
      <//>
      <${Field} label=${t("segments.percent")} name="percent" errors=${errors} hint=${t("segments.percent_hint")}>
        <input name="percent" type="number" min="0" max="100" step="any" value=${percent}
          onInput=${(e) => setPercent(e.target.value)} />
      <//>
      <${FormError} errors=${errors} />
      ${created ? html`<div class="alert ok">${t("segments.created", { slug: created })}</div>` : null}
      <div class="actions"><button class="primary" disabled=${busy}>${t("segments.create_button")}</button></div>
    </form>
  </section>`;
}

function SegmentList({ list }) {
  const segments = list.data || [];
  const { rows, pager } = usePage(segments, 15);
  const [deleting, setDeleting] = useState(null);
  const [error, setError] = useState(null);
  const remove = async () => {
    const slug = deleting;
    setDeleting(null);
    setError(null);
    try {
      await call("DELETE", `${API}/segment/${encodeURIComponent(slug)}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`<section class="card">
    <h2>${t("segments.list")} <button class="ghost small" onClick=${list.reload}>${t("common.refresh")}</button></h2>
    <${ErrorBox} error=${list.error || error} />
    ${list.loading && !list.data ? html`<${Spinner} />` : null}
    ${list.data && segments.length === 0 ? html`<p class="muted">${t("segments.none")}</p>` : null}
    ${rows.length
      ? html`<div class="table-wrap"><table data-testid="segment-list">
          <thead><tr><th>${t("segments.slug")}</th><th>${t("segments.percent")}</th><th>${t("common.created_at")}</th><th></th></tr></thead>
          <tbody>${rows.map((s) => html`<${SegmentRow} key=${s.slug} segment=${s} onChanged=${list.reload}
            onDelete=${() => setDeleting(s.slug)} />`)}</tbody>
        </table></div>`
      : null}
    ${pager}
    ${deleting
      ? html`<${Confirm} title=${t("segments.delete_title")} yes=${t("common.delete")} danger
          onYes=${remove} onNo=${() => setDeleting(null)}>${t("segments.delete_confirm", { slug: deleting })}<//>`
      : null}
  </section>`;
}

function SegmentRow({ segment, onChanged, onDelete }) {
  const [percent, setPercent] = useState(String(segment.percent ?? 0));
  const [errors, fail, clear] = useErrors();
  const [busy, setBusy] = useState(false);
  const save = async (event) => {
    event.preventDefault();
    clear();
    setBusy(true);
    try {
      await call("PATCH", `${API}/segment/${encodeURIComponent(segment.slug)}`, { json: { percent: Number(percent) } });
      onChanged();
    } catch (error) {
      fail(error, ["percent"]);
    } finally {
      setBusy(false);
    }
  };
  return html`<tr data-slug=${segment.slug}>
    <td class="mono">${segment.slug}</td>
    <td>
      <form class="inline" onSubmit=${save}>
        <${Field} label=${t("segments.percent")} name="percent" errors=${errors}>
          <input class="narrow" type="number" min="0" max="100" step="any" value=${percent}
            onInput=${(e) => setPercent(e.target.value)} aria-label=${t("segments.percent")} />
        <//>
        <button disabled=${busy || Number(percent) === segment.percent}>${t("common.save")}</button>
      </form>
      ${errors._error && !errors._placed ? html`<${ErrorBox} error=${errors._error} />` : null}
    </td>
    <td>${formatDate(segment.created_at)}</td>
    <td><button class="danger small" onClick=${onDelete}>${t("common.delete")}</button></td>
  </tr>`;
}

function UserSegments({ segments }) {
  const [userId, setUserId] = useState("");
  const [current, setCurrent] = useState(null);
  const [toAdd, setToAdd] = useState("");
  const [ttl, setTtl] = useState("");
  const [errors, fail, clear] = useErrors();
  const fields = ["user_id", "segments_to_add", "segments_to_delete"];
  const lookup = async (event) => {
    event?.preventDefault();
    clear();
    try {
      setCurrent(await get(`${API}/segments/user/${encodeURIComponent(userId.trim())}`));
    } catch (error) {
      setCurrent(null);
      fail(error, fields);
    }
  };
  const change = async (add, remove) => {
    clear();
    const seconds = ttl === "" ? null : Number(ttl);
    const segments_to_add = add.map((slug) => (seconds ? { slug, ttl_seconds: seconds } : slug));
    try {
      setCurrent(await call("POST", `${API}/segments/user/${encodeURIComponent(userId.trim())}`, {
        json: { segments_to_add, segments_to_delete: remove },
      }));
      setToAdd("");
    } catch (error) {
      fail(error, fields, error.code === "segment_not_found" ? { segments_to_add: error.message } : {});
    }
  };
  const slugs = toAdd.split(/[\s,]+/).filter(Boolean);
  return html`<section class="card" data-testid="user-lookup">
    <h2>${t("segments.user")}</h2>
    <form onSubmit=${lookup} class="row">
      <${Field} label=${t("segments.user_id")} name="user_id" errors=${errors}>
        <input name="user_id" value=${userId} onInput=${(e) => setUserId(e.target.value)} required inputmode="numeric" />
      <//>
      <button class="primary">${t("segments.lookup")}</button>
    </form>
    ${current
      ? html`<div data-testid="user-segments">
          <p>${current.length ? t("segments.user_in", { user: userId }) : t("segments.user_in_none", { user: userId })}</p>
          <ul class="chips">${current.map((slug) => html`<li key=${slug}>
            <span class="mono">${slug}</span>
            <button class="ghost small" title=${t("common.remove")} onClick=${() => change([], [slug])}>×</button>
          </li>`)}</ul>
          <div class="row">
            <${Field} label=${t("segments.add_slugs")} name="segments_to_add" errors=${errors}>
              <input list="segment-slugs" value=${toAdd} onInput=${(e) => setToAdd(e.target.value)} />
            <//>
            <${Field} label=${t("segments.ttl")} name="ttl" errors=${errors}>
              <input class="narrow" type="number" min="1" value=${ttl} onInput=${(e) => setTtl(e.target.value)} />
            <//>
            <button disabled=${!slugs.length} onClick=${() => change(slugs, [])}>${t("common.add")}</button>
          </div>
          <datalist id="segment-slugs">${segments.map((s) => html`<option value=${s.slug} />`)}</datalist>
        </div>`
      : null}
    <${FormError} errors=${errors} />
  </section>`;
}

function HistoryReport() {
  const [userId, setUserId] = useState("");
  const [period, setPeriod] = useState(new Date().toISOString().slice(0, 7));
  const [report, setReport] = useState(null); // {link, status, error}
  const [errors, fail, clear] = useErrors();
  const requestReport = async (event) => {
    event.preventDefault();
    clear();
    setReport(null);
    try {
      const accepted = await get(`${API}/segments/user/${encodeURIComponent(userId.trim())}/csv${query({ period })}`);
      setReport({ link: accepted.link, status: "pending" });
    } catch (error) {
      fail(error, ["user_id", "period"]);
    }
  };
  // The link is absolute (through the gateway); the console calls the same origin it was served from.
  const path = report ? new URL(report.link, location.href).pathname : null;
  usePoll(async () => {
    try {
      const response = await request("GET", path);
      if (response.status === 200) setReport({ ...report, status: "ready" });
    } catch (error) {
      setReport({ ...report, status: "failed", error });
    }
  }, 1000, report?.status === "pending");
  return html`<section class="card" data-testid="history-report">
    <h2>${t("segments.report")}</h2>
    <form onSubmit=${requestReport} class="row">
      <${Field} label=${t("segments.user_id")} name="user_id" errors=${errors}>
        <input value=${userId} onInput=${(e) => setUserId(e.target.value)} required />
      <//>
      <${Field} label=${t("segments.period")} name="period" errors=${errors}>
        <input type="month" value=${period} onInput=${(e) => setPeriod(e.target.value)} required />
      <//>
      <button class="primary">${t("segments.request_report")}</button>
    </form>
    <${FormError} errors=${errors} />
    ${report?.status === "pending" ? html`<${Spinner} label=${t("segments.report_pending")} />` : null}
    ${report?.status === "ready"
      ? html`<button class="primary" onClick=${() => download(path, `segments-history-${userId}.csv`)}>${t("segments.download_report")}</button>`
      : null}
    ${report?.status === "failed" ? html`<${ErrorBox} error=${report.error} />` : null}
  </section>`;
}
