//! Deciding one new connection: rules, allow-lists, the launch phase, what this session
//! remembers, else a person (or the unattended setting). See `docs/egress.md` for the order
//! and why.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::head::Host;
use super::{EgressSettings, TOOL};
use crate::approval::{ApprovalRequest, Outcome, Scope};
use crate::policy::engine::ConnectionRules;
use crate::policy::file::{Action, Unattended};
use crate::record::DecidedBy;

/// What a decision to allow rests on: it matters for local destinations, which only an exact
/// naming (or, for a visibly local destination, a person) can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A wildcard allow-list entry, a rule that does not name the host, the launch phase, the
    /// unattended setting, a pause.
    Broad,
    /// An allow-list entry or a rule that names this host exactly.
    Named,
    /// A person approved this host and port earlier in this session, or "always".
    Person,
    /// A person approved this connection just now (the approval is recorded on its own).
    Asked,
}

/// The decision on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    Allow { by: DecidedBy, reason: String, basis: Basis },
    Deny { by: DecidedBy, reason: String, hint: Hint },
}

/// What the refusal tells the server's user to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Add the host to an allow-list, or run the approver to be asked.
    AllowOrAsk,
    /// A rule refused it: change the rule.
    Rule,
    /// A person refused it.
    Person,
    /// A local destination: name it exactly.
    Local,
    /// The policy file is broken: fix it.
    Policy,
}

/// How long a refusal given for one connection also refuses the same host and port.
const ONCE_REFUSAL: Duration = Duration::from_secs(60);

/// What a session remembers about a host and port after a person decided.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    allow: bool,
    until: Option<Instant>,
}

/// The decision state shared by all connections of one proxy.
pub struct Decider {
    allow_hosts: GlobSet,
    allow_patterns: Vec<String>,
    launch: AtomicBool,
    launch_ends: Instant,
    memory: std::sync::Mutex<HashMap<(String, u16), Remembered>>,
}

