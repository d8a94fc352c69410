// Servers & tools: every server MCP Firewall has relayed for, and the tools each described.

import { api, type ServerRow } from "../api";
import { ago, empty, errorBox, h, loading, time } from "../dom";
import type { Page } from "../main";

export const serversPage: Page = (root) => {
  const body = h("div", { class: "stack" }, loading("the servers"));
  root.append(body);
  async function load(): Promise<void> {
    try {
      const servers = await api<ServerRow[]>("GET", "/api/v1/servers");
      body.replaceChildren(
        ...(servers.length
          ? servers.map(serverCard)
          : [empty("No servers yet", "Put `mcpfw wrap --name NAME --` in front of a server's command in your MCP client's configuration.")]),
      );
    } catch (e) {
      body.replaceChildren(errorBox(e, () => void load()));
    }
  }
  void load();
};

function serverCard(s: ServerRow): HTMLElement {
  return h(
    "article",
    { class: "card", "data-server": s.name },
    h("header", { class: "card-head" }, h("h2", {}, s.name), h("span", { class: "muted" }, `last seen ${ago(s.last_seen_ms)}`)),
    s.origin ? h("p", {}, h("code", { class: "wrap" }, s.origin)) : null,
    h("p", { class: "muted" }, `first seen ${time(s.first_seen_ms)} · ${s.tools.length} tools`),
    s.tools.length
      ? h(
          "table",
          { class: "tools" },
          h("thead", {}, h("tr", {}, ...["Tool", "Description", "Definition", "Seen"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            s.tools.map((t) =>
              h(
                "tr",
                {},
                h(
                  "td",
                  {},
                  h(
                    "a",
                    { href: `#/history?${new URLSearchParams({ server: s.name, tool: t.name })}`, title: `The history of ${t.name}` },
                    h("strong", {}, t.name),
                  ),
                ),
                h("td", { class: "muted" }, t.description ?? ""),
                h(
                  "td",
                  {},
                  h("code", { title: t.sha256 ?? "" }, (t.sha256 ?? "").slice(0, 12)),
                  t.versions > 1 ? h("span", { class: "badge badge-deny" }, `changed: ${t.versions} versions`) : null,
                ),
                h("td", { class: "nowrap muted" }, ago(t.last_seen_ms)),
              ),
            ),
          ),
        )
      : null,
  );
}
