// The console's shell: sign-in, navigation between the screens (hash routes), language.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, get, session } from "./api.js";
import { html } from "./html.js";
import { LANGUAGES, getLanguage, setLanguage, t } from "./i18n.js";
import { ErrorBox, Field, useErrors } from "./ui.js";
import { SegmentsScreen } from "./screens/segments.js";
import { GoalsScreen } from "./screens/goals.js";
import { PosmScreen } from "./screens/posm.js";
import { VrsScreen } from "./screens/vrs.js";
import { MentorshipScreen } from "./screens/mentorship.js";

const SCREENS = [
  { id: "segments", component: SegmentsScreen },
  { id: "goals", component: GoalsScreen },
  { id: "posm", component: PosmScreen },
  { id: "vrs", component: VrsScreen },
  { id: "mentorship", component: MentorshipScreen },
];

function currentRoute() {
  const id = location.hash.replace(/^#\/?/, "").split("/")[0];
  return SCREENS.some((s) => s.id === id) ? id : SCREENS[0].id;
}

function App() {
  const [token, setToken] = useState(session.token);
  const [route, setRoute] = useState(currentRoute());
  const [language, setLang] = useState(getLanguage());
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => {
    const onHash = () => {
      setRoute(currentRoute());
      setMenuOpen(false);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const changeLanguage = (value) => {
    setLanguage(value);
    setLang(value);
  };
  const signOut = () => {
    session.clear();
    setToken(null);
  };
  const claims = token ? session.claims() : null;
  const Screen = SCREENS.find((s) => s.id === route).component;
  return html`<div class="shell" key=${language}>
    <header class="top">
      <a class="brand" href="#/segments">Quintet <span>${t("app.console")}</span></a>
      ${token
        ? html`<button class="ghost menu-toggle" aria-expanded=${menuOpen} onClick=${() => setMenuOpen(!menuOpen)}>☰</button>
            <nav class=${"tabs" + (menuOpen ? " open" : "")}>
              ${SCREENS.map((s) => html`<a href=${"#/" + s.id} class=${s.id === route ? "active" : ""}
                aria-current=${s.id === route ? "page" : null}>${t("nav." + s.id)}</a>`)}
            </nav>`
        : html`<span class="spacer"></span>`}
      <div class="who">
        <select aria-label=${t("app.language")} value=${language} onChange=${(e) => changeLanguage(e.target.value)}>
          ${LANGUAGES.map((l) => html`<option value=${l.id}>${l.name}</option>`)}
        </select>
        ${claims
          ? html`<span class="user" title=${claims.scope || ""}>${claims.sub}</span>
              <button class="ghost small" onClick=${signOut}>${t("app.sign_out")}</button>`
          : null}
      </div>
    </header>
    <main>
      ${token
        ? html`<h1>${t("nav." + route)}</h1><${Screen} key=${route + token} />`
        : html`<${SignIn} onSignedIn=${(value) => { session.set(value); setToken(value); }} />`}
    </main>
  </div>`;
}

function SignIn({ onSignedIn }) {
  const [dev, setDev] = useState(undefined); // undefined: asking; null: no development sign-in
  const [picked, setPicked] = useState([]);
  const [sub, setSub] = useState("developer");
  const [companies, setCompanies] = useState("1");
  const [pasted, setPasted] = useState("");
  const [errors, fail, clear] = useErrors();
  useEffect(() => {
    get("/console/api/dev-token")
      .then((offer) => {
        setDev(offer);
        setPicked(offer.scopes);
      })
      .catch(() => setDev(null));
  }, []);
  const toggle = (scope) =>
    setPicked(picked.includes(scope) ? picked.filter((s) => s !== scope) : [...picked, scope]);
  const devSignIn = async (event) => {
    event.preventDefault();
    clear();
    try {
      const ids = companies.split(/[\s,]+/).filter(Boolean).map(Number);
      const answer = await call("POST", "/console/api/dev-token", { json: { scopes: picked, sub, companies: ids } });
      onSignedIn(answer.token);
    } catch (error) {
      fail(error, ["scopes", "sub", "companies"]);
    }
  };
  const paste = (event) => {
    event.preventDefault();
    clear();
    const token = pasted.trim().replace(/^Bearer\s+/i, "");
    if (token.split(".").length !== 3) {
      fail(new ApiError(400, { message: t("signin.not_a_jwt"), details: [{ field: "token", message: t("signin.not_a_jwt") }] }), ["token"]);
      return;
    }
    onSignedIn(token);
  };
  return html`<div class="signin">
    ${dev
      ? html`<section class="card">
          <h2>${t("signin.dev_title")}</h2>
          <p class="muted">${t("signin.dev_hint")}</p>
          <form onSubmit=${devSignIn} data-testid="dev-sign-in">
            <fieldset class="scopes">
              <legend>${t("signin.scopes")}</legend>
              ${dev.scopes.map((scope) => html`<label class="check" key=${scope}>
                <input type="checkbox" name="scope" value=${scope} checked=${picked.includes(scope)}
                  onChange=${() => toggle(scope)} /> <span class="mono">${scope}</span></label>`)}
            </fieldset>
            <div class="row">
              <${Field} label=${t("signin.sub")} name="sub" errors=${errors}>
                <input name="sub" value=${sub} onInput=${(e) => setSub(e.target.value)} maxlength="128" required />
              <//>
              <${Field} label=${t("signin.companies")} name="companies" errors=${errors} hint=${t("signin.companies_hint")}>
                <input name="companies" value=${companies} onInput=${(e) => setCompanies(e.target.value)} />
              <//>
            </div>
            <${ErrorBox} error=${errors._error} placed=${errors._placed} />
            <div class="actions"><button class="primary">${t("signin.sign_in")}</button></div>
          </form>
        </section>`
      : null}
    <section class="card">
      <h2>${t("signin.paste_title")}</h2>
      <form onSubmit=${paste}>
        <${Field} label=${t("signin.token")} name="token" errors=${errors} hint=${t("signin.token_hint")}>
          <textarea name="token" rows="3" value=${pasted} onInput=${(e) => setPasted(e.target.value)}></textarea>
        <//>
        ${dev === null ? html`<${ErrorBox} error=${errors._error} placed=${errors._placed} />` : null}
        <div class="actions"><button class=${dev ? "" : "primary"}>${t("signin.use_token")}</button></div>
      </form>
    </section>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
