// Servers & tools: the MCP clients' configured servers and their protection (with Protect and
// Revert), every server MCP Firewall has relayed for, and the tools each described.

import { api, type ClientEntry, type InstallOutcome, type InstallStatus, type Pin, type ServerPackage, type ServerRow } from "../api";
import { ago, badge, codeSpans, empty, errorBox, h, loading, time } from "../dom";
import type { Page } from "../main";
import { clientName, CLIENT_NAMES, fileChanges } from "../protect";

export const serversPage: Page = (root) => {
  const body = h("div", { class: "stack" }, loading("the servers"));
  root.append(
    clientsSection(),
    h("section", { "aria-labelledby": "servers-title" }, h("h2", { id: "servers-title" }, "Servers seen"), body),
  );
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

/** The package the server runs: ecosystem, name, the spec asked for, the version that ran, whether
 * the spec pins it, its integrity; and a change waiting for review, with Trust and Keep blocked
 * (what `mcpfw tools trust|block SERVER --package` do). */
function packageBlock(server: string, p: ServerPackage | null, reload: () => void): HTMLElement | null {
  if (!p) return null;
  const short = (i: string | null) => (i ? `${i.slice(0, 23)}…` : "no integrity");
  // A file (a script, a program) has no version or spec: its hash is what is pinned.
  const file = p.ecosystem === "file";
  const line = h(
    "p",
    { class: "package-line" },
    file ? null : badge(p.pinned ? "pinned spec" : "unpinned spec", p.pinned ? "allow" : "ask"),
    file ? null : " ",
    badge(`package ${p.status}`, p.status === "trusted" ? "allow" : "deny"),
    " ",
    h("span", { class: "muted" }, `${p.ecosystem} `),
    h("code", {}, p.name),
    file ? "" : ` ${p.resolved ?? "(no version)"}`,
    h("span", { class: "muted" }, file ? " · " : ` · asked for ${p.requested ?? "no version"} · `),
    h("code", { title: p.integrity ?? "" }, short(p.integrity)),
  );
  const change = p.change;
  if (!change) return h("div", { class: "package", "data-package": p.status }, line);
  const note = h("p", { class: "muted", role: "status" });
  const decide = async (verb: "trust" | "block"): Promise<void> => {
    try {
      await api("POST", `/api/v1/servers/${encodeURIComponent(server)}/package/${verb}`, { digest: change.digest });
      reload();
    } catch (e) {
      note.replaceChildren(e instanceof Error ? e.message : String(e));
    }
  };
  return h(
    "div",
    { class: "package", "data-package": p.status },
    line,
    h(
      "div",
      { class: "notice notice-error package-change", role: "alert" },
      h(
        "p",
        {},
        h("strong", {}, p.status === "blocked" ? "Package changed — blocked. " : "Package changed — review. "),
        `It now runs ${change.name}${file ? "" : ` ${change.resolved ?? "(no version)"}`} (${short(change.integrity)}); its tools are withheld until you trust it.`,
      ),
      h("pre", { class: "diff" }, change.description),
      h(
        "div",
        { class: "actions" },
        h("button", { class: "primary", type: "button", onclick: () => void decide("trust") }, "Trust this package"),
        p.status === "changed" ? h("button", { class: "danger subtle", type: "button", onclick: () => void decide("block") }, "Keep it blocked") : null,
      ),
      note,
    ),
  );
}

/** The server's box as it last started: its mode, the mechanisms in effect, anything missing. */
function sandboxLine(s: ServerRow): HTMLElement | null {
  const box = s.sandbox;
  if (!box) return null;
  const r = box.report;
  const mechanisms = `namespaces ${r.namespaces ? "on" : "off"}, Landlock ABI ${r.landlock_abi}, seccomp ${r.seccomp ? "on" : "off"}`;
  const missing = r.missing.length ? ` · missing: ${r.missing.join("; ")}` : "";
  return h(
    "p",
    { class: "sandbox", title: `writable: ${box.profile.write.join(", ")}\nhidden: ${box.profile.deny.join(", ")}` },
    badge(`sandbox ${box.profile.mode}`, r.missing.length || box.profile.mode === "off" ? "deny" : "allow"),
    ` ${mechanisms}${missing} (since ${time(box.started_ms)}; details: mcpfw sandbox show ${s.name})`,
  );
}

function serverCard(s: ServerRow, reload: () => void): HTMLElement {
  return h(
    "article",
    { class: "card", "data-server": s.name },
    h("header", { class: "card-head" }, h("h2", {}, s.name), h("span", { class: "muted" }, `last seen ${ago(s.last_seen_ms)}`)),
    s.origin ? h("p", {}, h("code", { class: "wrap" }, s.origin)) : null,
    h("p", { class: "muted" }, `first seen ${time(s.first_seen_ms)} · ${s.tools.length} tools`),
    packageBlock(s.name, s.package, reload),
    sandboxLine(s),
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


const STATES: Record<ClientEntry["state"], string> = {
  wrapped: "protected (mcpfw wrap)",
  bridged: "protected (HTTP proxy)",
  unprotected: "unprotected",
  changed: "changed since protected",
};

/** The MCP clients on this machine: each one's servers, their protection, Protect and Revert. */
function clientsSection(): HTMLElement {
  const body = h("div", { class: "stack" }, loading("the MCP clients"));
  async function load(after?: { client: string; message: HTMLElement }): Promise<void> {
    try {
      const status = await api<InstallStatus>("GET", "/api/v1/install");
      const byClient = new Map<string, ClientEntry[]>();
      for (const entry of status.entries) byClient.set(entry.client, [...(byClient.get(entry.client) ?? []), entry]);
      // A client whose last entry was just reverted away stays visible with its result.
      if (after && !byClient.has(after.client)) byClient.set(after.client, []);
      body.replaceChildren(
        ...status.errors.map((e) => h("div", { class: "notice notice-error", role: "alert" }, h("strong", {}, "A client's file cannot be read: "), ...codeSpans(e))),
        ...(byClient.size
          ? [...byClient].map(([client, entries]) => clientCard(client, entries, load, after?.client === client ? after.message : undefined))
          : [empty("No MCP client configuration found", `MCP Firewall looks for the files of ${Object.values(CLIENT_NAMES).join(", ")}; none has any servers here.`)]),
      );
    } catch (e) {
      body.replaceChildren(errorBox(e, () => void load()));
    }
  }
  void load();
  return h(
    "section",
    { "aria-labelledby": "clients-title", id: "clients" },
    h("h2", { id: "clients-title" }, "MCP clients"),
    h("p", { class: "muted" }, ...codeSpans("Each client's servers and whether they run through MCP Firewall. Protect puts them behind it (as `mcpfw install`), Revert puts them back (as `mcpfw uninstall`); you see the change to each file before anything is written, and a backup is kept.")),
    body,
  );
}

function clientCard(
  client: string,
  entries: ClientEntry[],
  reload: (after?: { client: string; message: HTMLElement }) => Promise<void>,
  message?: HTMLElement,
): HTMLElement {
  const name = clientName(client);
  const isProtected = (e: ClientEntry) => e.state === "wrapped" || e.state === "bridged";
  const protectedCount = entries.filter(isProtected).length;
  const panel = h("div", { class: "install-panel", "aria-live": "polite" }, message ?? null);
  const protect = h("button", { type: "button", class: "primary" }, "Protect…");
  const revert = h("button", { type: "button" }, "Revert…");
  protect.setAttribute("aria-label", `Protect ${name}…`);
  revert.setAttribute("aria-label", `Revert ${name}…`);
  protect.disabled = entries.length > 0 && protectedCount === entries.length;
  revert.disabled = protectedCount === 0 && !entries.some((e) => e.state === "changed");

  async function preview(uninstall: boolean): Promise<void> {
    const verb = uninstall ? "Revert" : "Protect";
    const path = uninstall ? "/api/v1/uninstall" : "/api/v1/install";
    protect.disabled = revert.disabled = true;
    panel.replaceChildren(loading(`what ${verb.toLowerCase()} would change`));
    const restore = () => {
      protect.disabled = entries.length > 0 && protectedCount === entries.length;
      revert.disabled = protectedCount === 0 && !entries.some((e) => e.state === "changed");
    };
    try {
      const dry = await api<InstallOutcome>("POST", path, { clients: [client], dry_run: true });
      const changed = dry.files.filter((f) => f.changed);
      const cancel = h("button", { type: "button" }, "Cancel");
      cancel.addEventListener("click", () => {
        panel.replaceChildren();
        restore();
      });
      if (changed.length === 0) {
        panel.replaceChildren(
          h(
            "div",
            { class: "notice install-preview" },
            h("p", {}, h("strong", {}, `Nothing to ${verb.toLowerCase()} in ${name}.`)),
            ...dry.files.flatMap((f) => f.notes.map((n) => h("p", { class: "muted" }, ...codeSpans(n)))),
            ...dry.errors.map((e) => h("p", { class: "field-error" }, ...codeSpans(e))),
            h("div", { class: "decide" }, cancel),
          ),
        );
        return;
      }
      const apply = h("button", { type: "button", class: uninstall ? "danger" : "primary" }, uninstall ? "Revert these files" : "Protect these files");
      apply.addEventListener("click", async () => {
        apply.disabled = cancel.disabled = true;
        apply.setAttribute("aria-busy", "true");
        apply.textContent = uninstall ? "Reverting…" : "Protecting…";
        try {
          const done = await api<InstallOutcome>("POST", path, { clients: [client], dry_run: false });
          await reload({ client, message: resultNotice(name, uninstall, done) });
        } catch (err) {
          panel.replaceChildren(errorBox(err));
          restore();
        }
      });
      panel.replaceChildren(
        h(
          "div",
          { class: "notice install-preview", "data-preview": uninstall ? "uninstall" : "install" },
          h("p", {}, h("strong", {}, `${verb} ${name}: ${changed.length} file${changed.length === 1 ? "" : "s"} would change.`), " Nothing has been written yet."),
          ...fileChanges(dry, false),
          h("div", { class: "decide" }, apply, cancel),
        ),
      );
      apply.focus();
    } catch (err) {
      panel.replaceChildren(errorBox(err));
      restore();
    }
  }
  protect.addEventListener("click", () => void preview(false));
  revert.addEventListener("click", () => void preview(true));

  return h(
    "article",
    { class: "card client-card", "data-client": client },
    h(
      "header",
      { class: "card-head" },
      h("h3", {}, name),
      h("span", { class: "muted" }, `${protectedCount} of ${entries.length} server${entries.length === 1 ? "" : "s"} protected`),
    ),
    entries.length
      ? h(
          "table",
          { class: "entries" },
          h("thead", {}, h("tr", {}, ...["Server", "Protection", "Detail", "File"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            entries.map((e) =>
              h(
                "tr",
                { "data-entry": e.server, "data-state": e.state },
                h("td", {}, e.server),
                h("td", {}, badge(STATES[e.state], e.state)),
                h("td", { class: "muted" }, ...codeSpans(e.detail)),
                h("td", { class: "file" }, h("code", { class: "wrap" }, e.file), e.project ? h("span", { class: "muted" }, ` (project ${e.project})`) : null),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No servers configured."),
    h("div", { class: "decide" }, protect, revert),
    panel,
  );
}

function resultNotice(name: string, uninstall: boolean, done: InstallOutcome): HTMLElement {
  const changed = done.files.filter((f) => f.changed);
  const ok = done.errors.length === 0;
  return h(
    "div",
    { class: `notice ${ok ? "notice-ok" : "notice-error"}`, role: "status", "data-result": uninstall ? "uninstall" : "install" },
    h("strong", {}, `${uninstall ? "Reverted" : "Protected"} ${name}: ${changed.length} file${changed.length === 1 ? "" : "s"} changed.`),
    ...changed.map((f) =>
      h("p", {}, h("code", { class: "wrap" }, f.file), f.backup ? h("span", { class: "muted" }, " — the original is kept at ", h("code", { class: "wrap" }, f.backup)) : null),
    ),
    ...changed.flatMap((f) => f.notes.map((n) => h("p", { class: "muted" }, ...codeSpans(n)))),
    ...done.errors.map((e) => h("p", { class: "field-error" }, ...codeSpans(e))),
    h("p", { class: "muted" }, "Restart the client (or reload its MCP servers) for the change to take effect."),
  );
}
