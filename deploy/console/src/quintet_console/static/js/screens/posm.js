// POSM: places and their tables; templates with a preview of the page and their settings; the
// generations of a place (history, generate dialog, status without reload, archive with a check).
import { useEffect, useState } from "preact/hooks";
import { call, download, get, objectUrl, query, uuid4 } from "../api.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { Confirm, ErrorBox, Field, FormError, Modal, Pager, Progress, Spinner, StatusBadge, formatDate, useErrors, useLoad, usePage, usePoll } from "../ui.js";

const API = "/posm/api/v1";
const PLACE_KEY = "quintet.console.posm.place";
const RECENT_KEY = "quintet.console.posm.recent";
const MOVING = new Set(["created", "scheduled", "in-progress"]);
const HISTORY_PAGE = 20;
const DEFAULT_SETTINGS = {
  page: 1,
  qr: { x: 40, y: 40, size: 120, dark_color: "#000000" },
  text: { x: 100, y: 200, font_size: 16, color: "#000000", align: "center", format: "Стол {label}" },
};

function recentPlaces() {
  try {
    return JSON.parse(localStorage.getItem(RECENT_KEY) || "[]").slice(0, 8);
  } catch {
    return [];
  }
}

function remember(place) {
  const recent = [{ id: place.place_id, name: place.name }, ...recentPlaces().filter((p) => p.id !== place.place_id)];
  localStorage.setItem(RECENT_KEY, JSON.stringify(recent.slice(0, 8)));
  localStorage.setItem(PLACE_KEY, place.place_id);
}

export function PosmScreen() {
  const [tab, setTab] = useState(localStorage.getItem(PLACE_KEY) ? "generations" : "places");
  const [placeId, setPlaceId] = useState(localStorage.getItem(PLACE_KEY) || "");
  const tabs = ["places", "templates", "generations"];
  return html`<div class="screen">
    <nav class="subtabs" role="tablist">
      ${tabs.map((id) => html`<button role="tab" aria-selected=${tab === id} class=${tab === id ? "active" : ""}
        onClick=${() => setTab(id)}>${t("posm.tab_" + id)}</button>`)}
    </nav>
    ${tab === "places" ? html`<${Places} placeId=${placeId} onPlace=${(id) => { setPlaceId(id); }} onGenerations=${() => setTab("generations")} />` : null}
    ${tab === "templates" ? html`<${Templates} placeId=${placeId} />` : null}
    ${tab === "generations" ? html`<${Generations} placeId=${placeId} onPickPlace=${() => setTab("places")} />` : null}
  </div>`;
}

// -- places -----------------------------------------------------------------------------------

function Places({ placeId, onPlace, onGenerations }) {
  const [openId, setOpenId] = useState(placeId);
  const [place, setPlace] = useState(null);
  const [errors, fail, clear] = useErrors();
  const open = async (id) => {
    clear();
    setPlace(null);
    try {
      const found = await get(`${API}/places/${encodeURIComponent(id.trim())}`);
      remember(found);
      onPlace(found.place_id);
      setPlace(found);
    } catch (error) {
      fail(error, ["place_id"]);
    }
  };
  useEffect(() => {
    if (placeId) open(placeId);
  }, []);
  const create = () => {
    clear();
    setPlace({ place_id: uuid4(), name: "", brand_id: null, tables: [], isNew: true });
  };
  return html`<div>
    <section class="card">
      <h2>${t("posm.places")}</h2>
      <form class="row" onSubmit=${(e) => { e.preventDefault(); open(openId); }}>
        <${Field} label=${t("posm.place_id")} name="place_id" errors=${errors}>
          <input class="wide mono" name="place_id" value=${openId} onInput=${(e) => setOpenId(e.target.value)} required />
        <//>
        <button class="primary">${t("posm.open_place")}</button>
        <button type="button" onClick=${create}>${t("posm.new_place")}</button>
      </form>
      ${recentPlaces().length
        ? html`<p class="muted small">${t("posm.recent")}: ${recentPlaces().map((p) => html`<button class="ghost small"
            onClick=${() => { setOpenId(p.id); open(p.id); }}>${p.name || p.id}</button>`)}</p>`
        : null}
      <${FormError} errors=${errors} />
    </section>
    ${place ? html`<${PlaceEditor} key=${place.place_id + (place.updated_at || "")} place=${place}
      onSaved=${(saved) => { remember(saved); onPlace(saved.place_id); setOpenId(saved.place_id); setPlace(saved); }}
      onGenerations=${onGenerations} />` : null}
  </div>`;
}

