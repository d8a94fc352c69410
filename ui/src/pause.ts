// Pausing protection: the banner every page shows while protection is paused, and the controls
// to pause it (Live page) or resume it (the banner).

import { api, type PauseAnswer, type PauseState } from "./api";
import { errorBox, h } from "./dom";

let current: PauseState | null = null;
const watchers = new Set<(pause: PauseState | null) => void>();

/** How a pause reads: "for 14 more minutes" or "until you resume it". */
export function pauseLength(pause: PauseState, now = Date.now()): string {
  if (pause.until_ms === null) return "until you resume it";
  const left = Math.max(0, Math.ceil((pause.until_ms - now) / 60_000));
  return left === 1 ? "for 1 more minute" : `for ${left} more minutes`;
}

function set(pause: PauseState | null): void {
  current = pause;
  watchers.forEach((w) => w(pause));
}

/** Asks the daemon to pause (`minutes`, or `null` until resumed) or to resume (`"resume"`). */
export async function changePause(how: number | null | "resume"): Promise<void> {
  const answer =
    how === "resume"
      ? await api<PauseAnswer>("DELETE", "/api/v1/pause")
      : await api<PauseAnswer>("POST", "/api/v1/pause", how === null ? { until_resumed: true } : { minutes: how });
  set(answer.pause);
}

/** Keeps `banner` showing the pause in effect; call once. `pause` events of the live stream
 *  go to `onEvent`. */
export function followPause(banner: HTMLElement): (event: Record<string, unknown>) => void {
  const text = h("p", {});
  const status = h("div", { role: "status" });
  const resume = h("button", { type: "button", class: "primary", "data-action": "resume" }, "Resume protection");
  resume.addEventListener("click", () => {
    resume.disabled = true;
    status.replaceChildren();
    changePause("resume")
      .catch((e) => status.replaceChildren(errorBox(e)))
      .finally(() => (resume.disabled = false));
  });
  banner.replaceChildren(h("span", { class: "pause-sign", "aria-hidden": "true" }), h("div", {}, text, status), resume);
  const draw = (pause: PauseState | null) => {
    banner.hidden = pause === null;
    if (pause) {
      text.replaceChildren(
        h("strong", {}, `Protection is paused ${pauseLength(pause)}.`),
        " Calls that would ask you run without asking (each is still recorded). Refusals by your rules, guards and detectors still apply.",
      );
    }
  };
  watchers.add(draw);
  const load = () =>
    api<PauseAnswer>("GET", "/api/v1/pause")
      .then((a) => set(a.pause))
      .catch(() => undefined);
  void load();
  // The minutes left, and a pause that ended while the stream was away.
  setInterval(() => {
    if (current) draw(current);
    if (current?.until_ms && current.until_ms <= Date.now()) void load();
  }, 10_000);
  return (event) => {
    if (event.event === "pause") set((event.pause as PauseState | null) ?? null);
    else if (event.event === "lagged") void load();
  };
}

/** The Live page's card to pause protection (or to say it is paused). */
export function pauseCard(): { el: HTMLElement; leave: () => void } {
  const choice = h(
    "select",
    { "aria-label": "How long to pause", name: "pause-length" },
    h("option", { value: "15" }, "for 15 minutes"),
    h("option", { value: "60" }, "for 1 hour"),
    h("option", { value: "until" }, "until I resume"),
  );
  const pause = h("button", { type: "button", class: "danger subtle", "data-action": "pause" }, "Pause protection");
  const status = h("div", { role: "status" });
  const state = h("p", {});
  pause.addEventListener("click", () => {
    pause.disabled = true;
    status.replaceChildren();
    changePause(choice.value === "until" ? null : Number(choice.value))
      .catch((e) => status.replaceChildren(errorBox(e)))
      .finally(() => (pause.disabled = false));
  });
  const controls = h("div", { class: "decide" }, choice, pause);
  const el = h(
    "section",
    { class: "card", "aria-labelledby": "protection-title" },
    h("h2", { id: "protection-title" }, "Protection"),
    state,
    controls,
    status,
  );
  const draw = (p: PauseState | null) => {
    controls.hidden = p !== null;
    state.replaceChildren(
      p
        ? h("strong", {}, `Paused ${pauseLength(p)}: calls that would ask you run without asking.`)
        : "On: calls that need your approval wait for you. Pausing lets them run without asking for a while (each is still recorded); refusals by rules, guards and detectors stay in force, and calls already waiting keep waiting.",
    );
  };
  draw(current);
  watchers.add(draw);
  return { el, leave: () => watchers.delete(draw) };
}
