//! The rules' say on a network connection the egress proxy (in the `mcpfw` program) is asked to make.
//!
//! A connection is presented to the same rules as a tool call: the pseudo-tool
//! `egress.connect`, category network-send, arguments
//! `{"host": …, "port": …}`, and the SHA-256 of exactly those arguments as the digest — so
//! `[[rules]]` with `tool = "egress.connect"`, `when.hosts_in`, `when.args.host`, and the
//! database rule an "always" approval writes (server, tool, argument digest) all apply
//! unchanged. What differs from a tool call, on purpose:
//!
//! * the connection has exactly one host (the one asked for), so `hosts_in` is never satisfied
//!   vacuously; a rule with `paths_within` never matches (a connection has no paths, and
//!   "every path inside the roots" must not allow the network by accident);
//! * no built-in guard runs: the egress proxy *is* the egress guard (allow-list, local
//!   destinations, asking), and a connection carries no paths or secrets;
//! * the category default does not apply: when no rule matches, the proxy's allow-list and
//!   asking decide.

use serde_json::Value;

use super::{Action, Category, PolicyEngine, classify};

/// What the rules say about one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionRules {
    /// The policy is broken (or could not be compiled): every connection is refused with this.
    Broken(String),
    /// No rule matches this connection.
    NoRule,
    /// The most restrictive matching rule.
    Matched {
        action: Action,
        /// The rule's id (`file:<id>` or `db:<n>`).
        rule: String,
        reason: String,
        /// The rule names this host exactly (`hosts_in` without wildcards, or `when.args.host`).
        names_host: bool,
        /// The rule was made from a person's approval of exactly this host and port
        /// (`args_digest`, what "always" writes).
        from_approval: bool,
        /// The rule is the organisation policy's (of this version): a deny or ask no local rule
        /// loosens.
        organisation: Option<u64>,
    },
}

impl PolicyEngine {
    /// The rules' say on a connection to `host:port`, given as the pseudo-call `tool` with
    /// `arguments` (`{"host","port"}`) whose raw JSON has SHA-256 `digest`.
    pub fn connection_rules(
        &self,
        tool: &str,
        host: &str,
        arguments: &Value,
        digest: &str,
    ) -> ConnectionRules {
        if let Some(broken) = &self.broken {
            return ConnectionRules::Broken(broken.clone());
        }
        let call = super::Call {
            tool,
            tool_info: None,
            arguments: Some(arguments),
            args_digest: Some(digest),
            client_roots: &[],
        };
        let mut classification = classify::classify(tool, None, Some(arguments));
        classification.hosts = vec![host.to_ascii_lowercase()];
        classification.paths.clear();
        let mut matched: Option<&super::CompiledRule> = None;
        for index in self.tool_globs.matches(tool) {
            let rule = &self.rules[index];
            if rule.paths_within.is_some()
                || !self.rule_matches(rule, Category::NetworkSend, &call, &classification, &[], &[])
            {
                continue;
            }
            if matched.is_none_or(|m| rule.spec.action > m.spec.action) {
                matched = Some(rule);
            }
        }
        // The organisation's floor, as for tool calls: its strictest matching rule wins when it
        // is at least as strict as the local one.
        if let Some(org) = &self.org {
            let mut strictest: Option<&super::CompiledRule> = None;
            for index in org.tools.matches(tool) {
                let rule = &org.rules[index];
                if rule.paths_within.is_none()
                    && self.rule_matches(
                        rule,
                        Category::NetworkSend,
                        &call,
                        &classification,
                        &[],
                        &[],
                    )
                    && strictest.is_none_or(|m| rule.spec.action > m.spec.action)
                {
                    strictest = Some(rule);
                }
            }
            if let Some(rule) =
                strictest.filter(|r| matched.is_none_or(|m| r.spec.action >= m.spec.action))
            {
                let why = rule.spec.reason.clone().unwrap_or_else(|| {
                    format!("its rule {} says {}", rule.id, rule.spec.action.as_str())
                });
                return ConnectionRules::Matched {
                    action: rule.spec.action,
                    rule: rule.id.clone(),
                    reason: format!("{} (rule {}): {why}", org.name, rule.id),
                    names_host: false,
                    from_approval: false,
                    organisation: Some(org.version),
                };
            }
        }
        let Some(rule) = matched else {
            return ConnectionRules::NoRule;
        };
        let host = host.to_ascii_lowercase();
        let literal = |pattern: &String| {
            !pattern.contains(['*', '?', '[', ']', '{', '}']) && pattern.eq_ignore_ascii_case(&host)
        };
        let names_host =
            rule.spec.when.hosts_in.as_ref().is_some_and(|hosts| hosts.iter().any(literal))
                || rule.spec.when.args.contains_key("host");
        ConnectionRules::Matched {
            action: rule.spec.action,
            rule: rule.id.clone(),
            reason: rule
                .spec
                .reason
                .clone()
                .unwrap_or_else(|| format!("rule {} says {}", rule.id, rule.spec.action.as_str())),
            names_host,
            from_approval: rule.spec.when.args_digest.is_some(),
            organisation: None,
        }
    }

