//! The tool gate: which tools are kept from the client and why — changed since their pin,
//! blocked by the person, withheld by the package check, or blocked by the detector — and the
//! refusal of a call to one of them (or to a tool the server never offered). It sits before the
//! policy: a withheld tool is refused whatever a rule says.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::finding::Finding;

use crate::record::{Recorder, Trust};
use crate::session::{Direction, Inspection};

use super::effects::Effect;

#[derive(Default)]
pub(super) struct ToolGate {
    /// Tools withheld from the client: name → why.
    withheld: Mutex<HashMap<String, Withheld>>,
    /// Withheld tools (tool, reason) the person has been told of through the daemon.
    notified: Mutex<HashSet<(String, String)>>,
}

/// A tool kept from the client.
#[derive(Debug, Clone)]
struct Withheld {
    /// Its definition as listed.
    definition: String,
    /// Why, as the client is told when it calls the tool anyway.
    reason: String,
    /// Withheld because it differs from its pin: trusting it (`mcpfw tools trust`) releases it,
    /// which a call checks again. Otherwise the detector blocked it: only a new list can.
    pin: bool,
}

impl ToolGate {
    /// Why a client's call is refused before any rule is consulted: the tool is withheld
    /// (unless trusted since, which is checked again now), or the server never offered it.
    pub fn refusal(
        &self,
        server: &str,
        recorder: &dyn Recorder,
        inspection: &Inspection,
    ) -> Option<String> {
        if inspection.method.as_deref() != Some("tools/call")
            || inspection.direction != Direction::ClientToServer
        {
            return None;
        }
        self.withheld_call(server, recorder, inspection).or_else(|| unoffered_call(inspection))
    }

    fn withheld_call(
        &self,
        server: &str,
        recorder: &dyn Recorder,
        inspection: &Inspection,
    ) -> Option<String> {
        let tool = inspection.tool.as_ref()?;
        let withheld =
            self.withheld.lock().unwrap_or_else(|p| p.into_inner()).get(tool).cloned()?;
        if !withheld.pin {
            return Some(withheld.reason);
        }
        let listed = [(tool.clone(), withheld.definition)];
        if self.vet(server, recorder, &listed, &mut Vec::new()).is_empty() {
            return None;
        }
        Some(withheld.reason)
    }

    /// Checks listed tools against their pins; returns the tools to withhold from the client,
    /// each with a finding (JSON) that says why. When the pins cannot be checked, every tool
    /// is withheld: an unchecked tool could be a changed one.
    pub fn vet(
        &self,
        server: &str,
        recorder: &dyn Recorder,
        tools: &[(String, String)],
        flagged: &mut Vec<Finding>,
    ) -> Vec<(String, Finding)> {
        let checked = match recorder.check_tools(server, tools) {
            None => return Vec::new(),
            Some(Ok(trust)) if trust.len() == tools.len() => Ok(trust),
            Some(Ok(_)) => Err("the pin check answered for the wrong number of tools".to_owned()),
            Some(Err(e)) => Err(e.to_string()),
        };
        let mut withheld = self.withheld.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (i, (name, definition)) in tools.iter().enumerate() {
            let (reason, finding) = match &checked {
                Ok(trust) => match &trust[i] {
                    Trust::New | Trust::Pinned => {
                        withheld.remove(name);
                        continue;
                    }
                    Trust::Renamed { from } => {
                        withheld.remove(name);
                        flagged.push(Finding::renamed_tool(name, from));
                        continue;
                    }
                    Trust::Changed { pinned_digest, digest } => (
                        format!(
                            "MCP Firewall withholds tool `{name}`: its definition changed since it was first trusted (pinned {}, now {}). Review the change with `mcpfw tools diff {server} {name}`, then `mcpfw tools trust {server} {name}` or `mcpfw tools block {server} {name}`.",
                            short(pinned_digest),
                            short(digest)
                        ),
                        Finding::tool_changed(name, pinned_digest, digest),
                    ),
                    Trust::Blocked { digest } => (
                        format!(
                            "MCP Firewall withholds tool `{name}`: you kept its changed definition ({}) blocked (`mcpfw tools`)",
                            short(digest)
                        ),
                        Finding::tool_blocked(name, digest),
                    ),
                    Trust::Withheld { reason, finding } => (reason.clone(), (**finding).clone()),
                },
                Err(e) => (
                    format!(
                        "MCP Firewall withholds tool `{name}`: its definition could not be checked against the one you trusted ({e})"
                    ),
                    Finding::pin_check_failed(name),
                ),
            };
            withheld.insert(
                name.clone(),
                Withheld { definition: definition.clone(), reason, pin: true },
            );
            out.push((name.clone(), finding));
        }
        out
    }

    /// Takes in the detector's verdicts on a listed tool: a blocked tool is withheld (and added
    /// to `names`); one that passes now is released if only the detector held it.
    pub fn detected(
        &self,
        verdict: &crate::screen::ToolVerdict,
        definition: &str,
        names: &mut Vec<String>,
    ) {
        let mut withheld = self.withheld.lock().unwrap_or_else(|p| p.into_inner());
        match &verdict.blocked {
            Some(reason) => {
                if !names.contains(&verdict.name) {
                    names.push(verdict.name.clone());
                }
                withheld.insert(
                    verdict.name.clone(),
                    Withheld {
                        definition: definition.to_owned(),
                        reason: reason.clone(),
                        pin: false,
                    },
                );
            }
            None => {
                if withheld.get(&verdict.name).is_some_and(|w| !w.pin) {
                    withheld.remove(&verdict.name);
                }
            }
        }
    }

    /// Notices for the person about the tools in `names` not told of before, with this reason.
    pub fn notices(
        &self,
        socket: &std::path::Path,
        server: &str,
        names: &[String],
        effects: &mut Vec<Effect>,
    ) {
        let withheld = self.withheld.lock().unwrap_or_else(|p| p.into_inner());
        let mut notified = self.notified.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            if let Some(w) = withheld.get(name)
                && notified.insert((name.clone(), w.reason.clone()))
            {
                effects.push(Effect::Notice {
                    socket: socket.to_owned(),
                    server: server.to_owned(),
                    tool: name.clone(),
                    reason: w.reason.clone(),
                });
            }
        }
    }
}

/// The refusal of a call to a tool the server never listed (its whole list is known), which
/// the server itself would answer "tool not found": said precisely rather than asked about as
/// an unknown tool, so a typo reads as one.
fn unoffered_call(inspection: &Inspection) -> Option<String> {
    if !inspection.unoffered {
        return None;
    }
    let tool = inspection.tool.as_ref()?;
    Some(format!(
        "this server did not offer a tool named `{}` (it is not in the server's tools/list); \
         check the tool's name",
        crate::text::visible(crate::text::floor(tool, 200))
    ))
}

/// The first 12 hex digits of a digest, for messages.
fn short(digest: &str) -> &str {
    crate::text::floor(digest, 12)
}
