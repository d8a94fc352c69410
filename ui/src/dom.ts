// A few DOM helpers: elements are built with `h`, never from HTML strings (so nothing from the
// API is ever parsed as markup), and never with inline styles (the CSP forbids them).

import { ApiError } from "./api";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

export function time(ms: number | string): string {
  const d = new Date(ms);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function ago(ms: number): string {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function seconds(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

export function badge(text: string, kind = text): HTMLElement {
  return h("span", { class: `badge badge-${kind.replace(/[^a-z-]/g, "")}` }, text);
}

/** The second step of a two-step approval: `confirm` is enabled only once `armedAt` (a
 * `Date.now()` time) has passed, with a countdown in `wait`, and then takes the focus. */
export function armConfirm(confirm: HTMLButtonElement, wait: HTMLElement, armedAt: number): void {
  const arm = setInterval(() => {
    const left = armedAt - Date.now();
    if (left > 0) {
      wait.textContent = `Confirm is available in ${seconds(left)}`;
    } else {
      clearInterval(arm);
      wait.textContent = "Check the fact above, then confirm.";
      confirm.disabled = false;
      confirm.focus();
    }
  }, 100);
}

/** An error a person can act on. */
export function errorBox(error: unknown, retry?: () => void): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const title =
    error instanceof ApiError && error.kind === "unreachable"
      ? "The daemon is not reachable"
      : error instanceof ApiError && error.kind === "signed-out"
        ? "Not signed in"
        : "Something went wrong";
  return h(
    "div",
    { class: "notice notice-error", role: "alert" },
    h("strong", {}, title),
    h("p", {}, ...codeSpans(message)),
    retry ? h("button", { type: "button", onclick: () => retry() }, "Try again") : null,
  );
}

/** Text with `backticked` parts as <code>. */
export function codeSpans(text: string): (string | HTMLElement)[] {
  return text.split(/`([^`]+)`/).map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

export function empty(title: string, detail: string): HTMLElement {
  return h("div", { class: "empty" }, h("strong", {}, title), h("p", { class: "muted" }, ...codeSpans(detail)));
}

export function loading(what: string): HTMLElement {
  return h("p", { class: "loading muted", role: "status" }, `Loading ${what}…`);
}

export function pretty(value: unknown): string {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}
