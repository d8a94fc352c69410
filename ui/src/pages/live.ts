// Live: the calls waiting for a decision (approve or deny, two steps where the daemon asks for
// them), and a feed of calls as they are recorded.

import { api, ApiError, type DecideAnswer, type HistoryEvent, type Pending } from "../api";
import { armConfirm, badge, codeSpans, empty, errorBox, h, loading, seconds, time } from "../dom";
import type { Page } from "../main";
import { pauseCard } from "../pause";
import { protectSection } from "../protect";

interface Card {
  el: HTMLElement;
  deadline: number;
  countdown: HTMLElement;
}

const SCOPES: [string, string][] = [
  ["once", "This call only"],
  ["session", "Identical calls this session"],
  ["hour", "Identical calls for an hour"],
  ["always", "Identical calls from now on (adds a rule)"],
];

export const livePage: Page = (root, ctx) => {
  const pendingList = h("div", { class: "stack", id: "pending", "aria-live": "polite" }, loading("pending calls"));
  const feed = h("ol", { class: "feed", id: "feed", "aria-live": "off" });
  const feedEmpty = empty("No calls yet", "Calls through `mcpfw wrap` appear here as they are decided.");
  const protection = pauseCard();
  root.append(
    protectSection(),
    h("section", { "aria-labelledby": "pending-title" }, h("h2", { id: "pending-title" }, "Waiting for you"), pendingList),
    h("section", { "aria-labelledby": "feed-title" }, h("h2", { id: "feed-title" }, "Recent calls"), feedEmpty, feed),
    protection.el,
  );

  const cards = new Map<number, Card>();
  let loaded = false;

  async function refresh(): Promise<void> {
    let calls: Pending[];
    try {
      calls = await api<Pending[]>("GET", "/api/v1/pending");
    } catch (e) {
      pendingList.replaceChildren(errorBox(e, () => void refresh()));
      cards.clear();
      loaded = false;
      return;
    }
    if (!loaded) pendingList.replaceChildren();
    loaded = true;
    const now = Date.now();
    const ids = new Set(calls.map((c) => c.id));
    for (const [id, card] of cards) {
      if (!ids.has(id)) {
        card.el.remove();
        cards.delete(id);
      }
    }
    for (const call of calls) {
      const known = cards.get(call.id);
      if (known) {
        known.deadline = now + call.expires_in_ms;
        continue;
      }
      const card = pendingCard(call, now + call.expires_in_ms, () => void refresh());
      cards.set(call.id, card);
      pendingList.append(card.el);
    }
    pendingList.querySelector(".empty")?.remove();
    if (cards.size === 0) {
      pendingList.append(empty("Nothing is waiting", "Calls that need your approval appear here the moment they are made."));
    }
    tick();
  }

  function tick(): void {
    const now = Date.now();
    for (const card of cards.values()) {
      card.countdown.textContent = `refused in ${seconds(card.deadline - now)} unless you decide`;
    }
  }

  function addToFeed(event: HistoryEvent, prepend: boolean): void {
    feedEmpty.remove();
    const item = h(
      "li",
      { class: "feed-item" },
      h("time", { datetime: event.ts }, time(event.ts)),
      badge(event.verdict),
      h("span", { class: "feed-what" }, `${event.server} · ${event.tool ?? event.method ?? event.kind}`),
      event.kind === "approval" && event.decided_by === "paused" ? badge("ran while paused", "ask") : null,
      event.kind === "approval" && event.decided_by !== "paused" ? badge("your decision", "user") : null,
      h("span", { class: "feed-reason muted" }, ...codeSpans(event.reason ?? "")),
    );
    if (prepend) feed.prepend(item);
    else feed.append(item);
    while (feed.children.length > 50) feed.lastElementChild?.remove();
  }

  void refresh();
  void api<HistoryEvent[]>("GET", "/api/v1/history?limit=20")
    .then((events) => events.forEach((e) => addToFeed(e, false)))
    .catch(() => undefined);
  ctx.onEvent((event) => {
    if (event.event === "call") addToFeed(event.call as HistoryEvent, true);
    else void refresh();
  });
  const timer = setInterval(tick, 500);
  return () => {
    clearInterval(timer);
    protection.leave();
  };
};

