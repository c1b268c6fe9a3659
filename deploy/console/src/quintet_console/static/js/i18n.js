// All text of the console, one dictionary per language. Keys are the same in every dictionary
// (the browser tests check it); `{name}` placeholders are filled by t().
import { en } from "./lang/en.js";
import { ru } from "./lang/ru.js";

export const DICTIONARIES = { en, ru };
export const LANGUAGES = [
  { id: "en", name: "English" },
  { id: "ru", name: "Русский" },
];
const KEY = "quintet.console.language";

let current = pick(localStorage.getItem(KEY) || navigator.language || "en");

function pick(value) {
  const id = String(value).slice(0, 2).toLowerCase();
  return DICTIONARIES[id] ? id : "en";
}

export function getLanguage() {
  return current;
}

export function setLanguage(id) {
  current = pick(id);
  localStorage.setItem(KEY, current);
  document.documentElement.lang = current;
}

document.documentElement.lang = current;

// `fallback` is shown for keys built from data (a status, a reason) that have no entry.
export function t(key, vars = {}, fallback) {
  const text = DICTIONARIES[current][key] ?? (fallback === undefined ? DICTIONARIES.en[key] ?? key : fallback);
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? `{${name}}` : String(vars[name])));
}
