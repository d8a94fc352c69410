// History: every decision, filtered and paged newest first, with the chain's verification, a
// chart of calls over time by verdict, and the details of one event.

import { api, type Finding, type HistoryEvent, type Stats, type Verify } from "../api";
import { badge, codeSpans, empty, errorBox, h, loading, pretty, svg, time } from "../dom";
import type { Page } from "../main";

const PAGE = 50;
const VERDICTS = ["allow", "ask", "deny", "reject", "drop"];
const CATEGORIES = ["read", "write", "delete", "network-send", "config-change", "exec", "unknown"];

export const historyPage: Page = (root, ctx) => {
  const field = (label: string, control: HTMLElement) => h("label", { class: "field" }, h("span", {}, label), control);
  const server = h("input", { name: "server", placeholder: "any", autocomplete: "off" });
  const tool = h("input", { name: "tool", placeholder: "any", autocomplete: "off" });
  const select = (name: string, values: string[]) =>
    h("select", { name }, h("option", { value: "" }, "any"), ...values.map((v) => h("option", { value: v }, v)));
  const category = select("category", CATEGORIES);
  const verdict = select("verdict", VERDICTS);
  const since = h("input", { type: "datetime-local", name: "since" });
  const until = h("input", { type: "datetime-local", name: "until" });
  const text = h("input", { type: "search", name: "text", placeholder: "path, reason, method…" });
  const all = h("input", { type: "checkbox", name: "all" });
  for (const [key, input] of [["server", server], ["tool", tool], ["category", category], ["verdict", verdict], ["text", text]] as const) {
    const value = ctx.params.get(key);
    if (value) input.value = value;
  }
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter the history" },
    field("Server", server),
    field("Tool", tool),
    field("Category", category),
    field("Verdict", verdict),
    field("From", since),
    field("Until", until),
    field("Text", text),
    h("label", { class: "field check" }, all, h("span", {}, "every message")),
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "primary" }, "Apply"), h("button", { type: "reset" }, "Clear")),
  );
  const verifyBox = h("div", { class: "verify", role: "status" }, loading("the chain's verification"));
  const chart = h("figure", { class: "chart" }, loading("the chart"));
  const table = h("div", { class: "table-wrap" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of the history" });
  const detail = h("aside", { class: "detail card", id: "detail", "aria-label": "Event details", hidden: true });
  root.append(verifyBox, chart, form, h("div", { class: "history-body" }, h("div", {}, table, pager), detail));

  // The seq each shown page started before (undefined = the newest page).
  const pages: (number | undefined)[] = [undefined];

  function filters(): URLSearchParams {
    const q = new URLSearchParams();
    for (const [key, input] of [["server", server], ["tool", tool], ["category", category], ["verdict", verdict], ["text", text]] as const) {
      if (input.value.trim()) q.set(key, input.value.trim());
    }
    if (since.value) q.set("since_ms", String(new Date(since.value).getTime()));
    if (until.value) q.set("until_ms", String(new Date(until.value).getTime()));
    if (all.checked) q.set("all", "true");
    return q;
  }

  async function load(): Promise<void> {
    const q = filters();
    q.set("limit", String(PAGE));
    const before = pages[pages.length - 1];
    if (before !== undefined) q.set("before_seq", String(before));
    table.replaceChildren(loading("the history"));
    let events: HistoryEvent[];
    try {
      events = await api<HistoryEvent[]>("GET", `/api/v1/history?${q}`);
    } catch (e) {
      table.replaceChildren(errorBox(e, () => void load()));
      pager.replaceChildren();
      return;
    }
    if (events.length === 0) {
      table.replaceChildren(
        pages.length > 1
          ? empty("No older events", "This is the end of the history for these filters.")
          : empty("No events match", "Change or clear the filters; calls through `mcpfw wrap` are recorded here."),
      );
    } else {
      table.replaceChildren(eventTable(events, show));
    }
    const newer = h("button", { type: "button", disabled: pages.length === 1 }, "← Newer");
    const older = h("button", { type: "button", disabled: events.length < PAGE }, "Older →");
    newer.addEventListener("click", () => {
      pages.pop();
      void load();
    });
    older.addEventListener("click", () => {
      pages.push(events[events.length - 1].seq);
      void load();
    });
    pager.replaceChildren(newer, h("span", { class: "muted" }, `page ${pages.length}`), older);
  }

  function show(event: HistoryEvent): void {
    detail.hidden = false;
    detail.replaceChildren(...eventDetail(event, () => (detail.hidden = true)));
    detail.querySelector<HTMLElement>("h2")?.focus();
  }

  async function loadChart(): Promise<void> {
    const now = Date.now();
    const from = since.value ? new Date(since.value).getTime() : now - 24 * 3600 * 1000;
    const to = until.value ? new Date(until.value).getTime() : now;
    const bucket = Math.max(60_000, Math.ceil((to - from) / 48 / 60_000) * 60_000);
    try {
      const stats = await api<Stats>("GET", `/api/v1/stats?since_ms=${from}&until_ms=${to}&bucket_ms=${bucket}`);
      chart.replaceChildren(callsChart(stats));
    } catch (e) {
      chart.replaceChildren(errorBox(e));
    }
  }

  async function verify(): Promise<void> {
    try {
      const v = await api<Verify>("GET", "/api/v1/history/verify");
      verifyBox.className = `verify notice ${v.ok ? "notice-ok" : "notice-error"}`;
      verifyBox.replaceChildren(
        v.ok
          ? h("span", {}, h("strong", {}, "History intact: "), `${v.checked.toLocaleString()} events verified against their hash chain.`)
          : h("span", {}, h("strong", {}, "History TAMPERED: "), v.problem ?? "the hash chain does not verify", " — keep the database file to investigate."),
      );
    } catch (e) {
      verifyBox.replaceChildren(errorBox(e));
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    pages.splice(1);
    void load();
    void loadChart();
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      pages.splice(1);
      void load();
      void loadChart();
    });
  });
  void verify();
  void loadChart();
  void load();
};

