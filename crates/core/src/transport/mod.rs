//! What every transport shares: waiting for a person on a held call. The transports
//! themselves — the stdio shim (`mcpfw wrap`) and the HTTP proxy and bridge — are siblings
//! behind the same [`crate::pipeline::Pipeline`] in the crates above this one.

use std::time::Duration;

use crate::pipeline::{HeldCall, Pipeline, Settled};

/// The progress notification sent under a waiting call's token while a person decides: clients
/// reset their request timeout on progress (the TypeScript SDK gives up after 60 s without).
pub fn waiting_progress(token: &crate::jsonrpc::Id, waited: Duration) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{},"progress":{},"message":"waiting for your approval in MCP Firewall"}}}}"#,
        token.as_raw(),
        waited.as_secs()
    )
    .into_bytes()
}

/// Asks the approval daemon about a held call and settles it: blocking, for a thread of its
/// own. `waiting` is called now and then while a person decides (to keep the client waiting).
/// No daemon, or none configured, settles by the unattended setting (which fails closed).
pub fn wait_for_person(
    pipeline: &Pipeline,
    held: HeldCall,
    waiting: impl FnMut(Duration),
) -> Settled {
    let answer = match pipeline.approver() {
        Some(config) => crate::approval::client::ask_approver(
            config,
            held.request.clone(),
            &held.withdrawn,
            waiting,
        ),
        None => Err(crate::approval::client::Unreachable::NotRunning("none configured".into())),
    };
    pipeline.settle(held, answer)
}
