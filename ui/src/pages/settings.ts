// Settings: the approval timeout, what happens when nobody can be asked, how long the history
// is kept, desktop notifications and starting at login — changed here and saved to policy.toml
// (the file's comments and layout are kept). The rest is shown as it is in effect.

import { ApiError, api, type Organisation, type Settings, type SettingsChange, type SettingsSaved } from "../api";
import { codeSpans, errorBox, h, loading } from "../dom";
import type { Page } from "../main";

/** The editable settings, in the order of the form. */
type Key = "approval_timeout_s" | "unattended" | "retention_days" | "notifications" | "autostart";

export const settingsPage: Page = (root) => {
  const body = h("div", { class: "stack" }, loading("the settings"));
  root.append(body);
  let organisation: Organisation | null = null;
  async function load(): Promise<void> {
    try {
      const [settings, org] = await Promise.all([
        api<Settings>("GET", "/api/v1/settings"),
        api<Organisation>("GET", "/api/v1/organisation").catch(() => null),
      ]);
      organisation = org;
      render(settings);
    } catch (e) {
      body.replaceChildren(errorBox(e, () => void load()));
    }
  }

  function render(s: Settings, outcome?: HTMLElement): void {
    const policyError = h("div", { class: "policy-error-slot" }, s.policy_error ? policyNotice(s.policy_error, s.policy_path) : null);
    const form = settingsForm(s, policyError, (saved, message) => render(saved, message));
    const row = (label: string, value: unknown) => [h("dt", {}, label), h("dd", {}, value === null || value === undefined ? "—" : String(value))];
    body.replaceChildren(
      policyError,
      form,
      outcome ?? "",
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Defaults per category"),
        h("dl", {}, ...Object.entries(s.defaults ?? {}).flatMap(([k, v]) => row(k, v))),
        h("dl", {}, ...row("Infer roots from arguments", s.infer_roots ? "yes" : "no")),
        h("p", { class: "muted" }, ...codeSpans("Change these under `[defaults]` and `[settings]` in policy.toml; `mcpfw policy check` validates the file.")),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Files"),
        h("dl", {}, ...row("policy.toml", s.policy_path), ...row("History", s.history_path), ...row("Dashboard files", s.ui_dir), ...row("Version", s.version)),
      ),
      organisation ? organisationCard(organisation, row) : "",
    );
  }
  void load();
};

/** The organisation policy in force: its version, source, key and validity, and the last error. */
function organisationCard(o: Organisation, row: (label: string, value: unknown) => HTMLElement[]): HTMLElement {
  const summary = !o.configured
    ? codeSpans("None configured (`[organisation]` in policy.toml).")
    : o.version === null
      ? ["Configured, but none is in force yet."]
      : [`Version ${o.version} is in force${o.expired ? " (expired: kept until a newer one is fetched)" : ""}.`];
  return h(
    "section",
    { class: "card", "data-organisation": "" },
    h("h2", {}, "Organisation policy"),
    h("p", {}, ...summary),
    o.configured
      ? h("dl", {}, ...row("Source", o.source), ...row("Key", o.key_id), ...row("Expires", o.expires), ...row("Fetched", o.fetched_at), ...row("Last error", o.last_error ?? "none"))
      : "",
    h("p", { class: "muted" }, ...codeSpans("A floor under your own rules: `mcpfw org status` shows the same, `mcpfw org refresh` fetches it now.")),
  );
}

/** policy.toml cannot be used (or written): the error with its file, line and column. */
function policyNotice(error: string, path: string): HTMLElement {
  return h(
    "div",
    { class: "notice notice-error", role: "alert", "data-policy-error": "" },
    h("strong", {}, "policy.toml has an error"),
    h("p", {}, h("code", { class: "wrap" }, error)),
    h("p", {}, "Settings cannot be saved until it is fixed (nothing is written to a file you may be editing). Fix ", h("code", { class: "wrap" }, path), " (", h("code", {}, "mcpfw policy check"), " checks it), then save again. Servers started while it is broken refuse every tool call."),
  );
}

