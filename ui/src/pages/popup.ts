// The approval window the desktop app opens for one waiting call (`#/popup/<id>`): what the call
// would do, how long the approval holds, Approve / Deny (two steps where the daemon asks for
// them), and the time left. The app closes the window when the call settles, wherever it was
// decided.
//
// The window appears on top and takes the focus while the person may be typing elsewhere, so
// nothing is decided by a stray key press or click: the focus starts on the heading (Enter does
// nothing there) and Approve only works once the window has been visible for a moment.

import { api, ApiError, type DecideAnswer, type Pending } from "../api";
import { armConfirm, badge, codeSpans, errorBox, h, loading, pretty, seconds } from "../dom";
import type { Page } from "../main";

/** How long after the window appears before Approve works. */
const APPROVE_GUARD_MS = 750;

const SCOPES: [string, string][] = [
  ["once", "This call only"],
  ["session", "Identical calls for the rest of this session"],
  ["hour", "Identical calls for an hour"],
  ["always", "Identical calls from now on (adds a rule)"],
];

const OUTCOMES: Record<string, string> = {
  allowed: "It was approved.",
  denied: "It was denied.",
  timed_out: "Nobody decided in time, so it was refused.",
  withdrawn: "The client withdrew it.",
};

export function popupId(route: string): number | null {
  const m = /^popup\/(\d+)$/.exec(route);
  return m ? Number(m[1]) : null;
}

export function popupPage(id: number): Page {
  return (root, ctx) => {
    root.append(loading("the call"));
    let settled = false;
    let timer: ReturnType<typeof setInterval> | undefined;

    const finished = (text: string) => {
      settled = true;
      if (timer) clearInterval(timer);
      root.replaceChildren(
        h("div", { class: "notice", role: "status" }, h("strong", {}, "This call is no longer waiting. "), text),
      );
    };

    ctx.onEvent((event) => {
      if (event.event === "settled" && event.id === id && !settled) {
        finished(OUTCOMES[String(event.outcome)] ?? "");
      }
    });

    void api<Pending[]>("GET", "/api/v1/pending")
      .then((calls) => {
        const call = calls.find((c) => c.id === id);
        if (!call) {
          finished("It was decided elsewhere, withdrawn or timed out.");
          return;
        }
        if (!settled) timer = draw(root, call, finished);
      })
      .catch((e) => root.replaceChildren(errorBox(e)));

    return () => {
      if (timer) clearInterval(timer);
    };
  };
}

