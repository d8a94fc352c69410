// Settings: what is in effect, and where to change it.

import { api, type Settings } from "../api";
import { codeSpans, errorBox, h, loading } from "../dom";
import type { Page } from "../main";

export const settingsPage: Page = (root) => {
  const body = h("div", {}, loading("the settings"));
  root.append(body);
  async function load(): Promise<void> {
    try {
      const s = await api<Settings>("GET", "/api/v1/settings");
      const row = (label: string, value: unknown, hint = "") => [
        h("dt", {}, label),
        h("dd", {}, value === null || value === undefined ? "not available yet" : String(value), hint ? h("small", { class: "muted" }, ...codeSpans(` ${hint}`)) : null),
      ];
      const defaults = (s.defaults ?? {}) as Record<string, string>;
      body.replaceChildren(
        s.policy_error ? h("div", { class: "notice notice-error", role: "alert" }, h("strong", {}, "policy.toml has an error: "), String(s.policy_error)) : "",
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Approvals and history"),
          h(
            "dl",
            {},
            ...row("Approval timeout", `${s.approval_timeout_s} s`, "set with `mcpfw daemon --timeout`"),
            ...row("When nobody can be asked", s.unattended, "`[settings] unattended` in policy.toml"),
            ...row("Infer roots from arguments", s.infer_roots ? "yes" : "no", "`[settings] infer_roots`"),
            ...row("History kept", Number(s.retention_days) === 0 ? "forever" : `${s.retention_days} days`, "`[settings] retention_days`"),
            ...row("Desktop notifications", s.notifications, "in the desktop app"),
            ...row("Start at login", s.autostart, "in the desktop app"),
          ),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Defaults per category"),
          h("dl", {}, ...Object.entries(defaults).flatMap(([k, v]) => row(k, v))),
          h("p", { class: "muted" }, ...codeSpans("Change them under `[defaults]` in policy.toml; `mcpfw policy check` validates the file.")),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Files"),
          h("dl", {}, ...row("policy.toml", s.policy_path), ...row("History", s.history_path), ...row("Dashboard files", s.ui_dir), ...row("Version", s.version)),
        ),
        h("p", { class: "muted" }, "These settings are read-only here: edit policy.toml or the daemon's options, then restart the affected servers."),
      );
    } catch (e) {
      body.replaceChildren(errorBox(e, () => void load()));
    }
  }
  void load();
};