function settingsForm(s: Settings, policyError: HTMLElement, saved: (s: SettingsSaved, message: HTMLElement) => void): HTMLElement {
  const [tMin, tMax] = s.limits?.approval_timeout_s ?? [10, 3600];
  const [rMin, rMax] = s.limits?.retention_days ?? [0, 36500];
  const timeout = h("input", { type: "number", id: "set-timeout", name: "approval_timeout_s", min: tMin, max: tMax, step: 1, inputmode: "numeric", value: s.approval_timeout_s, class: "num" });
  const unattended = h(
    "select",
    { id: "set-unattended", name: "unattended" },
    h("option", { value: "deny" }, "Refuse the call (deny)"),
    h("option", { value: "allow" }, "Let the call through (allow)"),
  );
  unattended.value = s.unattended;
  const retention = h("input", { type: "number", id: "set-retention", name: "retention_days", min: rMin, max: rMax, step: 1, inputmode: "numeric", value: s.retention_days, class: "num" });
  const notifications = h("input", { type: "checkbox", id: "set-notifications", name: "notifications" });
  notifications.checked = s.notifications;
  const autostart = h("input", { type: "checkbox", id: "set-autostart", name: "autostart" });
  autostart.checked = s.autostart === true;
  autostart.disabled = !s.autostart_available || s.autostart === null;

  const errors = new Map<Key, HTMLElement>();
  const controls: Record<Key, HTMLInputElement | HTMLSelectElement> = {
    approval_timeout_s: timeout,
    unattended,
    retention_days: retention,
    notifications,
    autostart,
  };
  const field = (key: Key, label: string, control: HTMLElement, unit: string | null, hint: (string | HTMLElement)[]) => {
    const error = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert", hidden: true });
    const hintEl = h("small", { class: "muted", id: `${control.id}-hint` }, ...hint);
    errors.set(key, error);
    control.setAttribute("aria-describedby", `${control.id}-hint ${control.id}-error`);
    return h(
      "div",
      { class: "setting", "data-setting": key },
      h("label", { for: control.id }, label),
      h("div", { class: "setting-control" }, control, unit ? h("span", { class: "unit" }, unit) : null),
      hintEl,
      error,
    );
  };
  const check = (key: Key, label: string, control: HTMLInputElement, text: string, hint: (string | HTMLElement)[]) => {
    const error = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert", hidden: true });
    errors.set(key, error);
    control.setAttribute("aria-describedby", `${control.id}-hint ${control.id}-error`);
    return h(
      "div",
      { class: "setting", "data-setting": key },
      h("span", { class: "setting-label", id: `${control.id}-label` }, label),
      h("label", { class: "setting-control check", for: control.id }, control, ` ${text}`),
      h("small", { class: "muted", id: `${control.id}-hint` }, ...hint),
      error,
    );
  };

  const timeoutHint =
    s.approval_timeout_source === "flag"
      ? codeSpans(`Set to ${s.approval_timeout_s} s for this run by \`--timeout\`; saving here replaces it (and keeps the new value in policy.toml). Applies to calls that start waiting after you save.`)
      : codeSpans(`How long a call waits for your decision before it is refused (${tMin} to ${tMax} s). Applies to calls that start waiting after you save.`);
  const notifyHint =
    s.notifications_source === "flag"
      ? codeSpans("Turned off for this run by `--no-notify`; turning them on here replaces that.")
      : ["A notification for each call that waits for you (never its arguments)."];
  const autostartHint = !s.autostart_available
    ? codeSpans("Only the desktop app can start at login; this daemon was started by `mcpfw daemon` (start it from your own service manager, or use the desktop app).")
    : s.autostart_error
      ? [`The desktop app cannot tell whether it starts at login: ${s.autostart_error}`]
      : ["The desktop app starts in the tray when you log in (the tray's “Start at login”)."];

  const save = h("button", { type: "submit", class: "primary" }, "Save settings");
  const status = h("div", { class: "save-status", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card settings-form", "aria-labelledby": "settings-title", novalidate: true },
    h("h2", { id: "settings-title" }, "Approvals, history and the app"),
    field("approval_timeout_s", "Approval timeout", timeout, "seconds", timeoutHint),
    field("unattended", "When nobody can be asked", unattended, null, codeSpans("What a call that needs approval becomes when MCP Firewall is not running. Applies to servers started after you save.")),
    field("retention_days", "History kept", retention, "days", codeSpans("0 keeps everything. Shortening it deletes older history when you save (the chain stays verifiable).")),
    check("notifications", "Desktop notifications", notifications, "Announce calls waiting for approval", notifyHint),
    check("autostart", "Start at login", autostart, "Start MCP Firewall when I log in", autostartHint),
    h("div", { class: "decide" }, save, h("span", { class: "muted" }, ...codeSpans(`Saving writes \`[settings]\` in ${s.policy_path}; its comments are kept.`))),
    status,
  );

  function clearErrors(): void {
    for (const [key, el] of errors) {
      el.hidden = true;
      el.textContent = "";
      controls[key].removeAttribute("aria-invalid");
    }
  }

  /** Only what differs from the settings shown (autostart only where it can change). */
  function changes(): SettingsChange {
    const change: SettingsChange = {};
    const number = (v: string) => (/^\s*\d+\s*$/.test(v) ? Number(v) : v);
    if (timeout.value !== String(s.approval_timeout_s)) change.approval_timeout_s = number(timeout.value);
    if (unattended.value !== s.unattended) change.unattended = unattended.value;
    if (retention.value !== String(s.retention_days)) change.retention_days = number(retention.value);
    if (notifications.checked !== s.notifications) change.notifications = notifications.checked;
    if (!autostart.disabled && autostart.checked !== (s.autostart === true)) change.autostart = autostart.checked;
    return change;
  }

  form.addEventListener("input", () => status.replaceChildren());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    const change = changes();
    if (Object.keys(change).length === 0) {
      status.replaceChildren(h("p", { class: "muted" }, "Nothing changed."));
      return;
    }
    save.disabled = true;
    save.setAttribute("aria-busy", "true");
    save.textContent = "Saving…";
    status.replaceChildren(h("p", { class: "muted" }, "Saving…"));
    try {
      const answer = await api<SettingsSaved>("PUT", "/api/v1/settings", change);
      saved(answer, savedNotice(answer));
      document.getElementById("settings-saved")?.focus();
    } catch (err) {
      save.disabled = false;
      save.removeAttribute("aria-busy");
      save.textContent = "Save settings";
      const fields = err instanceof ApiError ? (err.body.fields as Record<string, string> | undefined) : undefined;
      if (fields && Object.keys(fields).length) {
        let first: HTMLElement | null = null;
        for (const [key, message] of Object.entries(fields)) {
          const el = errors.get(key as Key);
          if (!el) continue;
          el.textContent = message;
          el.hidden = false;
          controls[key as Key].setAttribute("aria-invalid", "true");
          first ??= controls[key as Key];
        }
        status.replaceChildren(h("p", { class: "field-error" }, "Nothing was saved: correct the marked settings."));
        first?.focus();
      } else if (err instanceof ApiError && typeof err.body.policy_error === "string") {
        policyError.replaceChildren(policyNotice(err.body.policy_error, String(err.body.policy_path ?? s.policy_path)));
        status.replaceChildren(h("p", { class: "field-error" }, "Nothing was saved: policy.toml has an error (shown at the top of the page)."));
        policyError.scrollIntoView({ block: "nearest" });
      } else {
        status.replaceChildren(errorBox(err));
      }
    }
  });
  return form;
}

function savedNotice(answer: SettingsSaved): HTMLElement {
  const details: string[] = [];
  if (answer.saved.includes("approval_timeout_s")) details.push(`Calls that start waiting now wait up to ${answer.approval_timeout_s} s.`);
  if (answer.saved.includes("unattended")) details.push("Servers started from now on follow the new unattended setting.");
  if (answer.pruned) details.push(`${answer.pruned} older event${answer.pruned === 1 ? "" : "s"} removed from the history.`);
  return h(
    "div",
    { class: "notice notice-ok", role: "status", id: "settings-saved", tabindex: -1 },
    h("strong", {}, "Settings saved."),
    " ",
    details.join(" "),
  );
}
