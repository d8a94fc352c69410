//! MCP Firewall desktop shell.
//!
//! A thin Tauri wrapper around the `mcpfw` core library. For now it only shows
//! the dashboard placeholder; later it hosts the firewall daemon in-process,
//! together with the tray icon, approval popups and the history dashboard.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Version of the core library, shown in the dashboard.
#[tauri::command]
fn app_version() -> &'static str {
    mcpfw::VERSION
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_version])
        .run(tauri::generate_context!())
        .expect("error while running the MCP Firewall desktop app");
}
