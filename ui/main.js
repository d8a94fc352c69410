// Placeholder dashboard: shows the core version. Works inside Tauri (via the
// global `window.__TAURI__` API) and degrades gracefully in a normal browser.
"use strict";

async function showVersion() {
  const el = document.getElementById("version");
  if (!el) return;
  const invoke = window.__TAURI__?.core?.invoke;
  if (typeof invoke !== "function") {
    el.textContent = "browser preview";
    return;
  }
  try {
    const version = await invoke("app_version");
    el.textContent = `v${version}`;
  } catch (err) {
    console.error("app_version failed:", err);
    el.textContent = "version unknown";
  }
}

document.addEventListener("DOMContentLoaded", showVersion);