function eventTable(events: HistoryEvent[], show: (e: HistoryEvent) => void): HTMLElement {
  const rows = events.map((e) => {
    const row = h(
      "tr",
      { tabindex: 0, "data-seq": e.seq, "aria-label": `Event ${e.seq}: ${e.server} ${e.tool ?? e.method ?? e.kind}, ${e.verdict}` },
      h("td", { class: "nowrap" }, h("time", { datetime: e.ts }, time(e.ts))),
      h("td", {}, e.server),
      h("td", {}, e.tool ?? e.method ?? e.kind, e.kind === "approval" ? h("span", { class: "muted" }, " (your decision)") : null),
      h("td", {}, e.category ? badge(e.category, "category") : ""),
      h("td", {}, badge(e.verdict)),
      h("td", { class: "muted reason-cell" }, e.reason ?? ""),
    );
    row.addEventListener("click", () => show(e));
    row.addEventListener("keydown", (k) => {
      if (k.key === "Enter" || k.key === " ") {
        k.preventDefault();
        show(e);
      }
    });
    return row;
  });
  return h(
    "table",
    { class: "events" },
    h("thead", {}, h("tr", {}, ...["Time", "Server", "Call", "Category", "Verdict", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows),
  );
}

function eventDetail(e: HistoryEvent, close: () => void): Node[] {
  const row = (label: string, value: unknown) =>
    value === null || value === undefined || value === "" ? null : [h("dt", {}, label), h("dd", {}, String(value))];
  return [
    h("div", { class: "detail-head" }, h("h2", { tabindex: -1 }, `Event ${e.seq}`), h("button", { type: "button", onclick: () => close(), "aria-label": "Close the details" }, "Close")),
    h(
      "dl",
      {},
      ...[
        row("Time", time(e.ts)),
        row("Server", e.server),
        row("Call", e.tool ? `tools/call ${e.tool}` : e.method ?? e.kind),
        row("Kind", `${e.kind} (${e.direction.replace(/_/g, " ")})`),
        row("Category", e.category),
        row("Verdict", e.verdict),
        row("Decided by", e.decided_by),
        row("Request id", e.id),
        row("Result", e.result_status),
        row("Latency", e.latency_us === null ? null : `${(e.latency_us / 1000).toFixed(1)} ms`),
        row("Size", `${e.bytes} bytes`),
        row("Protocol", `${e.era}${e.protocol_version ? ` ${e.protocol_version}` : ""}`),
        row("Session", e.session),
        row("Arguments digest", e.args_digest),
      ]
        .filter(Boolean)
        .flat() as Node[],
    ),
    e.reason ? h("section", {}, h("h3", {}, "Reason"), h("p", {}, ...codeSpans(e.reason))) : h("span"),
    e.findings.length
      ? h("section", {}, h("h3", {}, "Findings"), h("ul", { class: "findings" }, ...e.findings.map(finding)))
      : h("span"),
    e.arguments !== null && e.arguments !== undefined
      ? h("section", {}, h("h3", {}, "Arguments (secrets redacted)"), h("pre", { class: "args" }, pretty(e.arguments)))
      : h("span"),
    containmentGrant(e) ?? h("span"),
  ];
}

type GrantAnswer = { status: "confirm" | "added" | "present"; fact?: string; message?: string };

/** A denial by the server's box: an action that grants the path from the server's next start
 * (`POST /api/v1/servers/{server}/sandbox/grants`, what `mcpfw sandbox allow` does). Write
 * access takes two steps, as risky approvals do. Hidden locations are not offered. */
function containmentGrant(e: HistoryEvent): HTMLElement | null {
  if (e.method !== "firewall/containment-denial") return null;
  const f = e.findings.find((x) => x.kind === "containment-denial");
  const needed = typeof f?.path === "string" ? f.path : null;
  const path = typeof f?.grant === "string" ? f.grant : needed;
  const access = f?.access === "write" ? "write" : "read";
  if (!f || !path || !needed || f.why === "hidden") return null;
  const status = h("p", { role: "status", class: "muted" });
  const url = `/api/v1/servers/${encodeURIComponent(e.server)}/sandbox/grants`;
  const allow = h(
    "button",
    { type: "button", class: "primary", "data-action": "allow-path" },
    access === "write" ? "Allow this path for this server (step 1 of 2)" : "Allow this path for this server",
  );
  const section = h(
    "section",
    { class: "containment-grant" },
    h("h3", {}, "The server's box"),
    h(
      "p",
      {},
      `${e.server} needed ${access} access to `,
      h("code", {}, needed),
      path === needed ? "." : [". Allowing it grants its folder ", h("code", {}, path), " (writing creates files there)."],
    ),
    allow,
    status,
  );
  async function grant(confirm: boolean): Promise<GrantAnswer | null> {
    try {
      return await api<GrantAnswer>("POST", url, { path, access, confirm });
    } catch (err) {
      status.replaceChildren(errorBox(err));
      return null;
    }
  }
  function done(answer: GrantAnswer): void {
    status.replaceChildren(answer.message ?? "");
  }
  allow.addEventListener("click", async () => {
    allow.disabled = true;
    const answer = await grant(false);
    if (!answer) {
      allow.disabled = false;
      return;
    }
    if (answer.status !== "confirm") return done(answer);
    const confirm = h("button", { type: "button", class: "primary", "data-action": "confirm-path" }, "Confirm write access");
    status.replaceChildren(h("div", { class: "confirm-step" }, h("p", {}, h("strong", {}, answer.fact ?? "")), confirm));
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      const confirmed = await grant(true);
      if (confirmed) done(confirmed);
    });
  });
  return section;
}

