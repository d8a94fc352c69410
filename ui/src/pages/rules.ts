// Rules: the rules in force, and a form that shows what a new rule would have done to the
// recorded calls before it is saved.

import { api, type DryRun, type RuleRow, type RuleSpec } from "../api";
import { badge, codeSpans, empty, errorBox, h, loading, time } from "../dom";
import type { Page } from "../main";

const CATEGORIES = ["read", "write", "delete", "network-send", "config-change", "exec", "unknown"];
const GUARDS = [
  "outside-roots", "sensitive-path", "persistence-path", "secrets", "egress", "rate", "unresolvable-path",
  "traversal", "smuggled-credential", "persistence-payload", "shell-injection",
];

export const rulesPage: Page = (root) => {
  const list = h("div", { id: "rule-list" }, loading("the rules"));
  const note = h("p", { class: "muted" }, "Database rules apply to servers started after they are added. Rules in policy.toml are edited in the file.");

  async function refresh(): Promise<void> {
    try {
      const answer = await api<{ rules: RuleRow[]; policy_error: string | null }>("GET", "/api/v1/rules");
      list.replaceChildren(
        answer.policy_error ? h("div", { class: "notice notice-error", role: "alert" }, h("strong", {}, "policy.toml has an error: "), answer.policy_error) : "",
        answer.rules.length ? ruleTable(answer.rules, refresh, (r) => editor.edit(r)) : empty("No rules yet", "The defaults apply: reads and writes inside the roots are allowed; deletes, network sends, configuration changes, commands and unknown tools ask."),
      );
    } catch (e) {
      list.replaceChildren(errorBox(e, () => void refresh()));
    }
  }

  const editor = ruleForm(refresh);
  root.append(
    h("section", { "aria-labelledby": "rules-title" }, h("h2", { id: "rules-title" }, "Rules in force"), note, list),
    h("section", { "aria-labelledby": "new-rule-title" }, editor.title, editor.form),
  );
  void refresh();
};

function describe(rule: RuleSpec): string {
  const parts = [`server ${rule.server ?? "*"}`, `tool ${rule.tool ?? "*"}`];
  if (rule.category?.length) parts.push(`category ${rule.category.join(", ")}`);
  for (const [name, re] of Object.entries(rule.when?.args ?? {})) parts.push(`${name} ~ /${re}/`);
  if (rule.when?.paths_within) parts.push(`paths within ${rule.when.paths_within.join(", ")}`);
  if (rule.when?.hosts_in) parts.push(`hosts in ${rule.when.hosts_in.join(", ")}`);
  if (rule.lift?.length) parts.push(`lifts ${rule.lift.join(", ")}`);
  return parts.join(" · ");
}

