// Every call the dashboard makes to MCP Firewall goes through this module, so that another host
// (the desktop app) can supply its own address and authentication with `configureApi`.
//
// In a browser the page is served by `mcpfw daemon` itself: same origin, and the session cookie
// from the one-time sign-in link authenticates. Requests set `referrerPolicy: "same-origin"` so
// that the browser sends our real Origin (the page's own policy is `no-referrer`, under which a
// POST would carry `Origin: null`, which the daemon refuses).

export interface ApiConfig {
  /** The API's base URL ("" = this page's origin). */
  baseUrl: string;
  /** Extra headers on every request (e.g. `Authorization: Bearer …` in the desktop app). */
  headers: () => Record<string, string>;
  /**
   * How requests are sent. The daemon refuses foreign Origins and sends no CORS headers, so a
   * host whose pages are not served by the daemon passes a fetch that goes through it (e.g. one
   * implemented in the host's native side).
   */
  fetch: typeof fetch;
}

let config: ApiConfig = { baseUrl: "", headers: () => ({}), fetch: (input, init) => fetch(input, init) };

export function configureApi(next: Partial<ApiConfig>): void {
  config = { ...config, ...next };
}

/** Why a request failed, in terms a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly kind: "signed-out" | "unreachable" | "refused",
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const DAEMON_DOWN =
  "MCP Firewall's daemon is not running (or not reachable). Start it with `mcpfw daemon`, then reload this page.";
export const SIGNED_OUT =
  "This browser is not signed in (or the daemon restarted). Run `mcpfw dashboard` to open a fresh sign-in link.";

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await config.fetch(config.baseUrl + path, {
      method,
      credentials: "same-origin",
      referrerPolicy: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...config.headers(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("unreachable", 0, DAEMON_DOWN);
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status === 401) throw new ApiError("signed-out", 401, SIGNED_OUT);
  if (!response.ok) {
    const obj = (parsed && typeof parsed === "object" ? parsed : {}) as Record<string, unknown>;
    const message = typeof obj.error === "string" ? obj.error : `HTTP ${response.status}`;
    throw new ApiError("refused", response.status, message, obj);
  }
  return parsed as T;
}

/** Follows `GET /api/v1/events` (server-sent events) with fetch, so custom headers work too. */
export function followEvents(
  onEvent: (event: Record<string, unknown>) => void,
  onState: (state: "open" | "closed", error?: ApiError) => void,
): () => void {
  const controller = new AbortController();
  let stopped = false;
  const run = async () => {
    while (!stopped) {
      try {
        const response = await config.fetch(config.baseUrl + "/api/v1/events", {
          credentials: "same-origin",
          referrerPolicy: "same-origin",
          headers: { Accept: "text/event-stream", ...config.headers() },
          signal: controller.signal,
        });
        if (response.status === 401) {
          onState("closed", new ApiError("signed-out", 401, SIGNED_OUT));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState("open");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = "message";
            const data: string[] = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            }
            if (data.length === 0) continue;
            try {
              const parsed = JSON.parse(data.join("\n")) as Record<string, unknown>;
              onEvent(name === "lagged" ? { event: "lagged" } : parsed);
            } catch {
              /* not ours */
            }
          }
        }
      } catch {
        if (stopped) return;
      }
      onState("closed", new ApiError("unreachable", 0, DAEMON_DOWN));
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

// The shapes the API answers with.

export interface ApprovalRequest {
  server: string;
  session: string;
  tool: string;
  category: string;
  reason: string;
  arguments: string | null;
  args_digest: string | null;
  preview: string[];
  confirm: string | null;
  /** The organisation policy's version when it is what asks (asked even during a pause). */
  organisation?: number;
}

export interface Pending {
  id: number;
  request: ApprovalRequest;
  waiting_ms: number;
  expires_in_ms: number;
  callers: number;
}

export type DecideAnswer =
  | { status: "done" }
  | { status: "confirm"; fact: string; armed_in_ms: number };

// Generated from the Rust types the API serves (crates/store/src/wire.rs, crates/core's
// record and classify); `cargo test` fails when ui/src/generated/ is stale.
export type { HistoryEvent } from "./generated/HistoryEvent";
export type { Finding } from "./generated/Finding";
export type { FindingKind } from "./generated/FindingKind";
export type { Severity } from "./generated/Severity";
export type { Verdict } from "./generated/Verdict";
export type { EventKind } from "./generated/EventKind";
export type { Category } from "./generated/Category";
export type { ResultStatus } from "./generated/ResultStatus";
export type { ServerPackage } from "./generated/ServerPackage";
export type { PackageChange } from "./generated/PackageChange";
import type { ServerPackage } from "./generated/ServerPackage";

export interface Verify {
  ok: boolean;
  checked: number;
  problem: string | null;
}

export interface Stats {
  since_ms: number;
  until_ms: number;
  bucket_ms: number;
  buckets: { start_ms: number; counts: Record<string, number> }[];
}

export interface RuleSpec {
  server?: string;
  tool?: string;
  category?: string[];
  action: "allow" | "ask" | "deny";
  reason?: string;
  when?: { args?: Record<string, string>; paths_within?: string[]; hosts_in?: string[] };
  lift?: string[];
}

export interface RuleRow {
  id: string;
  db_id?: number;
  source: string;
  origin: string;
  rule: RuleSpec & { id?: string };
  created_ms: number | null;
  expires_ms: number | null;
}

export interface DryRun {
  scanned: number;
  matched: number;
  changed: number;
  complete: boolean;
  changes: { from: string; to: string; count: number }[];
  examples: { seq: number; ts_ms: number; server: string; tool: string; from: string; to: string; reason: string }[];
}

/** A server's box (containment) as it last started: what `mcpfw sandbox show` prints. */
export interface SandboxState {
  profile: { server: string; mode: "enforce" | "require" | "off"; write: string[]; deny: string[] };
  report: {
    namespaces: boolean;
    landlock_abi: number;
    seccomp: boolean;
    missing: string[];
    error?: string | null;
    refused?: boolean;
  };
  started_ms: number;
}

export interface ServerRow {
  name: string;
  origin: string | null;
  first_seen_ms: number;
  last_seen_ms: number;
  /** Null for servers never started by `mcpfw wrap` on this machine (HTTP servers). */
  sandbox: SandboxState | null;
  /** The package it runs, pinned when it first listed its tools (null: none pinned, e.g. HTTP). */
  package: ServerPackage | null;
  tools: {
    name: string;
    description: string | null;
    sha256: string | null;
    first_seen_ms: number;
    last_seen_ms: number;
    versions: number;
    pin: Pin | null;
  }[];
}

/** A tool's pin: trusted, or changed since it was trusted (withheld until reviewed), or blocked. */
export interface Pin {
  status: "trusted" | "changed" | "blocked";
  digest: string;
  pending_digest: string | null;
  changed_ms: number;
  diff: string | null;
}

/** Where a setting's value comes from: a command-line option for this run, policy.toml, or built in. */
export type SettingSource = "flag" | "policy" | "default";

/** `GET /api/v1/settings`: the settings in effect. */
/** `GET /api/v1/organisation`: the organisation policy in force (docs/teams.md). */
export interface Organisation {
  configured: boolean;
  source: string | null;
  key_id: string | null;
  version: number | null;
  issued: string | null;
  expires: string | null;
  expired: boolean;
  fetched_from: string | null;
  fetched_at: string | null;
  last_attempt: string | null;
  last_error: string | null;
  refresh_s: number | null;
}

export interface Settings {
  approval_timeout_s: number;
  approval_timeout_source: SettingSource;
  unattended: "deny" | "allow";
  infer_roots: boolean;
  retention_days: number;
  notifications: boolean;
  notifications_source: SettingSource;
  /** `null` when this daemon cannot start at login (only the desktop app can). */
  autostart: boolean | null;
  autostart_available: boolean;
  autostart_error: string | null;
  limits: { approval_timeout_s: [number, number]; retention_days: [number, number] };
  defaults: Record<string, string>;
  egress_allow_hosts: string[];
  editable: boolean;
  policy_path: string;
  policy_error: string | null;
  history_path: string;
  ui_dir: string;
  version: string;
}

/** What `PUT /api/v1/settings` takes: any of these. */
export interface SettingsChange {
  approval_timeout_s?: number | string;
  unattended?: string;
  retention_days?: number | string;
  notifications?: boolean;
  autostart?: boolean;
}

/** `PUT /api/v1/settings`'s answer: the settings now in effect. */
export interface SettingsSaved extends Settings {
  saved: string[];
  /** Events pruned at once by a new retention (null when it did not change). */
  pruned: number | null;
}

/** One MCP server entry of a client's configuration and its protection (`GET /api/v1/install`). */
export interface ClientEntry {
  client: string;
  file: string;
  server: string;
  project?: string;
  state: "wrapped" | "bridged" | "unprotected" | "changed";
  detail: string;
}

export interface InstallStatus {
  entries: ClientEntry[];
  errors: string[];
}

/** What `POST /api/v1/install` or `/uninstall` did (or, with `dry_run`, would do) per file. */
export interface InstallOutcome {
  dry_run: boolean;
  files: { client: string; file: string; notes: string[]; changed: boolean; diff: string; backup: string | null }[];
  errors: string[];
}

/** A pause of protection (see `GET /api/v1/pause`). */
export interface PauseState {
  since_ms: number;
  until_ms: number | null;
}

export interface PauseAnswer {
  paused: boolean;
  pause: PauseState | null;
}
