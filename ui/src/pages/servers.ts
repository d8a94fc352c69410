// Servers & tools: every server MCP Firewall has relayed for, and the tools each described.

import { api, type Pin, type ServerRow } from "../api";
import { ago, badge, empty, errorBox, h, loading, time } from "../dom";
import type { Page } from "../main";

export const serversPage: Page = (root) => {
  const body = h("div", { class: "stack" }, loading("the servers"));
  root.append(body);
  async function load(): Promise<void> {
    try {
      const servers = await api<ServerRow[]>("GET", "/api/v1/servers");
      body.replaceChildren(
        ...(servers.length
          ? servers.map((s) => serverCard(s, () => void load()))
          : [empty("No servers yet", "Put `mcpfw wrap --name NAME --` in front of a server's command in your MCP client's configuration.")]),
      );
    } catch (e) {
      body.replaceChildren(errorBox(e, () => void load()));
    }
  }
  void load();
};

/** A changed tool: the diff of its definition, and the choice to trust it or keep it withheld. */
function review(server: string, tool: string, pin: Pin, reload: () => void): HTMLElement {
  const note = h("p", { class: "muted", role: "status" });
  const decide = async (verb: "trust" | "block"): Promise<void> => {
    try {
      await api("POST", `/api/v1/servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool)}/${verb}`, {
        digest: pin.pending_digest,
      });
      reload();
    } catch (e) {
      note.replaceChildren(e instanceof Error ? e.message : String(e));
    }
  };
  return h(
    "details",
    { class: "pin-review", open: pin.status === "changed" },
    h("summary", {}, "Review the change"),
    h("pre", { class: "diff" }, pin.diff ?? ""),
    h(
      "div",
      { class: "actions" },
      h("button", { class: "primary", type: "button", onclick: () => void decide("trust") }, "Trust the new definition"),
      pin.status === "changed"
        ? h("button", { class: "danger subtle", type: "button", onclick: () => void decide("block") }, "Keep it blocked")
        : null,
    ),
    note,
  );
}

function pinCell(server: string, tool: string, pin: Pin | null, reload: () => void): (HTMLElement | null)[] {
  if (!pin) return [];
  if (pin.status === "trusted") return [badge("pinned", "allow")];
  return [
    badge(pin.status === "changed" ? "changed: withheld" : "blocked", "deny"),
    pin.pending_digest ? review(server, tool, pin, reload) : null,
  ];
}

function serverCard(s: ServerRow, reload: () => void): HTMLElement {
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
          h("thead", {}, h("tr", {}, ...["Tool", "Description", "Definition", "Trust", "Seen"].map((t) => h("th", { scope: "col" }, t)))),
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
                h("td", { "data-pin": t.pin?.status ?? "none" }, ...pinCell(s.name, t.name, t.pin, reload)),
                h("td", { class: "nowrap muted" }, ago(t.last_seen_ms)),
              ),
            ),
          ),
        )
      : null,
  );
}