function ruleTable(rules: RuleRow[], changed: () => Promise<void>, edit: (r: RuleRow) => void): HTMLElement {
  return h(
    "table",
    { class: "rules" },
    h("thead", {}, h("tr", {}, ...["Rule", "Action", "Applies to", "Reason", "From", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      rules.map((r) => {
        const actions = h("td", {});
        if (r.db_id !== undefined) {
          const remove = h("button", { type: "button", class: "danger subtle", "aria-label": `Delete rule ${r.id}` }, "Delete");
          remove.addEventListener("click", () => {
            const yes = h("button", { type: "button", class: "danger" }, `Delete ${r.id}`);
            const no = h("button", { type: "button" }, "Keep");
            actions.replaceChildren(yes, no);
            yes.focus();
            no.addEventListener("click", () => void changed());
            yes.addEventListener("click", async () => {
              try {
                await api("DELETE", `/api/v1/rules/${r.db_id}`);
                await changed();
              } catch (e) {
                actions.replaceChildren(errorBox(e));
              }
            });
          });
          const change = h("button", { type: "button", "aria-label": `Edit rule ${r.id}` }, "Edit");
          change.addEventListener("click", () => edit(r));
          actions.append(change, " ", remove);
        }
        return h(
          "tr",
          { "data-rule": r.id },
          h("td", {}, h("code", {}, r.id)),
          h("td", {}, badge(r.rule.action)),
          h("td", {}, describe(r.rule)),
          h("td", {}, r.rule.reason ?? ""),
          h("td", { class: "muted" }, r.origin, r.created_ms ? ` · ${time(r.created_ms)}` : "", r.expires_ms ? ` · until ${time(r.expires_ms)}` : ""),
          actions,
        );
      }),
    ),
  );
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

function ruleForm(saved: () => Promise<void>): { form: HTMLElement; title: HTMLElement; edit: (r: RuleRow) => void } {
  const title = h("h2", { id: "new-rule-title", tabindex: -1 }, "New rule");
  // The database rule being edited, if any.
  let editing: number | undefined;
  const field = (label: string, control: HTMLElement, hint?: string) =>
    h("label", { class: "field" }, h("span", {}, label), control, hint ? h("small", { class: "muted" }, hint) : null);
  const action = h("select", { name: "action" }, ...["deny", "ask", "allow"].map((a) => h("option", { value: a }, a)));
  const server = h("input", { name: "server", value: "*", required: true });
  const tool = h("input", { name: "tool", value: "*", required: true });
  const categories = CATEGORIES.map((c) => h("input", { type: "checkbox", name: "category", value: c }));
  const args = h("textarea", { name: "args", rows: 2, placeholder: "path=^/tmp/" });
  const within = h("textarea", { name: "paths_within", rows: 2, placeholder: "~/scratch or @roots" });
  const hosts = h("textarea", { name: "hosts_in", rows: 2, placeholder: "*.example.com" });
  const lifts = GUARDS.map((g) => h("input", { type: "checkbox", name: "lift", value: g }));
  const reason = h("input", { name: "reason", placeholder: "shown when the rule decides" });
  const expires = h("input", { name: "expires", placeholder: "never, or 1h, 7d" });
  const result = h("div", { class: "dry-run", role: "status", "aria-live": "polite" });
  const check = h("button", { type: "submit", class: "primary" }, "Check against the history");
  const save = h("button", { type: "button", class: "primary", hidden: true }, "Save rule");
  const liftSet = h(
    "fieldset",
    { class: "checks" },
    h("legend", {}, "Lift guards (allow rules only)"),
    ...lifts.map((l) => h("label", {}, l, ` ${l.value}`)),
  );

  function spec(): RuleSpec | string {
    const rule: RuleSpec = { action: action.value as RuleSpec["action"], server: server.value.trim() || "*", tool: tool.value.trim() || "*" };
    const cats = categories.filter((c) => c.checked).map((c) => c.value);
    if (cats.length) rule.category = cats;
    const when: NonNullable<RuleSpec["when"]> = {};
    for (const line of lines(args.value)) {
      const at = line.indexOf("=");
      if (at < 1) return `"${line}" must be NAME=REGEX`;
      (when.args ??= {})[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    if (lines(within.value).length) when.paths_within = lines(within.value);
    if (lines(hosts.value).length) when.hosts_in = lines(hosts.value);
    if (Object.keys(when).length) rule.when = when;
    const lifted = lifts.filter((l) => l.checked).map((l) => l.value);
    if (lifted.length) rule.lift = lifted;
    if (reason.value.trim()) rule.reason = reason.value.trim();
    return rule;
  }

  const form = h(
    "form",
    { class: "rule-form card", "aria-label": "New rule" },
    h("div", { class: "grid" }, field("Action", action), field("Server (glob)", server), field("Tool (glob)", tool), field("Expires after", expires)),
    h("fieldset", { class: "checks" }, h("legend", {}, "Categories (none = any)"), ...categories.map((c) => h("label", {}, c, ` ${c.value}`))),
    h("div", { class: "grid" }, field("Argument conditions", args, "NAME=REGEX, one per line"), field("Every path within", within, "one folder per line"), field("Every host in", hosts, "one pattern per line")),
    liftSet,
    field("Reason", reason),
    h("div", { class: "decide" }, check, save),
    result,
  );
  form.addEventListener("input", () => {
    save.hidden = true; // the count shown no longer describes the form
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const rule = spec();
    if (typeof rule === "string") {
      result.replaceChildren(errorBox(new Error(rule)));
      return;
    }
    result.replaceChildren(loading("what this rule would have done"));
    try {
      const dry = await api<DryRun>("POST", "/api/v1/rules/dry-run", { rule });
      result.replaceChildren(dryRunReport(dry));
      save.hidden = false;
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  });
  save.addEventListener("click", async () => {
    const rule = spec();
    if (typeof rule === "string") return;
    try {
      const body = { rule, expires: expires.value.trim() || null };
      const added =
        editing === undefined
          ? await api<{ id: string }>("POST", "/api/v1/rules", body)
          : await api<{ id: string }>("PUT", `/api/v1/rules/${editing}`, body);
      const what = editing === undefined ? `Saved as ${added.id}. ` : `Saved as ${added.id} (replacing db:${editing}). `;
      result.replaceChildren(h("div", { class: "notice notice-ok", role: "status" }, h("strong", {}, what), "It applies to servers started from now on."));
      save.hidden = true;
      editing = undefined;
      title.textContent = "New rule";
      save.textContent = "Save rule";
      await saved();
    } catch (err) {
      result.replaceChildren(errorBox(err));
    }
  });
  function edit(r: RuleRow): void {
    editing = r.db_id;
    const rule = r.rule;
    action.value = rule.action;
    server.value = rule.server ?? "*";
    tool.value = rule.tool ?? "*";
    for (const c of categories) c.checked = rule.category?.includes(c.value) ?? false;
    args.value = Object.entries(rule.when?.args ?? {}).map(([k, v]) => `${k}=${v}`).join("\n");
    within.value = (rule.when?.paths_within ?? []).join("\n");
    hosts.value = (rule.when?.hosts_in ?? []).join("\n");
    for (const l of lifts) l.checked = rule.lift?.includes(l.value) ?? false;
    reason.value = rule.reason ?? "";
    expires.value = "";
    title.textContent = `Edit rule ${r.id}`;
    save.textContent = `Save changes to ${r.id}`;
    save.hidden = true;
    result.replaceChildren(h("p", { class: "muted" }, "Check the edited rule against the history, then save it. It is saved under a new number."));
    title.focus();
  }
  return { form, title, edit };
}

function dryRunReport(dry: DryRun): HTMLElement {
  const headline = `This rule would have matched ${dry.matched} of the last ${dry.scanned} tool calls${dry.complete ? "" : " (the most recent ones only)"}; ${dry.changed} would have been decided differently.`;
  return h(
    "div",
    { class: "notice", "data-matched": dry.matched },
    h("p", {}, h("strong", {}, headline)),
    dry.changes.length
      ? h("ul", {}, ...dry.changes.map((c) => h("li", {}, badge(c.from), " → ", badge(c.to), `  ${c.count} call${c.count === 1 ? "" : "s"}`)))
      : null,
    dry.examples.length
      ? h("details", {}, h("summary", {}, "Examples"), h("ul", {}, ...dry.examples.map((x) => h("li", {}, `${time(x.ts_ms)} ${x.server} · ${x.tool}: ${x.from} → ${x.to}. `, ...codeSpans(x.reason)))))
      : null,
    h("p", { class: "muted" }, "Calls are replayed with their recorded (redacted) arguments under today's policy plus this rule; roots given on a server's command line are not known here."),
  );
}