/** One finding: its kind and severity, the rule, where it was found and the text that matched
 * (the detector's findings carry `rule`, `where`, `location`, `span` and `evidence`; secret and
 * pin findings carry `detail` and `pointer`). */
function finding(f: Finding): Node {
  const text = (v: string | null | undefined) => (typeof v === "string" && v !== "" ? v : null);
  const span = Array.isArray(f.span) && f.span.length === 2 ? `bytes ${f.span[0]}–${f.span[1]}` : null;
  const place = [text(f.where), text(f.location) ?? text(f.pointer), span].filter(Boolean).join(" · ");
  const evidence = text(f.evidence);
  const severity = text(f.severity);
  const rule = text(f.rule);
  const detail = text(f.detail);
  return h(
    "li",
    {},
    h("strong", {}, f.kind),
    severity ? h("span", { class: "muted" }, ` ${severity}`) : null,
    rule ? h("code", {}, ` ${rule}`) : null,
    detail ? ` ${detail}` : null,
    place ? h("div", { class: "muted" }, place) : null,
    evidence ? h("pre", { class: "evidence", title: "the text that matched" }, evidence) : null,
  );
}

const COLOURS: Record<string, string> = { allow: "v-allow", ask: "v-ask", deny: "v-deny", reject: "v-reject", drop: "v-drop" };

/** Calls per time bucket as stacked bars, one colour per verdict (plain SVG). */
function callsChart(stats: Stats): Node {
  const width = 720;
  const height = 140;
  const max = Math.max(1, ...stats.buckets.map((b) => Object.values(b.counts).reduce((a, n) => a + n, 0)));
  const bar = width / Math.max(1, stats.buckets.length);
  const total: Record<string, number> = {};
  const bars = stats.buckets.flatMap((b, i) => {
    let y = height;
    return VERDICTS.filter((v) => b.counts[v]).map((v) => {
      const n = b.counts[v];
      total[v] = (total[v] ?? 0) + n;
      const hgt = (n / max) * (height - 10);
      y -= hgt;
      const rect = svg("rect", { x: i * bar + 1, y, width: Math.max(1, bar - 2), height: hgt, class: COLOURS[v] ?? "v-drop" });
      rect.append(svg("title", {}, document.createTextNode(`${time(b.start_ms)}: ${n} ${v}`)));
      return rect;
    });
  });
  const sum = Object.values(total).reduce((a, n) => a + n, 0);
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Tool calls over time: ${sum} in this range`, preserveAspectRatio: "none" },
    svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }),
    ...bars,
  );
  const legend = h(
    "figcaption",
    {},
    `Tool calls from ${time(stats.since_ms)} to ${time(stats.until_ms)}: `,
    ...VERDICTS.filter((v) => total[v]).map((v) => h("span", { class: "legend" }, h("span", { class: `swatch ${COLOURS[v]}` }), `${v} ${total[v]}`)),
    sum === 0 ? "none." : null,
  );
  return h("div", {}, chart, legend);
}