function draw(root: HTMLElement, call: Pending, finished: (text: string) => void): ReturnType<typeof setInterval> {
  const r = call.request;
  // A server's request for input (a link or a form): let the client show it, or decline it.
  // It is decided for this request only, so there is no scope to choose.
  const input = r.category === "input";
  const shownAt = Date.now();
  const deadline = shownAt + call.expires_in_ms;
  const heading = h("h2", { id: "popup-title", tabindex: "-1" }, `${r.server} · ${r.tool}`);
  const countdown = h("p", { class: "countdown popup-countdown", role: "timer", "aria-live": "off" });
  const status = h("div", { class: "decide-status", role: "status", "aria-live": "assertive" });
  const radios = SCOPES.map(([value, label], i) =>
    h(
      "label",
      { class: "scope" },
      h("input", { type: "radio", name: "scope", value, checked: i === 0 }),
      ` ${label}`,
    ),
  );
  const scopes = h("fieldset", { class: "scopes" }, h("legend", {}, "Your decision (approve or deny) holds for"), ...radios);
  const scope = () => root.querySelector<HTMLInputElement>("input[name=scope]:checked")?.value ?? "once";
  const approve = h(
    "button",
    { type: "button", class: "primary", "data-action": "approve" },
    input ? "Let the client show it" : r.confirm ? "Approve (step 1 of 2)" : "Approve",
  );
  const deny = h("button", { type: "button", class: "danger", "data-action": "deny" }, input ? "Decline" : "Deny");
  const denyAlways = h("button", { type: "button", class: "danger subtle", "data-action": "deny-always" }, "Deny always");
  const controls = input ? h("div", { class: "decide" }, approve, deny) : h("div", { class: "decide" }, approve, deny, denyAlways);

  async function decide(allow: boolean, scopeValue: string, confirm: boolean): Promise<DecideAnswer | null> {
    status.replaceChildren();
    try {
      return await api<DecideAnswer>("POST", `/api/v1/pending/${call.id}/decide`, { allow, scope: scopeValue, confirm });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) finished("It was decided elsewhere, withdrawn or timed out.");
      else status.replaceChildren(errorBox(e));
      return null;
    }
  }

  approve.addEventListener("click", async () => {
    const early = APPROVE_GUARD_MS - (Date.now() - shownAt);
    if (early > 0) {
      status.replaceChildren(h("p", {}, "Read the call first: Approve works in a moment."));
      return;
    }
    approve.disabled = true;
    const answer = await decide(true, scope(), false);
    if (!answer) {
      approve.disabled = false;
      return;
    }
    if (answer.status === "done") {
      status.replaceChildren(h("p", {}, input ? "Passed on: your client shows it now." : "Approved: the call runs now."));
      return;
    }
    // Two steps: restate the fact; Confirm is armed only after the daemon's delay.
    const armedAt = Date.now() + answer.armed_in_ms;
    const confirm = h("button", { type: "button", class: "primary", "data-action": "confirm", disabled: true }, "Confirm");
    const wait = h("span", { class: "countdown", role: "timer" });
    const step2 = h(
      "div",
      { class: "confirm-step" },
      h("p", {}, h("strong", {}, "Step 2 of 2: "), answer.fact),
      h("div", { class: "decide" }, confirm, wait, deny),
    );
    scopes.disabled = true;
    controls.replaceWith(step2);
    step2.scrollIntoView({ block: "nearest" });
    armConfirm(confirm, wait, armedAt);
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      const done = await decide(true, scope(), true);
      if (done?.status === "done") status.replaceChildren(h("p", {}, "Confirmed: the call runs now."));
      else confirm.disabled = false;
    });
  });
  deny.addEventListener("click", async () => {
    const chosen = scope();
    const label = SCOPES.find(([value]) => value === chosen)?.[1].toLowerCase() ?? "this call only";
    if (await decide(false, chosen, false)) {
      const done = input ? "Declined: the server is told you said no." : chosen === "once" ? "Denied." : `Denied: ${label}.`;
      status.replaceChildren(h("p", {}, done));
    }
  });
  denyAlways.addEventListener("click", async () => {
    if (await decide(false, "always", false)) status.replaceChildren(h("p", {}, "Denied, now and from now on."));
  });

  root.replaceChildren(
    h(
      "article",
      { class: "card pending popup", "data-id": call.id, "aria-labelledby": "popup-title" },
      h("header", { class: "card-head" }, heading, badge(r.category)),
      countdown,
      h("p", { class: "reason" }, ...codeSpans(r.reason)),
      call.callers > 1 ? h("p", { class: "muted" }, `${call.callers} identical calls wait for this decision.`) : null,
      r.preview.length
        ? h("pre", { class: "preview", "aria-label": input ? "What the server asks" : "What the call would do" }, r.preview.join("\n"))
        : null,
      r.confirm ? h("p", { class: "two-step" }, h("strong", {}, "Two steps: "), r.confirm) : null,
      r.arguments
        ? h("section", { "aria-label": "Arguments" }, h("h3", {}, "Arguments (secrets redacted)"), h("pre", { class: "arguments" }, pretty(r.arguments)))
        : null,
      input ? null : scopes,
      controls,
      status,
    ),
  );
  heading.focus();
  const tick = () => {
    countdown.textContent = `Refused in ${seconds(deadline - Date.now())} unless you decide`;
  };
  tick();
  return setInterval(tick, 250);
}