impl Decider {
    pub fn new(settings: &EgressSettings) -> std::io::Result<Self> {
        let mut set = GlobSetBuilder::new();
        for pattern in &settings.allow_hosts {
            set.add(
                GlobBuilder::new(&pattern.to_ascii_lowercase())
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            format!("bad host pattern `{pattern}` in allow_hosts: {e}"),
                        )
                    })?,
            );
        }
        Ok(Self {
            allow_hosts: set.build().map_err(std::io::Error::other)?,
            allow_patterns: settings.allow_hosts.clone(),
            launch: AtomicBool::new(!settings.launch_hosts.is_empty()),
            launch_ends: Instant::now() + settings.launch_limit,
            memory: std::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn end_launch_phase(&self) {
        if self.launch.swap(false, Ordering::Relaxed) {
            tracing::info!(
                "egress: the launch phase ended; package registries are no longer allowed by default"
            );
        }
    }

    fn in_launch_phase(&self) -> bool {
        self.launch.load(Ordering::Relaxed) && Instant::now() < self.launch_ends
    }

    /// The settings' own allow-list: (covers, names exactly).
    fn settings_cover(&self, host: &str) -> (bool, bool) {
        let covered = self.allow_hosts.is_match(host);
        let exact = self
            .allow_patterns
            .iter()
            .any(|p| !p.contains(['*', '?', '[', ']', '{', '}']) && p.eq_ignore_ascii_case(host));
        (covered, exact)
    }

    fn remembered(&self, key: &(String, u16)) -> Option<bool> {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        match memory.get(key) {
            Some(r) if r.until.is_none_or(|until| Instant::now() < until) => Some(r.allow),
            Some(_) => {
                memory.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: (String, u16), allow: bool, scope: Scope) {
        let until = match scope {
            // A refusal given once still holds for a minute, so that a client retrying at once
            // (npm and pip retry) does not put the same question again and again.
            Scope::Once if !allow => Some(Instant::now() + ONCE_REFUSAL),
            Scope::Once => return,
            Scope::Hour => Some(Instant::now() + Duration::from_secs(3600)),
            Scope::Session | Scope::Always => None,
        };
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Remembered { allow, until });
    }

    /// Decides a connection to `host:port`. `args` is the pseudo-call's raw arguments and
    /// `digest` their SHA-256; `request` is a line for the person ("CONNECT tunnel", "GET
    /// http://…"). Asking blocks until a person decides or the approval times out; `watch` is
    /// called just before asking and returns a flag that is set when the server gives up the
    /// connection (the question is then withdrawn).
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        settings: &EgressSettings,
        watch: &dyn Fn() -> std::sync::Arc<AtomicBool>,
        host: &Host,
        port: u16,
        args: &str,
        digest: &str,
        request: &str,
    ) -> Decided {
        let name = host.text();
        let authority = host.authority(port);
        let server = &settings.server;
        let arguments: serde_json::Value = serde_json::from_str(args).unwrap_or_default();
        let policy = settings.policy();
        let engine = policy.as_ref().map(|p| p.engine());
        let rules = engine.map_or(ConnectionRules::NoRule, |e| {
            e.connection_rules(TOOL, &name, &arguments, digest)
        });
        let mut why_ask = None;
        // The organisation policy's version when it is what asks.
        let mut organisation_ask: Option<u64> = None;
        match rules {
            ConnectionRules::Broken(reason) => {
                return Decided::Deny { by: DecidedBy::Firewall, reason, hint: Hint::Policy };
            }
            ConnectionRules::Matched {
                action: Action::Deny,
                rule,
                reason,
                organisation: Some(version),
                ..
            } => {
                let by = DecidedBy::Organisation { version, rule };
                return Decided::Deny { by, reason, hint: Hint::Rule };
            }
            ConnectionRules::Matched { action: Action::Deny, rule, reason, .. } => {
                return Decided::Deny { by: DecidedBy::Rule(rule), reason, hint: Hint::Rule };
            }
            ConnectionRules::Matched {
                action: Action::Allow,
                rule,
                reason,
                names_host,
                from_approval,
                ..
            } => {
                let basis = if from_approval {
                    Basis::Person
                } else if names_host {
                    Basis::Named
                } else {
                    Basis::Broad
                };
                return Decided::Allow { by: DecidedBy::Rule(rule), reason, basis };
            }
            ConnectionRules::Matched {
                action: Action::Ask,
                organisation: Some(version),
                reason,
                ..
            } => {
                // An organisation ask is asked every time (even during a pause) and refused
                // when nobody can be asked (docs/teams.md).
                organisation_ask = Some(version);
                why_ask = Some(reason);
            }
            ConnectionRules::Matched { action: Action::Ask, rule, reason, .. } => {
                why_ask = Some(format!("rule {rule}: {reason}"));
            }
            ConnectionRules::NoRule => {
                let (policy_covers, policy_names) =
                    engine.map_or((false, false), |e| e.egress_list_covers(&name));
                let (own_covers, own_names) = self.settings_cover(&name);
                if policy_names || own_names {
                    return Decided::Allow {
                        by: DecidedBy::Guard("egress".into()),
                        reason: format!("{name} is in the egress allow-list"),
                        basis: Basis::Named,
                    };
                }
                if policy_covers || own_covers {
                    return Decided::Allow {
                        by: DecidedBy::Guard("egress".into()),
                        reason: format!("{name} matches the egress allow-list"),
                        basis: Basis::Broad,
                    };
                }
                if self.in_launch_phase()
                    && settings.launch_hosts.iter().any(|r| r.host == name && r.port == port)
                {
                    return Decided::Allow {
                        by: DecidedBy::Guard("egress".into()),
                        reason: format!(
                            "{authority} is a package registry the server's launcher uses, allowed while the server starts"
                        ),
                        basis: Basis::Broad,
                    };
                }
            }
        }

        let key = (name.clone(), port);
        match self.remembered(&key) {
            Some(true) if organisation_ask.is_none() => {
                return Decided::Allow {
                    by: DecidedBy::User,
                    reason: format!(
                        "you approved connections to {authority} earlier in this session"
                    ),
                    basis: Basis::Person,
                };
            }
            Some(false) => {
                return Decided::Deny {
                    by: DecidedBy::User,
                    reason: format!(
                        "you refused connections to {authority} earlier in this session"
                    ),
                    hint: Hint::Person,
                };
            }
            Some(true) | None => {}
        }

        let mut reason = format!("{server} wants to connect to {authority}");
        if let Host::Ip(ip) = host
            && let Some(kind) = super::local::kind(*ip)
        {
            reason.push_str(&format!(" ({ip} is {kind})"));
        } else if name == "localhost" || name.ends_with(".localhost") {
            reason.push_str(" (this computer)");
        }
        let mut preview = vec![request.to_owned()];
        preview.push(
            "once connected, the server can send and receive anything over this connection"
                .to_owned(),
        );
        if let Some(why) = &why_ask {
            preview.push(format!("asked because {why}"));
        } else {
            preview.push(format!("asked because {name} is not in the egress allow-list"));
        }
        let ask = ApprovalRequest {
            server: server.clone(),
            session: settings.session.clone(),
            tool: TOOL.to_owned(),
            category: crate::classify::Category::NetworkSend.as_str().to_owned(),
            reason: reason.clone(),
            arguments: Some(args.to_owned()),
            args_digest: Some(digest.to_owned()),
            preview,
            confirm: Some(format!("Let {server} send data to {authority}?")),
            organisation: organisation_ask,
        };
        let answer = match &settings.approver {
            Some(approver) => {
                crate::approval::client::ask_approver(approver, ask, &watch(), |_| {})
            }
            None => Err(crate::approval::client::Unreachable::NotRunning("none configured".into())),
        };
        match answer {
            Ok(a) if a.outcome == Outcome::Allowed => {
                self.remember(key, true, a.scope);
                Decided::Allow {
                    by: DecidedBy::User,
                    reason: format!("{reason}; you approved it"),
                    basis: Basis::Asked,
                }
            }
            Ok(a) if a.outcome == Outcome::Paused => Decided::Allow {
                by: DecidedBy::Paused,
                reason: format!("{reason}; allowed without asking because protection was paused"),
                basis: Basis::Broad,
            },
            Ok(a) if a.outcome == Outcome::Withdrawn => Decided::Deny {
                by: DecidedBy::Firewall,
                reason: format!("{reason}; the server gave up the connection while it waited"),
                hint: Hint::AllowOrAsk,
            },
            Ok(a) if a.outcome == Outcome::TimedOut => Decided::Deny {
                by: DecidedBy::Firewall,
                reason: format!("{reason}: {}", a.note),
                hint: Hint::AllowOrAsk,
            },
            Ok(a) => {
                self.remember(key, false, a.scope);
                Decided::Deny {
                    by: DecidedBy::User,
                    reason: format!("{reason}: {}", a.note),
                    hint: Hint::Person,
                }
            }
            Err(unreachable) => {
                let unattended = if organisation_ask.is_some() {
                    Unattended::Deny
                } else {
                    engine.map_or(settings.unattended, |e| e.unattended())
                };
                match unattended {
                    Unattended::Allow => Decided::Allow {
                        by: DecidedBy::Firewall,
                        reason: format!(
                            "{reason}; nobody could be asked ({unreachable}), and unattended calls are allowed"
                        ),
                        basis: Basis::Broad,
                    },
                    Unattended::Deny => Decided::Deny {
                        by: DecidedBy::Firewall,
                        reason: format!(
                            "{reason}, which needs your approval, and nobody could be asked ({unreachable})"
                        ),
                        hint: Hint::AllowOrAsk,
                    },
                }
            }
        }
    }
}

/// The body of a 403: what was refused, why, and how to allow it.
pub fn refusal_text(server: &str, host: &str, authority: &str, reason: &str, hint: Hint) -> String {
    let how = match hint {
        Hint::AllowOrAsk => format!(
            "To allow it, add \"{host}\" to allow_hosts under [servers.{server}] (or [egress]) in MCP Firewall's policy.toml, \
             or run MCP Firewall (`mcpfw daemon` or the desktop app) to be asked, and approve it."
        ),
        Hint::Rule => "A rule in MCP Firewall refused it; see `mcpfw rules list` and policy.toml to change that rule.".to_owned(),
        Hint::Person => "You refused it in MCP Firewall; the next connection in a new session asks again.".to_owned(),
        Hint::Local => format!(
            "Addresses on this computer or a private network are reached only when named exactly: add \"{host}\" \
             (not a wildcard) to allow_hosts under [servers.{server}] in MCP Firewall's policy.toml."
        ),
        Hint::Policy => "Fix MCP Firewall's policy.toml (`mcpfw policy check` shows the error).".to_owned(),
    };
    format!("MCP Firewall refused the connection from {server} to {authority}: {reason}.\n{how}\n")
}
