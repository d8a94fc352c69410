// The first thing the Live page shows while MCP clients on this machine have servers that do not
// run through MCP Firewall: which clients and servers, and one Protect for all of them (the change
// to each file shown first, as on the Servers page), then what to do next.

import { api, type ClientEntry, type InstallOutcome, type InstallStatus } from "./api";
import { codeSpans, errorBox, h, loading } from "./dom";

/** A client's name as people know it (the API speaks in ids: `claude-code`, `cursor`…). */
export const CLIENT_NAMES: Record<string, string> = {
  "claude-desktop": "Claude Desktop",
  "claude-code": "Claude Code",
  cursor: "Cursor",
  vscode: "VS Code",
  windsurf: "Windsurf",
  gemini: "Gemini CLI",
  codex: "Codex CLI",
  zed: "Zed",
  cline: "Cline",
  "roo-code": "Roo Code",
  "lm-studio": "LM Studio",
  continue: "Continue",
  goose: "Goose",
  junie: "JetBrains Junie",
  warp: "Warp",
};

export const clientName = (client: string): string => CLIENT_NAMES[client] ?? client;

/** "Cursor", "Cursor and Zed", "Cursor, Zed and Goose". */
function names(clients: string[]): string {
  const all = clients.map(clientName);
  return all.length <= 1 ? (all[0] ?? "") : `${all.slice(0, -1).join(", ")} and ${all[all.length - 1]}`;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** The "Protect your MCP clients" section: hidden while every configured server is protected
 *  (or none is configured) and nothing was just protected from it. */
export function protectSection(): HTMLElement {
  const body = h("div", { class: "stack" });
  const section = h(
    "section",
    { "aria-labelledby": "protect-title", id: "protect", class: "protect-first" },
    h("h2", { id: "protect-title" }, "Protect your MCP clients"),
    body,
  );
  section.hidden = true;

  /** `result`: what Protect just did; `leftAlone`: the servers it could not protect
   *  (`client\u0000server`), which are listed without offering Protect again. */
  async function load(result?: HTMLElement, leftAlone = new Set<string>()): Promise<void> {
    let status: InstallStatus;
    try {
      status = await api<InstallStatus>("GET", "/api/v1/install");
    } catch (e) {
      // The Live page works without this section; show why it is missing only if it was shown.
      if (!section.hidden) body.replaceChildren(errorBox(e, () => void load()));
      return;
    }
    const open = status.entries.filter((e) => e.state === "unprotected");
    if (open.length === 0 && !result) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    const byClient = new Map<string, ClientEntry[]>();
    for (const entry of open) byClient.set(entry.client, [...(byClient.get(entry.client) ?? []), entry]);
    const clients = [...byClient.keys()];
    const protectable = open.filter((e) => !leftAlone.has(`${e.client}\u0000${e.server}`));
    const parts: (HTMLElement | null)[] = [result ?? null];
    if (open.length) {
      parts.push(
        h(
          "p",
          { "data-unprotected": String(open.length) },
          h("strong", {}, `${plural(open.length, "server")} in ${names(clients)} ${open.length === 1 ? "runs" : "run"} without MCP Firewall.`),
          " Their calls are not checked, asked about or recorded.",
        ),
        h(
          "ul",
          { class: "protect-list" },
          ...[...byClient].map(([client, entries]) =>
            h(
              "li",
              { "data-client": client },
              h("strong", {}, clientName(client)),
              ": ",
              ...entries.flatMap((e, i) => [i ? ", " : "", h("span", { "data-server": e.server }, e.server)]),
              h("span", { class: "muted" }, " in ", h("code", { class: "wrap" }, entries[0].file)),
            ),
          ),
        ),
        protectable.length
          ? protectAll([...new Set(protectable.map((e) => e.client))], load)
          : h("p", { class: "muted", "data-left-alone": "" }, "MCP Firewall cannot change these entries for you (the reason is above); ", h("a", { href: "#/servers" }, "see them on Servers & tools"), "."),
      );
    }
    body.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  void load();
  return section;
}

/** Protect all…: the change to every file first, then one click writes them. */
function protectAll(clients: string[], reload: (result?: HTMLElement, leftAlone?: Set<string>) => Promise<void>): HTMLElement {
  const panel = h("div", { class: "install-panel", "aria-live": "polite" });
  const start = h("button", { type: "button", class: "primary", "data-action": "protect-all" }, "Protect all…");
  start.addEventListener("click", async () => {
    start.disabled = true;
    panel.replaceChildren(loading("what Protect would change"));
    try {
      const dry = await api<InstallOutcome>("POST", "/api/v1/install", { clients, dry_run: true });
      const changed = dry.files.filter((f) => f.changed);
      const cancel = h("button", { type: "button" }, "Cancel");
      cancel.addEventListener("click", () => {
        panel.replaceChildren();
        start.disabled = false;
      });
      if (changed.length === 0) {
        panel.replaceChildren(
          h(
            "div",
            { class: "notice install-preview" },
            h("p", {}, h("strong", {}, "Nothing can be protected automatically.")),
            ...dry.files.flatMap((f) => f.notes.map((n) => h("p", { class: "muted" }, ...codeSpans(n)))),
            ...dry.errors.map((e) => h("p", { class: "field-error" }, ...codeSpans(e))),
            h("div", { class: "decide" }, cancel),
          ),
        );
        return;
      }
      const apply = h("button", { type: "button", class: "primary" }, "Protect these files");
      apply.addEventListener("click", async () => {
        apply.disabled = cancel.disabled = true;
        apply.setAttribute("aria-busy", "true");
        apply.textContent = "Protecting…";
        try {
          const done = await api<InstallOutcome>("POST", "/api/v1/install", { clients, dry_run: false });
          const leftAlone = new Set<string>();
          for (const f of done.files) {
            for (const note of f.notes) {
              const server = /^(.+?): left unprotected: /.exec(note)?.[1];
              if (server) leftAlone.add(`${f.client}\u0000${server}`);
            }
          }
          await reload(result(done), leftAlone);
        } catch (err) {
          panel.replaceChildren(errorBox(err));
          start.disabled = false;
        }
      });
      panel.replaceChildren(
        h(
          "div",
          { class: "notice install-preview", "data-preview": "install" },
          h("p", {}, h("strong", {}, `${plural(changed.length, "file")} would change.`), " Nothing has been written yet; each file is backed up first."),
          ...fileChanges(dry, true),
          h("div", { class: "decide" }, apply, cancel),
        ),
      );
      apply.focus();
    } catch (err) {
      panel.replaceChildren(errorBox(err));
      start.disabled = false;
    }
  });
  return h("div", {}, h("div", { class: "decide" }, start, h("a", { href: "#/servers" }, "Choose client by client")), panel);
}

/** The change to each file a dry run would make (its notes and diff; with `byClient`, the
 *  client's name too), then the errors. */
export function fileChanges(dry: InstallOutcome, byClient: boolean): (HTMLElement | null)[] {
  return [
    ...dry.files
      .filter((f) => f.changed)
      .flatMap((f) => [
        h("p", { class: "file-head" }, byClient ? h("strong", {}, clientName(f.client), " ") : null, h("code", { class: "wrap" }, f.file)),
        f.notes.length ? h("ul", {}, ...f.notes.map((n) => h("li", {}, ...codeSpans(n)))) : null,
        h("pre", { class: "diff" }, f.diff),
      ]),
    ...dry.errors.map((e) => h("p", { class: "field-error" }, ...codeSpans(e))),
  ];
}

/** What Protect did, and what the person does next. */
function result(done: InstallOutcome): HTMLElement {
  const changed = done.files.filter((f) => f.changed);
  const clients = [...new Set(changed.map((f) => f.client))];
  const ok = done.errors.length === 0;
  return h(
    "div",
    { class: `notice ${ok ? "notice-ok" : "notice-error"}`, role: "status", "data-result": "install" },
    h("strong", {}, `Protected ${names(clients) || "nothing"}: ${plural(changed.length, "file")} changed.`),
    ...changed.map((f) =>
      h("p", {}, h("code", { class: "wrap" }, f.file), f.backup ? h("span", { class: "muted" }, " — the original is kept at ", h("code", { class: "wrap" }, f.backup)) : null),
    ),
    ...changed.flatMap((f) => f.notes.map((n) => h("p", { class: "muted", "data-note": f.client }, ...codeSpans(n)))),
    ...done.errors.map((e) => h("p", { class: "field-error" }, ...codeSpans(e))),
    clients.length
      ? h(
          "p",
          { "data-next": "restart" },
          h("strong", {}, "Next: "),
          `restart ${names(clients)} (or reload their MCP servers). From then on their calls appear below, and risky ones wait here for you. `,
          h("a", { href: "#/servers" }, "Revert"),
          " puts the files back.",
        )
      : null,
  );
}