function pendingCard(call: Pending, deadline: number, changed: () => void): Card {
  const r = call.request;
  const countdown = h("span", { class: "countdown", role: "timer" });
  const status = h("div", { class: "decide-status", role: "status", "aria-live": "assertive" });
  const scope = h(
    "select",
    { "aria-label": "How long this decision (approve or deny) holds", name: "scope" },
    ...SCOPES.map(([value, label]) => h("option", { value }, label)),
  );
  const approve = h("button", { type: "button", class: "primary", "data-action": "approve" }, r.confirm ? "Approve (step 1 of 2)" : "Approve");
  const deny = h("button", { type: "button", class: "danger", "data-action": "deny" }, "Deny");
  const denyAlways = h("button", { type: "button", class: "danger subtle", "data-action": "deny-always" }, "Deny always");
  const controls = h("div", { class: "decide" }, scope, approve, deny, denyAlways);

  async function decide(allow: boolean, scopeValue: string, confirm: boolean): Promise<DecideAnswer | null> {
    status.replaceChildren();
    try {
      return await api<DecideAnswer>("POST", `/api/v1/pending/${call.id}/decide`, { allow, scope: scopeValue, confirm });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        status.replaceChildren(h("p", {}, "This call is no longer waiting (decided elsewhere, withdrawn or timed out)."));
        changed();
      } else {
        status.replaceChildren(errorBox(e));
      }
      return null;
    }
  }

  approve.addEventListener("click", async () => {
    approve.disabled = true;
    const answer = await decide(true, scope.value, false);
    if (!answer) {
      approve.disabled = false;
      return;
    }
    if (answer.status === "done") {
      status.replaceChildren(h("p", {}, "Approved."));
      changed();
      return;
    }
    // Two steps: restate the fact, and arm a separate Confirm button after the delay.
    const armedAt = Date.now() + answer.armed_in_ms;
    const confirm = h("button", { type: "button", class: "primary", "data-action": "confirm", disabled: true }, "Confirm");
    const wait = h("span", { class: "countdown", role: "timer" });
    const step2 = h(
      "div",
      { class: "confirm-step" },
      h("p", {}, h("strong", {}, "Step 2 of 2: "), answer.fact),
      h("div", { class: "decide" }, confirm, wait),
    );
    controls.replaceWith(step2);
    armConfirm(confirm, wait, armedAt);
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      const done = await decide(true, scope.value, true);
      if (done?.status === "done") {
        status.replaceChildren(h("p", {}, "Confirmed: the call runs now."));
        changed();
      } else {
        confirm.disabled = false;
      }
    });
  });
  deny.addEventListener("click", async () => {
    if (await decide(false, scope.value, false)) changed();
  });
  denyAlways.addEventListener("click", async () => {
    if (await decide(false, "always", false)) changed();
  });

  const el = h(
    "article",
    { class: "card pending", "data-id": call.id, "aria-label": `${r.server} ${r.tool}` },
    h(
      "header",
      { class: "card-head" },
      h("strong", {}, `${r.server} · ${r.tool}`),
      badge(r.category),
      call.callers > 1 ? h("span", { class: "muted" }, `${call.callers} identical calls wait`) : null,
      countdown,
    ),
    h("p", { class: "reason" }, ...codeSpans(r.reason)),
    r.preview.length ? h("pre", { class: "preview", "aria-label": "What the call would do" }, r.preview.join("\n")) : null,
    r.confirm ? h("p", { class: "two-step" }, h("strong", {}, "Two steps: "), r.confirm) : null,
    r.arguments ? h("details", {}, h("summary", {}, "Arguments (secrets redacted)"), h("pre", {}, r.arguments)) : null,
    controls,
    status,
  );
  return { el, deadline, countdown };
}