function PlaceEditor({ place, onSaved, onGenerations }) {
  const [name, setName] = useState(place.name);
  const [brand, setBrand] = useState(place.brand_id || "");
  const [tables, setTables] = useState(place.tables.map((table) => ({ ...table, saved: !place.isNew })));
  const [bulk, setBulk] = useState("10");
  const [busy, setBusy] = useState(false);
  const [errors, fail, clear] = useErrors();
  const { rows, pager } = usePage(tables, 25);
  const addTables = (count) => {
    const numbers = tables.map((table) => Number.parseInt(table.label, 10)).filter(Number.isFinite);
    let next = numbers.length ? Math.max(...numbers) + 1 : 1;
    const added = Array.from({ length: count }, () => ({ id: uuid4(), label: String(next++), saved: false }));
    setTables([...tables, ...added]);
  };
  const save = async (event) => {
    event.preventDefault();
    clear();
    setBusy(true);
    try {
      const body = { name: name.trim(), brand_id: brand.trim() || null, tables: tables.map(({ id, label }) => ({ id, label })) };
      onSaved(await call("PUT", `${API}/places/${place.place_id}`, { json: body }));
    } catch (error) {
      fail(error, ["name", "brand_id", "tables", ...tables.map((_, i) => `tables.${i}.label`)]);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" data-testid="place-editor">
    <h2>${place.isNew ? t("posm.new_place") : place.name}
      <span class="muted small mono">${place.place_id}</span>
      ${place.isNew ? null : html`<button class="small" onClick=${onGenerations}>${t("posm.tab_generations")} →</button>`}</h2>
    <form onSubmit=${save}>
      <div class="row">
        <${Field} label=${t("posm.name")} name="name" errors=${errors}>
          <input name="name" value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="300" />
        <//>
        <${Field} label=${t("posm.brand_id")} name="brand_id" errors=${errors} hint=${t("common.optional")}>
          <input class="mono" name="brand_id" value=${brand} onInput=${(e) => setBrand(e.target.value)} />
        <//>
      </div>
      <h3>${t("posm.tables", { count: tables.length })}</h3>
      ${errors.tables ? html`<span class="field-error" data-field="tables">${errors.tables}</span>` : null}
      ${rows.length ? html`<div class="table-wrap"><table>
        <thead><tr><th>${t("posm.label")}</th><th>${t("posm.table_id")}</th><th>${t("posm.qr")}</th><th></th></tr></thead>
        <tbody>${rows.map((table) => {
          const index = tables.indexOf(table);
          return html`<tr key=${table.id}>
            <td><${Field} label=${t("posm.label")} name=${`tables.${index}.label`} errors=${errors}>
              <input class="narrow" value=${table.label} aria-label=${t("posm.label")} maxlength="100"
                onInput=${(e) => setTables(tables.map((x) => (x === table ? { ...x, label: e.target.value } : x)))} />
            <//></td>
            <td class="mono small">${table.id}</td>
            <td>${table.saved ? html`<button type="button" class="ghost small" onClick=${() => download(`${API}/tables/${table.id}/qr.svg`, `qr-${table.label}.svg`)}>SVG</button>
              <button type="button" class="ghost small" onClick=${() => download(`${API}/tables/${table.id}/qr.png?size=1024`, `qr-${table.label}.png`)}>PNG</button>` : html`<span class="muted small">${t("posm.unsaved")}</span>`}</td>
            <td><button type="button" class="ghost small" title=${t("common.remove")} onClick=${() => setTables(tables.filter((x) => x !== table))}>×</button></td>
          </tr>`;
        })}</tbody></table></div>` : html`<p class="muted">${t("posm.no_tables")}</p>`}
      ${pager}
      <div class="row">
        <button type="button" onClick=${() => addTables(1)}>${t("posm.add_table")}</button>
        <input class="narrow" type="number" min="1" max="1000" value=${bulk} aria-label=${t("posm.how_many")} onInput=${(e) => setBulk(e.target.value)} />
        <button type="button" onClick=${() => addTables(Math.min(1000, Math.max(1, Number(bulk) || 1)))}>${t("posm.add_tables")}</button>
      </div>
      <${FormError} errors=${errors} />
      <div class="actions"><button class="primary" disabled=${busy}>${t("posm.save_place")}</button></div>
    </form>
  </section>`;
}

// -- templates --------------------------------------------------------------------------------

function Templates({ placeId }) {
  const [onlyPlace, setOnlyPlace] = useState(false);
  const list = useLoad(() => get(`${API}/templates${query({ place_id: onlyPlace ? placeId : "" })}`), [onlyPlace, placeId]);
  const [selected, setSelected] = useState(null);
  const [editing, setEditing] = useState(null); // {} for a new template, a template to edit
  const [deleting, setDeleting] = useState(null);
  const [error, setError] = useState(null);
  const { rows, pager } = usePage(list.data || [], 15);
  const current = (list.data || []).find((tpl) => tpl.id === selected);
  const remove = async () => {
    const id = deleting.id;
    setDeleting(null);
    try {
      await call("DELETE", `${API}/templates/${id}`);
      setSelected(null);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return html`<div class="split">
    <section class="card">
      <h2>${t("posm.templates")} <button class="primary small" onClick=${() => setEditing({})}>${t("posm.new_template")}</button></h2>
      ${placeId ? html`<label class="check small"><input type="checkbox" checked=${onlyPlace} onChange=${(e) => setOnlyPlace(e.target.checked)} /> ${t("posm.only_place")}</label>` : null}
      <${ErrorBox} error=${list.error || error} />
      ${list.loading && !list.data ? html`<${Spinner} />` : null}
      ${list.data && !list.data.length ? html`<p class="muted">${t("posm.no_templates")}</p>` : null}
      ${rows.length ? html`<div class="table-wrap"><table data-testid="templates">
        <thead><tr><th>#</th><th>${t("posm.name")}</th><th>${t("posm.visibility")}</th><th>${t("common.updated_at")}</th></tr></thead>
        <tbody>${rows.map((tpl) => html`<tr key=${tpl.id} class=${"clickable" + (tpl.id === selected ? " selected" : "")} onClick=${() => setSelected(tpl.id)}>
          <td>${tpl.id}</td><td>${tpl.name}</td><td>${t("posm.visibility_" + tpl.visibility)}</td><td>${formatDate(tpl.updated_at)}</td></tr>`)}</tbody>
      </table></div>` : null}
      ${pager}
    </section>
    <section class="card">
      ${current
        ? html`<h2>${current.name}
            <button class="small" onClick=${() => setEditing(current)}>${t("common.edit")}</button>
            <button class="small danger" onClick=${() => setDeleting(current)}>${t("common.delete")}</button></h2>
          ${current.description ? html`<p class="muted">${current.description}</p>` : null}
          <${TemplatePreview} settings=${current.settings} pageSizes=${current.page_sizes} templateId=${current.id} />
          <${SettingsList} settings=${current.settings} />`
        : html`<p class="muted">${t("posm.pick_template")}</p>`}
    </section>
    ${editing ? html`<${TemplateForm} template=${editing} onClose=${() => setEditing(null)}
      onSaved=${(saved) => { setEditing(null); setSelected(saved.id); list.reload(); }} />` : null}
    ${deleting ? html`<${Confirm} title=${t("posm.delete_template")} yes=${t("common.delete")} danger onYes=${remove}
      onNo=${() => setDeleting(null)}>${t("posm.delete_template_confirm", { name: deleting.name })}<//>` : null}
  </div>`;
}

// The template's page drawn to scale with the QR square and the label where the settings put them;
// with a stored template (`templateId`), over a picture of the page itself, rendered by the service.
export function TemplatePreview({ settings, pageSizes, templateId }) {
  const size = pageSizes?.[(settings?.page || 1) - 1];
  const page = settings?.page || 1;
  const [picture, setPicture] = useState(null);
  useEffect(() => {
    if (!templateId || !size) return undefined;
    let url = null;
    let gone = false;
    objectUrl(`${API}/templates/${templateId}/preview.png${query({ page, width: 600 })}`)
      .then((made) => { url = made; if (gone) URL.revokeObjectURL(made); else setPicture(made); })
      .catch(() => setPicture(null)); // the outline alone still shows where things go
    return () => { gone = true; setPicture(null); if (url) URL.revokeObjectURL(url); };
  }, [templateId, page, Boolean(size)]);
  if (!size) return html`<p class="muted">${t("posm.no_page", { page: settings?.page })}</p>`;
  const [width, height] = size;
  const { qr, text } = settings;
  const anchor = { left: "start", center: "middle", right: "end" }[text.align] || "middle";
  const cell = qr.size / 7;
  return html`<figure class="posm-preview" data-testid="template-preview" data-page-picture=${picture ? "shown" : "none"}>
    <svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${t("posm.preview")}>
      <rect x="0" y="0" width=${width} height=${height} fill="#fff" stroke="#9aa3b2" stroke-width=${Math.max(width, height) / 300} />
      ${picture ? html`<image href=${picture} x="0" y="0" width=${width} height=${height} preserveAspectRatio="none" />` : null}
      <rect x=${qr.x} y=${qr.y} width=${qr.size} height=${qr.size} fill="#eef2ff" fill-opacity=${picture ? 0.85 : 1} stroke=${qr.dark_color || "#000"} stroke-width=${cell / 4} />
      ${[[0, 0], [4, 0], [0, 4]].map(([cx, cy]) => html`<rect x=${qr.x + cx * cell + cell * 0.5} y=${qr.y + cy * cell + cell * 0.5} width=${cell * 2}
        height=${cell * 2} fill=${qr.dark_color || "#000"} />`)}
      <text x=${text.x} y=${text.y} font-size=${text.font_size} fill=${text.color || "#000"} text-anchor=${anchor}
        font-family="DejaVu Sans, sans-serif">${text.format.replace("{label}", "12").replace("{table_id}", "…")}</text>
    </svg>
    <figcaption class="muted small">${t("posm.page_size", { page: settings.page, width: Math.round(width), height: Math.round(height) })}</figcaption>
  </figure>`;
}

function SettingsList({ settings }) {
  return html`<dl class="kv small">
    <dt>${t("posm.page")}</dt><dd>${settings.page}</dd>
    <dt>${t("posm.qr")}</dt><dd>x ${settings.qr.x}, y ${settings.qr.y}, ${t("posm.size")} ${settings.qr.size}, ${settings.qr.dark_color}</dd>
    <dt>${t("posm.text")}</dt><dd>x ${settings.text.x}, y ${settings.text.y}, ${settings.text.font_size} pt, ${settings.text.align}, ${settings.text.color}</dd>
    <dt>${t("posm.format")}</dt><dd class="mono">${settings.text.format}</dd>
  </dl>`;
}

// Editable settings: every number and text of the template's settings.
function SettingsForm({ settings, onChange, errors }) {
  const set = (group, key, value) =>
    onChange(group ? { ...settings, [group]: { ...settings[group], [key]: value } } : { ...settings, [key]: value });
  const num = (group, key, label) => html`<${Field} label=${label} name=${group ? `settings.${group}.${key}` : `settings.${key}`} errors=${errors}>
    <input class="narrow" type="number" step="any" value=${group ? settings[group][key] : settings[key]}
      onInput=${(e) => set(group, key, e.target.value === "" ? "" : Number(e.target.value))} />
  <//>`;
  return html`<fieldset class="settings" data-testid="settings-form">
    <legend>${t("posm.settings")}</legend>
    ${errors["settings.qr"] ? html`<span class="field-error" data-field="settings.qr">${errors["settings.qr"]}</span>` : null}
    ${errors["settings.text"] ? html`<span class="field-error" data-field="settings.text">${errors["settings.text"]}</span>` : null}
    ${errors.settings ? html`<span class="field-error" data-field="settings">${errors.settings}</span>` : null}
    <div class="row">${num(null, "page", t("posm.page"))}${num("qr", "x", "QR x")}${num("qr", "y", "QR y")}${num("qr", "size", t("posm.qr_size"))}
      <${Field} label=${t("posm.qr_color")} name="settings.qr.dark_color" errors=${errors}>
        <input type="color" value=${settings.qr.dark_color || "#000000"} onInput=${(e) => set("qr", "dark_color", e.target.value)} />
      <//></div>
    <div class="row">${num("text", "x", t("posm.text") + " x")}${num("text", "y", t("posm.text") + " y")}${num("text", "font_size", t("posm.font_size"))}
      <${Field} label=${t("posm.align")} name="settings.text.align" errors=${errors}>
        <select value=${settings.text.align} onChange=${(e) => set("text", "align", e.target.value)}>
          ${["left", "center", "right"].map((a) => html`<option value=${a}>${t("posm.align_" + a)}</option>`)}
        </select>
      <//>
      <${Field} label=${t("posm.text_color")} name="settings.text.color" errors=${errors}>
        <input type="color" value=${settings.text.color || "#000000"} onInput=${(e) => set("text", "color", e.target.value)} />
      <//></div>
    <${Field} label=${t("posm.format")} name="settings.text.format" errors=${errors} hint=${t("posm.format_hint")}>
      <input value=${settings.text.format} onInput=${(e) => set("text", "format", e.target.value)} maxlength="200" />
    <//>
  </fieldset>`;
}

const SETTINGS_FIELDS = [
  "settings", "settings.page", "settings.qr", "settings.qr.x", "settings.qr.y", "settings.qr.size", "settings.qr.dark_color",
  "settings.text", "settings.text.x", "settings.text.y", "settings.text.font_size", "settings.text.color",
  "settings.text.align", "settings.text.format",
];

function TemplateForm({ template, onClose, onSaved }) {
  const isNew = !template.id;
  const [name, setName] = useState(template.name || "");
  const [description, setDescription] = useState(template.description || "");
  const [visibility, setVisibility] = useState(template.visibility || "global");
  const [links, setLinks] = useState((template.visibility === "brand" ? template.brand_ids : template.place_ids || []).join(", "));
  const [settings, setSettings] = useState(template.settings || DEFAULT_SETTINGS);
  const [file, setFile] = useState(null);
  const [pageSizes, setPageSizes] = useState(template.page_sizes || null);
  const [busy, setBusy] = useState(false);
  const pickFile = async (picked) => {
    setFile(picked);
    if (picked) setPageSizes((await firstPageSize(picked)) || template.page_sizes || null);
  };
  const [errors, fail, clear] = useErrors();
  const save = async (event) => {
    event.preventDefault();
    clear();
    setBusy(true);
    const ids = links.split(/[\s,]+/).filter(Boolean);
    const metadata = {
      name: name.trim(),
      description: description.trim() || null,
      settings,
      visibility,
      place_ids: visibility === "restaurant" ? ids : [],
      brand_ids: visibility === "brand" ? ids : [],
    };
    const form = new FormData();
    if (file) form.append("file", file, file.name);
    form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
    try {
      const saved = await call(isNew ? "POST" : "PATCH", isNew ? `${API}/templates` : `${API}/templates/${template.id}`, { body: form });
      onSaved(saved);
    } catch (error) {
      fail(error, ["file", "metadata", "name", "description", "visibility", "place_ids", "brand_ids", ...SETTINGS_FIELDS]);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Modal} title=${isNew ? t("posm.new_template") : t("posm.edit_template", { name: template.name })} onClose=${onClose} wide>
    <form onSubmit=${save} data-testid="template-form">
      <div class="row">
        <${Field} label=${t("posm.name")} name="name" errors=${errors}>
          <input name="name" value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="200" />
        <//>
        <${Field} label=${t("posm.file")} name="file" errors=${errors} hint=${isNew ? t("posm.file_hint") : t("posm.file_keep")}>
          <input name="file" type="file" accept="application/pdf,.pdf" required=${isNew} onChange=${(e) => pickFile(e.target.files[0] || null)} />
        <//>
      </div>
      <${Field} label=${t("posm.description")} name="description" errors=${errors}>
        <input value=${description} onInput=${(e) => setDescription(e.target.value)} maxlength="2000" />
      <//>
      <div class="row">
        <${Field} label=${t("posm.visibility")} name="visibility" errors=${errors}>
          <select name="visibility" value=${visibility} onChange=${(e) => setVisibility(e.target.value)}>
            ${["global", "restaurant", "brand"].map((v) => html`<option value=${v}>${t("posm.visibility_" + v)}</option>`)}
          </select>
        <//>
        ${visibility !== "global" ? html`<${Field} label=${visibility === "brand" ? t("posm.brand_ids") : t("posm.place_ids")}
            name=${visibility === "brand" ? "brand_ids" : "place_ids"} errors=${errors}>
          <input class="wide mono" value=${links} onInput=${(e) => setLinks(e.target.value)} />
        <//>` : null}
      </div>
      <div class="split">
        <${SettingsForm} settings=${settings} onChange=${setSettings} errors=${errors} />
        ${pageSizes ? html`<${TemplatePreview} settings=${settings} pageSizes=${pageSizes} />` : null}
      </div>
      <${FormError} errors=${errors} />
      <div class="actions"><button class="primary" disabled=${busy}>${t("common.save")}</button><button type="button" onClick=${onClose}>${t("common.cancel")}</button></div>
    </form>
  <//>`;
}

// The first page's size from a PDF picked for upload, for the preview before the service has read it
// (the first /MediaBox in the file: right for the usual one-page template, a guess otherwise).
async function firstPageSize(file) {
  if (file.size > 20 * 1024 * 1024) return null;
  const text = new TextDecoder("latin1").decode(await file.arrayBuffer());
  const box = /\/MediaBox\s*\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]/.exec(text);
  if (!box) return null;
  const [x0, y0, x1, y1] = box.slice(1).map(Number);
  return [[Math.abs(x1 - x0), Math.abs(y1 - y0)]];
}

// -- generations ------------------------------------------------------------------------------

function Generations({ placeId, onPickPlace }) {
  const [cursors, setCursors] = useState([null]); // cursor of each page seen
  const [page, setPage] = useState(0);
  const place = useLoad(() => (placeId ? get(`${API}/places/${placeId}`) : Promise.resolve(null)), [placeId]);
  const templates = useLoad(() => (placeId ? get(`${API}/templates${query({ place_id: placeId })}`) : Promise.resolve([])), [placeId]);
  const history = useLoad(
    () => (placeId ? get(`${API}/places/${placeId}/generations${query({ cursor: cursors[page], limit: HISTORY_PAGE })}`) : Promise.resolve(null)),
    [placeId, page],
  );
  const [generating, setGenerating] = useState(false);
  const [details, setDetails] = useState(null);
  const [checking, setChecking] = useState(null); // {generation, check}
  const [error, setError] = useState(null);
  const items = history.data?.items || [];
  // Status moves without a reload: poll while any generation shown is still on its way.
  usePoll(history.reload, 1500, items.some((g) => MOVING.has(g.status)));
  if (!placeId) {
    return html`<section class="card"><p>${t("posm.no_place")}</p><button class="primary" onClick=${onPickPlace}>${t("posm.tab_places")}</button></section>`;
  }
  const templateName = (id) => (templates.data || []).find((tpl) => tpl.id === id)?.name || `#${id}`;
  const downloadArchive = async (generation, confirmed = false) => {
    setError(null);
    try {
      if (!confirmed) {
        const check = await get(`${API}/places/${placeId}/generations/${generation.id}/check`);
        if (!check.ok) {
          setChecking({ generation, check });
          return;
        }
      }
      setChecking(null);
      await download(`${API}/places/${placeId}/generations/${generation.id}/archive`, `posm-v${generation.version}.zip`);
    } catch (e) {
      setError(e);
    }
  };
  const nextPage = (next) => {
    if (next > page && history.data?.next_cursor) setCursors([...cursors.slice(0, next), history.data.next_cursor]);
    setPage(next);
  };
  return html`<section class="card">
    <h2>${t("posm.generations_of", { name: place.data?.name || placeId })}
      <button class="primary" data-testid="open-generate" onClick=${() => setGenerating(true)}>${t("posm.generate")}</button>
      <button class="ghost small" onClick=${history.reload}>${t("common.refresh")}</button></h2>
    <${ErrorBox} error=${place.error || history.error || error} />
    ${history.loading && !history.data ? html`<${Spinner} />` : null}
    ${history.data && !items.length ? html`<p class="muted">${t("posm.no_generations")}</p>` : null}
    ${items.length ? html`<div class="table-wrap"><table data-testid="generations">
      <thead><tr><th>${t("posm.version")}</th><th>${t("posm.template")}</th><th>${t("common.created_at")}</th><th>${t("posm.author")}</th>
        <th>${t("common.status")}</th><th>${t("posm.tables_short")}</th><th></th></tr></thead>
      <tbody>${items.map((g) => html`<tr key=${g.id} data-generation=${g.id} data-status=${g.status}>
        <td>v${g.version}</td><td>${templateName(g.template_id)}</td><td>${formatDate(g.created_at)}</td><td>${g.author}</td>
        <td><${StatusBadge} status=${g.status} />${g.status === "error" && g.comment ? html`<div class="error-reason small">${g.comment}</div>` : null}</td>
        <td>${MOVING.has(g.status) && g.tables ? html`<${Progress} value=${g.rendered} max=${g.tables} label=${"v" + g.version} />` : `${g.rendered}/${g.tables}`}</td>
        <td class="nowrap">
          <button class="small" onClick=${() => setDetails(g)}>${t("posm.details")}</button>
          ${g.status === "done" ? html`<button class="small primary" onClick=${() => downloadArchive(g)}>${t("posm.download")}</button>` : null}
        </td></tr>`)}</tbody>
    </table></div>` : null}
    <${Pager} page=${page} hasNext=${Boolean(history.data?.next_cursor)} onPage=${nextPage} />
    ${generating ? html`<${GenerateDialog} placeId=${placeId} templates=${templates.data || []} templatesError=${templates.error}
      onClose=${() => setGenerating(false)} onCreated=${() => { setGenerating(false); setPage(0); setCursors([null]); history.reload(); }} />` : null}
    ${details ? html`<${GenerationDetails} placeId=${placeId} generation=${details} templateName=${templateName(details.template_id)} onClose=${() => setDetails(null)} />` : null}
    ${checking ? html`<${Confirm} title=${t("posm.tables_changed")} yes=${t("posm.download_anyway")}
        onYes=${() => downloadArchive(checking.generation, true)} onNo=${() => setChecking(null)}>
        <div data-testid="archive-check">
          <p>${t("posm.tables_changed_text", { version: checking.generation.version })}</p>
          ${checking.check.added_tables.length ? html`<p><strong>${t("posm.added_tables")}:</strong> ${checking.check.added_tables.map((x) => x.label).join(", ")}</p>` : null}
          ${checking.check.removed_tables.length ? html`<p><strong>${t("posm.removed_tables")}:</strong> ${checking.check.removed_tables.map((x) => x.label).join(", ")}</p>` : null}
        </div>
      <//>` : null}
  </section>`;
}

function GenerateDialog({ placeId, templates, templatesError, onClose, onCreated }) {
  // One idempotency key per opened dialog: a double click (or a retry) makes one generation.
  const [key] = useState(uuid4);
  const [templateId, setTemplateId] = useState(templates[0]?.id || "");
  const template = templates.find((tpl) => tpl.id === Number(templateId));
  const [settings, setSettings] = useState(template?.settings || null);
  const [busy, setBusy] = useState(false);
  const [errors, fail, clear] = useErrors();
  const pick = (id) => {
    setTemplateId(id);
    setSettings(templates.find((tpl) => tpl.id === Number(id))?.settings || null);
  };
  const submit = async (event) => {
    event.preventDefault();
    clear();
    setBusy(true);
    try {
      await call("POST", `${API}/places/${placeId}/generations`, {
        json: { template_id: Number(templateId), settings },
        headers: { "Idempotency-Key": key },
      });
      onCreated();
    } catch (error) {
      fail(error, ["template_id", ...SETTINGS_FIELDS]);
      setBusy(false);
    }
  };
  return html`<${Modal} title=${t("posm.generate_title")} onClose=${onClose} wide>
    <form onSubmit=${submit} data-testid="generate-dialog">
      <${ErrorBox} error=${templatesError} />
      ${templates.length ? null : html`<p class="alert error">${t("posm.no_templates_for_place")}</p>`}
      <${Field} label=${t("posm.template")} name="template_id" errors=${errors}>
        <select name="template_id" value=${templateId} onChange=${(e) => pick(e.target.value)}>
          ${templates.map((tpl) => html`<option value=${tpl.id}>${tpl.name}</option>`)}
        </select>
      <//>
      ${settings ? html`<div class="split">
        <${SettingsForm} settings=${settings} onChange=${setSettings} errors=${errors} />
        <${TemplatePreview} settings=${settings} pageSizes=${template.page_sizes} templateId=${template.id} />
      </div>` : null}
      <${FormError} errors=${errors} />
      <div class="actions">
        <button class="primary" disabled=${!templateId} data-testid="generate">${busy ? t("common.working") : t("posm.generate")}</button>
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
      </div>
    </form>
  <//>`;
}

function GenerationDetails({ placeId, generation, templateName, onClose }) {
  const detail = useLoad(() => get(`${API}/places/${placeId}/generations/${generation.id}`), [generation.id]);
  const [preview, setPreview] = useState(null); // {label, url}
  const [error, setError] = useState(null);
  const { rows, pager } = usePage(detail.data?.tables || [], 10);
  const show = async (table) => {
    setError(null);
    try {
      if (preview) URL.revokeObjectURL(preview.url);
      setPreview({ label: table.label, url: await objectUrl(`${API}/places/${placeId}/generations/${generation.id}/tables/${table.id}.pdf`) });
    } catch (e) {
      setError(e);
    }
  };
  const d = detail.data;
  return html`<${Modal} title=${t("posm.generation_title", { version: generation.version })} onClose=${onClose} wide>
    <${ErrorBox} error=${detail.error || error} />
    ${d ? html`<div class="split">
      <div>
        <dl class="kv small">
          <dt>${t("posm.template")}</dt><dd>${templateName}</dd>
          <dt>${t("common.status")}</dt><dd><${StatusBadge} status=${d.status} /></dd>
          <dt>${t("posm.author")}</dt><dd>${d.author}</dd>
          <dt>${t("common.created_at")}</dt><dd>${formatDate(d.created_at)}</dd>
          ${d.comment ? html`<dt>${t("posm.comment")}</dt><dd class=${d.status === "error" ? "error-reason" : ""}>${d.comment}</dd>` : null}
        </dl>
        <h3>${t("posm.settings")}</h3>
        <${SettingsList} settings=${d.settings} />
        <h3>${t("posm.tables", { count: d.tables.length })}</h3>
        <table><tbody>${rows.map((table) => html`<tr key=${table.id}><td>${table.label}</td><td class="nowrap">
          ${table.rendered ? html`<button class="small" onClick=${() => show(table)}>${t("posm.preview")}</button>
            <button class="small" onClick=${() => download(`${API}/places/${placeId}/generations/${generation.id}/tables/${table.id}.pdf`, `${table.label}.pdf`)}>PDF</button>` : html`<span class="muted small">${t("posm.not_rendered")}</span>`}
          <button class="small ghost" onClick=${() => download(`${API}/tables/${table.id}/qr.svg`, `qr-${table.label}.svg`)}>QR</button>
        </td></tr>`)}</tbody></table>
        ${pager}
      </div>
      <div>${preview ? html`<p class="muted small">${preview.label}</p><iframe class="preview pdf" src=${preview.url} title=${preview.label}></iframe>` : html`<p class="muted">${t("posm.preview_hint")}</p>`}</div>
    </div>` : html`<${Spinner} />`}
  <//>`;
}
