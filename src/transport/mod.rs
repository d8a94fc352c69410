//! Transports carry bytes between a client, the pipeline and a server. Each is a sibling behind
//! the same [`crate::pipeline::Pipeline`]: `stdio` (the `mcpfw wrap` shim) here, HTTP in
//! [`crate::proxy`].

pub mod stdio;

use std::time::Duration;

use crate::pipeline::{HeldCall, Pipeline, Settled};

/// Asks the approval daemon about a held call and settles it: blocking, for a thread of its
/// own. `waiting` is called now and then while a person decides (to keep the client waiting).
/// No daemon, or none configured, settles by the unattended setting (which fails closed).
pub fn wait_for_person(
    pipeline: &Pipeline,
    held: HeldCall,
    waiting: impl FnMut(Duration),
) -> Settled {
    let answer = match pipeline.approver() {
        Some(config) => crate::approval::client::ask(
            &config.socket,
            held.request.clone(),
            &held.withdrawn,
            config.timeout + Duration::from_secs(5),
            waiting,
        ),
        None => Err(crate::approval::client::Unreachable::NotRunning("none configured".into())),
    };
    pipeline.settle(held, answer)
}
