// The dashboard: a hash router over five pages and one live event stream shared by them.

import "./style.css";
import { ApiError, configureApi, followEvents } from "./api";
import { h } from "./dom";
import { followPause } from "./pause";
import { historyPage } from "./pages/history";
import { livePage } from "./pages/live";
import { popupId, popupPage } from "./pages/popup";
import { rulesPage } from "./pages/rules";
import { serversPage } from "./pages/servers";
import { settingsPage } from "./pages/settings";

/** A page draws into `root` and returns what to do when it is left. */
export type Page = (root: HTMLElement, ctx: PageContext) => (() => void) | void;

export interface PageContext {
  /** Called for every event of `/api/v1/events` while the page is shown. */
  onEvent(listener: (event: Record<string, unknown>) => void): void;
  /** The route's parameters after `?` in the hash. */
  params: URLSearchParams;
}

const pages: Record<string, { title: string; page: Page }> = {
  live: { title: "Live", page: livePage },
  history: { title: "History", page: historyPage },
  servers: { title: "Servers & tools", page: serversPage },
  rules: { title: "Rules", page: rulesPage },
  settings: { title: "Settings", page: settingsPage },
};

const listeners = new Set<(event: Record<string, unknown>) => void>();
let leave: (() => void) | void;

function route(): void {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query = ""] = hash.split("?");
  if (leave) leave();
  listeners.clear();
  // The desktop app's approval window: one call, no navigation.
  const popup = popupId(name);
  document.body.classList.toggle("popup-mode", popup !== null);
  if (popup !== null) {
    document.title = `Approve call ${popup} — MCP Firewall`;
    const main = document.getElementById("main")!;
    const root = h("div", { class: "page", "data-page": "popup" });
    main.replaceChildren(h("h1", {}, "A call waits for your approval"), root);
    leave = popupPage(popup)(root, { onEvent: (l) => listeners.add(l), params: new URLSearchParams(query) });
    return;
  }
  const key = name && name in pages ? name : "live";
  const { title, page } = pages[key];
  document.title = `${title} — MCP Firewall`;
  for (const link of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    if (link.dataset.page === key) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const main = document.getElementById("main")!;
  const root = h("div", { class: "page", "data-page": key });
  main.replaceChildren(h("h1", {}, title), root);
  leave = page(root, { onEvent: (l) => listeners.add(l), params: new URLSearchParams(query) });
}

function connection(state: "open" | "closed", error?: ApiError): void {
  const el = document.getElementById("conn")!;
  el.className = `conn conn-${state}`;
  el.textContent =
    state === "open" ? "live" : error?.kind === "signed-out" ? "not signed in" : "daemon not reachable";
  el.title = error?.message ?? "Connected to MCP Firewall's daemon";
}

// A host other than the daemon's own page (the desktop app) can set, before this script runs,
// `window.__MCPFW_API__ = { baseUrl: "http://127.0.0.1:PORT", token: "…", fetch }` (see api.ts).
const host = (window as unknown as { __MCPFW_API__?: { baseUrl?: string; token?: string; fetch?: typeof fetch } })
  .__MCPFW_API__;
if (host) {
  configureApi({
    baseUrl: host.baseUrl ?? "",
    headers: (): Record<string, string> => (host.token ? { Authorization: `Bearer ${host.token}` } : {}),
    ...(host.fetch ? { fetch: host.fetch } : {}),
  });
}

window.addEventListener("hashchange", route);
route();
const onPauseEvent = followPause(document.getElementById("pause-banner")!);
followEvents((event) => {
  onPauseEvent(event);
  listeners.forEach((l) => l(event));
}, connection);
