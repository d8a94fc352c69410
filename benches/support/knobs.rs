//! The environment every bench reads: `MCPFW_BENCH_QUICK=1` (smaller sizes),
//! `MCPFW_BENCH_ENFORCE=1` (exit 1 when a target is missed), `MCPFW_BENCH_SLACK=<factor>`.

/// Whether `name` is set to `1`.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// `MCPFW_BENCH_SLACK`, a positive factor (default 1).
pub fn slack() -> f64 {
    std::env::var("MCPFW_BENCH_SLACK")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(1.0)
}
