//! A server that runs without the box, on every system: its policy turns the box off, it runs
//! in a container the box cannot reach, or the system has no box (every one but Linux, for
//! now). Said loudly (stderr, the history, `mcpfw sandbox show`), never silently; under
//! `mode = "require"` the server is not started and the client is told why.

use super::{Effective, Mode, Profile, REFUSED_CODE, Report, StartRefusal};
use crate::paths::Paths;
use crate::pipeline::Pipeline;
use crate::record::Verdict;

/// Records a server started without a box: its policy says `mode = "off"`, or it runs in a
/// container the box cannot reach (`why`, from [`off_reason`]).
pub fn announce_off(pipeline: &Pipeline, paths: &Paths, profile: &Profile, why: &str) {
    tracing::warn!(server = pipeline.server(), "the server runs without MCP Firewall's box: {why}");
    warn_if_root();
    pipeline.record_containment(
        Verdict::Allow,
        format!("sandbox {}: the server runs unconfined: {why}", Mode::Off.as_str()),
    );
    let report = Report { missing: vec![format!("every protection ({why})")], ..Report::default() };
    super::save_effective(
        paths,
        &Effective { profile: profile.clone(), report, started_ms: crate::record::now_ms() },
    );
}

/// `mode = "require"` for a server the box cannot hold (it runs in a container): recorded,
/// and the refusal returned, for the transport to answer the client's first request with.
pub fn refuse_unboxable(pipeline: &Pipeline, why: &str) -> StartRefusal {
    tracing::error!(server = pipeline.server(), "{why}; `mode = \"require\"` refuses to start it");
    pipeline.record_containment(
        Verdict::Deny,
        format!("sandbox {}: refused to start the server: {why}", Mode::Require.as_str()),
    );
    pipeline.flush();
    let report = Report {
        refused: true,
        missing: vec![format!("confinement by the box ({why})")],
        ..Report::default()
    };
    client_refusal(pipeline, &report)
}

pub(super) fn warn_if_root() {
    if mcpfw_core::platform::is_root() {
        tracing::warn!(
            "MCP Firewall runs as root: a server that escapes its box would have the whole \
             machine; run it as your own user"
        );
    }
}

/// `require` refused to start the server: the error the client's first request is answered
/// with, naming what is missing.
pub fn client_refusal(pipeline: &Pipeline, report: &Report) -> StartRefusal {
    let mut reasons = report.missing.clone();
    if let Some(error) = &report.error {
        reasons.push(error.clone());
    }
    let message = if report.missing.is_empty() {
        format!(
            "MCP Firewall could not start the server `{}` in its sandbox: {}",
            pipeline.server(),
            reasons.join("; ")
        )
    } else {
        format!(
            "MCP Firewall did not start the server `{}`: its sandbox requires protections this \
             machine cannot give: {}. Set `mode = \"enforce\"` under [servers.{}.sandbox] in \
             policy.toml to run it with what is available.",
            pipeline.server(),
            reasons.join("; "),
            pipeline.server()
        )
    };
    StartRefusal {
        code: REFUSED_CODE,
        message,
        data: serde_json::json!({"source": "mcp-firewall", "missing": reasons}),
    }
}

/// Why a server runs without the box on a system that has none.
#[cfg(not(target_os = "linux"))]
pub const NO_BOX_HERE: &str = "MCP Firewall has no box on this system yet (Linux only), so the \
     server runs with all of your user's rights: nothing limits the files, network or processes \
     it can reach beyond what the firewall checks in its calls (docs/platforms.md)";

/// Before starting server `server` on a system without a box: the profile it would have had is
/// kept for `mcpfw sandbox show`, and the missing box is named on stderr and in the history
/// (`mode = "off"` says the policy turned it off); under `mode = "require"` it is refused
/// instead, and the refusal is returned for the transport to carry out.
#[cfg(not(target_os = "linux"))]
#[allow(clippy::too_many_arguments)]
pub fn without_box(
    pipeline: &Pipeline,
    paths: &Paths,
    server: &str,
    program: &std::path::Path,
    script: Option<&std::path::Path>,
    args: &[std::ffi::OsString],
    roots: &[std::path::PathBuf],
    settings: &super::SandboxSettings,
) -> Option<StartRefusal> {
    let home = std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
        .map(std::path::PathBuf::from);
    let profile = super::infer(&super::Inputs {
        server,
        program,
        script,
        args,
        roots,
        settings,
        home: home.as_deref(),
        paths,
        temp: None,
    });
    match settings.mode {
        Mode::Require => Some(refuse_unboxable(pipeline, NO_BOX_HERE)),
        Mode::Off => {
            announce_off(pipeline, paths, &profile, "sandbox off for this server (policy.toml)");
            None
        }
        Mode::Enforce => {
            announce_off(pipeline, paths, &profile, NO_BOX_HERE);
            None
        }
    }
}