    /// Whether the egress allow-list (`[egress] allow_hosts` and this server's `allow_hosts` in
    /// `policy.toml`) covers `host`, and whether one of its entries names it exactly (no
    /// wildcard). A broken policy covers nothing.
    pub fn egress_list_covers(&self, host: &str) -> (bool, bool) {
        if self.broken.is_some() {
            return (false, false);
        }
        let host = host.to_ascii_lowercase();
        let covered = self.egress.is_match(host.as_str());
        let exact = self
            .egress_patterns
            .iter()
            .any(|p| !p.contains(['*', '?', '[', ']', '{', '}']) && p.eq_ignore_ascii_case(&host));
        (covered, exact)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Environment, PolicyFile};
    use super::*;
    use serde_json::json;

    fn engine(policy: &str, db: Vec<(i64, crate::policy::file::RuleSpec)>) -> PolicyEngine {
        let file = PolicyFile::parse(policy, "policy.toml").expect("test policy parses");
        PolicyEngine::new("files", Ok(file), db, Vec::new(), Environment::default())
    }

    fn say(e: &PolicyEngine, host: &str, port: u16) -> ConnectionRules {
        let args = json!({"host": host, "port": port});
        e.connection_rules("egress.connect", host, &args, "d")
    }

    #[test]
    fn hosts_in_rules_match_only_their_hosts_and_the_strictest_wins() {
        let e = engine(
            r#"
[[rules]]
id = "gh"
tool = "egress.connect"
action = "allow"
when.hosts_in = ["*.github.com", "github.com"]
[[rules]]
id = "no-gists"
tool = "egress.connect"
action = "deny"
when.hosts_in = ["gist.github.com"]
"#,
            Vec::new(),
        );
        assert!(matches!(
            say(&e, "api.github.com", 443),
            ConnectionRules::Matched { action: Action::Allow, names_host: false, .. }
        ));
        assert!(matches!(
            say(&e, "github.com", 443),
            ConnectionRules::Matched { action: Action::Allow, names_host: true, .. }
        ));
        assert!(matches!(
            say(&e, "gist.github.com", 443),
            ConnectionRules::Matched { action: Action::Deny, .. }
        ));
        // A single-label name is still one host: `hosts_in` is not satisfied vacuously.
        assert_eq!(say(&e, "intranet", 80), ConnectionRules::NoRule);
    }

    #[test]
    fn path_rules_never_allow_the_network_and_digest_rules_match_their_call() {
        let rule = crate::policy::file::RuleSpec {
            id: None,
            server: "files".into(),
            tool: "egress.connect".into(),
            category: Vec::new(),
            action: Action::Allow,
            reason: None,
            when: crate::policy::file::Conditions {
                args_digest: Some("abc".into()),
                ..Default::default()
            },
            lift: Vec::new(),
        };
        let e = engine(
            "[[rules]]\naction = \"allow\"\nwhen.paths_within = [\"@roots\"]\n",
            vec![(7, rule)],
        );
        assert_eq!(say(&e, "example.com", 443), ConnectionRules::NoRule);
        let args = json!({"host": "example.com", "port": 443});
        assert_eq!(
            e.connection_rules("egress.connect", "example.com", &args, "abc"),
            ConnectionRules::Matched {
                action: Action::Allow,
                rule: "db:7".into(),
                reason: "rule db:7 says allow".into(),
                names_host: false,
                from_approval: true,
                organisation: None,
            }
        );
    }

    #[test]
    fn an_organisation_deny_beats_a_local_allow_of_the_host() {
        let org = crate::policy::org::Organisation {
            bundle: crate::policy::org::Organisation::parse(
                "version = 9\nissued = \"2026-01-01T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n\
                 [[rules]]\nid = \"no-paste\"\ntool = \"egress.connect\"\naction = \"deny\"\n\
                 when.hosts_in = [\"*.paste.example\"]\n",
                "org",
            )
            .unwrap(),
            issued_ms: 0,
            expires_ms: u64::MAX,
            key_id: "K".into(),
            source: "test".into(),
        };
        let e = engine(
            "[[rules]]\ntool = \"egress.connect\"\naction = \"allow\"\nwhen.hosts_in = [\"*.example\"]\n",
            Vec::new(),
        )
        .with_organisation(Some(&org));
        match say(&e, "x.paste.example", 443) {
            ConnectionRules::Matched { action, organisation, reason, .. } => {
                assert_eq!((action, organisation), (Action::Deny, Some(9)));
                assert!(reason.contains("the organisation policy (version 9)"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            say(&e, "other.example", 443),
            ConnectionRules::Matched { action: Action::Allow, organisation: None, .. }
        ));
    }

    #[test]
    fn the_allow_list_says_whether_it_names_a_host_exactly() {
        let e = engine(
            "[egress]\nallow_hosts = [\"*.example.com\", \"127.0.0.1\"]\n[servers.files]\nallow_hosts = [\"Files.Test\"]\n",
            Vec::new(),
        );
        assert_eq!(e.egress_list_covers("api.example.com"), (true, false));
        assert_eq!(e.egress_list_covers("127.0.0.1"), (true, true));
        assert_eq!(e.egress_list_covers("files.test"), (true, true));
        assert_eq!(e.egress_list_covers("other.test"), (false, false));
        let broken = PolicyEngine::new(
            "files",
            Err(PolicyFile::parse("[[rules]]\naction = 1\n", "p").unwrap_err()),
            Vec::new(),
            Vec::new(),
            Environment::default(),
        );
        assert!(matches!(say(&broken, "x.test", 1), ConnectionRules::Broken(_)));
    }
}
