import { html } from "../html.js";
import { t } from "../i18n.js";

export function VrsScreen() {
  return html`<section class="card"><p class="muted">${t("common.soon")}</p></section>`;
}
