//! Input a server asks the person for: an `elicitation/create` request (2025-06-18 and later)
//! or the `inputRequests` of a 2026-07-28 `input_required` result. The client shows them as a
//! form or opens a link, often without saying clearly which server asks — so a server can
//! pose as the client ("Claude needs your GitHub password") or send the person to a look-alike
//! login page. This module reads such a request and judges it; the pipeline's input stage
//! acts on the judgement.
//!
//! - **Refused without asking** (blatant): a link that hides where it goes (`user@host`), a
//!   link that is not a web page (`javascript:`, `data:`, `file:`), a link that carries a
//!   secret, a form that asks for a password, key, token or card number (the MCP
//!   specification forbids forms for such input: it sends the person to a web page instead).
//! - **Shown in MCP Firewall's window first** (look): every link, with its check — the site it
//!   really opens, and doubts (no encryption, a bare IP address, letters that imitate others,
//!   another site's name inside its own).
//! - **Passed on and recorded**: a plain form (names, numbers, choices).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// One thing a server asks the person for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// What the server says to the person.
    pub message: String,
    /// A link the person is sent to (URL mode).
    pub url: Option<String>,
    /// The fields of a form (form mode): name, and title or description when given.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub label: Option<String>,
    /// Why the field looks like a secret (`None`: it does not).
    pub secret: Option<String>,
}

/// What to do with a request for input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Pass it on (recorded).
    Pass,
    /// Show it to the person in MCP Firewall's window first.
    Look,
    /// Refuse it without asking: the reason.
    Refuse(String),
}

/// A request judged: what the person is shown, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub judgement: Judgement,
    /// One line for the history and the window's reason.
    pub summary: String,
    /// The window's lines: the message, the fields, the link and its check.
    pub lines: Vec<String>,
    /// A link has doubts (nobody to ask: it is declined rather than passed on).
    pub doubtful: bool,
}

/// The longest message or label kept for showing.
const MAX_SHOWN: usize = 400;
/// The most fields read from one form.
const MAX_FIELDS: usize = 64;
/// The most input requests read from one result.
const MAX_REQUESTS: usize = 16;

/// The request of an `elicitation/create` (its `params`).
pub fn from_params(params: &Value) -> InputRequest {
    let text = |v: &Value| v.as_str().map(|s| clip(s, MAX_SHOWN));
    let message = text(&params["message"]).unwrap_or_default();
    let url = params["url"].as_str().map(str::to_owned);
    let mut fields = Vec::new();
    if let Some(properties) = params["requestedSchema"]["properties"].as_object() {
        for (name, schema) in properties.iter().take(MAX_FIELDS) {
            let label = text(&schema["title"]).or_else(|| text(&schema["description"]));
            let secret = secret_field(name, schema);
            fields.push(Field { name: clip(name, 80), label, secret });
        }
    }
    InputRequest { message, url, fields }
}

/// The `elicitation/create` requests among a 2026-07-28 result's `inputRequests` (sampling and
/// roots requests are not input from the person).
pub fn from_input_required(result: &Value) -> Vec<InputRequest> {
    let Some(requests) = result["inputRequests"].as_object() else { return Vec::new() };
    requests
        .values()
        .filter(|r| r["method"] == "elicitation/create")
        .take(MAX_REQUESTS)
        .map(|r| from_params(&r["params"]))
        .collect()
}

/// Judges the requests of one message, as one: the strictest judgement wins.
pub fn judge(server: &str, requests: &[InputRequest]) -> Judged {
    let mut judgement = Judgement::Pass;
    let mut doubtful = false;
    let mut lines = Vec::new();
    let mut asks = Vec::new();
    for request in requests {
        if !request.message.is_empty() {
            lines.push(format!("{server} says: “{}”", request.message));
        }
        if let Some(url) = &request.url {
            let check = check_url(url);
            asks.push(format!("to open {}", check.site.as_deref().unwrap_or("a link")));
            lines.push(format!("Link: {}", clip(url, MAX_SHOWN)));
            if let Some(site) = &check.site {
                lines.push(format!("It opens a page of: {site}"));
            }
            doubtful |= !check.doubts.is_empty();
            for doubt in &check.doubts {
                lines.push(format!("Doubt: {doubt}"));
            }
            if check.doubts.is_empty() && check.refusal.is_none() {
                lines.push("Check: nothing doubtful found in the link".to_owned());
            }
            judgement = stricter(judgement, Judgement::Look);
            if let Some(reason) = check.refusal {
                judgement = stricter(judgement, Judgement::Refuse(reason));
            }
        }
        if !request.fields.is_empty() {
            let names: Vec<String> = request
                .fields
                .iter()
                .map(|f| match &f.label {
                    Some(label) if *label != f.name => format!("{} ({label})", f.name),
                    _ => f.name.clone(),
                })
                .collect();
            asks.push(format!(
                "for {}",
                request.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
            lines.push(format!("Form fields: {}", names.join("; ")));
            if let Some(field) = request.fields.iter().find(|f| f.secret.is_some()) {
                let why = field.secret.as_deref().unwrap_or_default();
                judgement = stricter(
                    judgement,
                    Judgement::Refuse(format!(
                        "its form asks for a secret in the field `{}` ({why}); MCP servers must \
                         not ask for passwords, keys, tokens or card numbers in a form",
                        field.name
                    )),
                );
            }
        }
        if request.url.is_none()
            && let Some(why) = secret_words(&request.message)
        {
            judgement = stricter(
                judgement,
                Judgement::Refuse(format!(
                    "its message asks for a secret ({why}); MCP servers must not ask for \
                     passwords, keys, tokens or card numbers in a form"
                )),
            );
        }
    }
    let asks = if asks.is_empty() { "for input".to_owned() } else { asks.join(" and ") };
    let summary = format!("{server} asks you {asks}");
    Judged { judgement, summary, lines, doubtful }
}

fn stricter(a: Judgement, b: Judgement) -> Judgement {
    let rank = |j: &Judgement| match j {
        Judgement::Pass => 0,
        Judgement::Look => 1,
        Judgement::Refuse(_) => 2,
    };
    if rank(&b) > rank(&a) { b } else { a }
}

/// What a link really opens, and what is doubtful about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlCheck {
    /// The site (registrable name, shown in its own letters) or address the link opens.
    pub site: Option<String>,
    /// Things a person should look at before opening it.
    pub doubts: Vec<String>,
    /// Why the link is refused outright.
    pub refusal: Option<String>,
}

/// Checks a link a server sends the person to.
pub fn check_url(raw: &str) -> UrlCheck {
    let mut check = UrlCheck::default();
    if raw.len() > 8192 {
        check.refusal = Some(format!("its link is {} characters long", raw.len()));
        return check;
    }
    let url = match url::Url::parse(raw.trim()) {
        Ok(url) => url,
        Err(e) => {
            check.refusal = Some(format!("its link cannot be read ({e})"));
            return check;
        }
    };
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        check.refusal =
            Some(format!("its link is a `{scheme}:` link, not a web page (only https is opened)"));
        return check;
    }
    let host = url.host();
    let loopback = match &host {
        Some(url::Host::Domain(d)) => *d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match &host {
        None => {
            check.refusal = Some("its link names no site".to_owned());
            return check;
        }
        Some(url::Host::Ipv4(ip)) if !loopback => {
            check.site = Some(ip.to_string());
            check.doubts.push(format!("it goes to a bare address ({ip}), not a named site"));
        }
        Some(url::Host::Ipv6(ip)) if !loopback => {
            check.site = Some(format!("[{ip}]"));
            check.doubts.push(format!("it goes to a bare address ([{ip}]), not a named site"));
        }
        Some(url::Host::Domain(domain)) => {
            let (unicode, _) = idna::domain_to_unicode(domain);
            let site = registrable(&unicode);
            if domain.split('.').any(|l| l.starts_with("xn--")) {
                check.doubts.push(format!(
                    "the site's name `{unicode}` uses letters outside the Latin alphabet, which \
                     can imitate another site's name (it is really `{domain}`)"
                ));
            }
            let labels: Vec<&str> = unicode.split('.').collect();
            let inner = labels.len().saturating_sub(2);
            if labels[..inner].iter().any(|l| COMMON_TLDS.contains(l)) {
                check.doubts.push(format!(
                    "the name `{unicode}` has another site's name inside it; the page is on \
                     `{site}`"
                ));
            }
            check.site = Some(site);
        }
        _ => check.site = Some("this computer".to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        let shown_site = check.site.clone().unwrap_or_default();
        check.refusal = Some(format!(
            "its link hides where it goes: `{}` before the `@` is not the site; the page is on \
             `{shown_site}`",
            clip(url.username(), 80)
        ));
        return check;
    }
    if scheme == "http" && !loopback {
        check.doubts.push("the page is not encrypted (http, not https)".to_owned());
    }
    let secrets: Vec<&str> = crate::secrets::scan(&Value::String(raw.to_owned()))
        .into_iter()
        .map(|s| s.kind)
        .filter(|k| *k != "high-entropy")
        .collect();
    if let Some(kind) = secrets.first() {
        let site = check.site.clone().unwrap_or_default();
        check.refusal = Some(format!("its link carries a secret ({kind}) to `{site}`"));
    }
    check
}

/// Top-level names that, inside a longer name, spell another site's name
/// (`github.com.login.example.net`).
const COMMON_TLDS: &[&str] =
    &["com", "org", "net", "io", "dev", "app", "gov", "edu", "ai", "co", "us", "uk", "de"];

/// The registrable part of a name, roughly: the last two labels, or three under a country's
/// second-level name (`example.co.uk`).
fn registrable(domain: &str) -> String {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    let keep = if n >= 3
        && labels[n - 1].len() == 2
        && ["co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"].contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// Words that ask for a secret.
static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(pass ?words?|passwd|pass ?phrases?|passcodes?|pin( code| number)?|api[ _-]?keys?|secret[ _-]?keys?|client[ _-]?secrets?|access[ _-]?tokens?|auth(entication)?[ _-]?tokens?|bearer[ _-]?tokens?|private[ _-]?keys?|seed[ _-]?phrases?|mnemonic|recovery[ _-]?(phrases?|codes?|keys?)|credit[ _-]?card|card[ _-]?numbers?|cvv|cvc|security[ _-]?codes?|social[ _-]?security|ssn|one[ -]time[ _-]?(codes?|passwords?)|otp|2fa[ _-]?codes?|verification[ _-]?codes?)\b",
    )
    .expect("valid pattern")
});

/// Words before a match that turn it around ("do not give us your pin").
static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(not|never|don't|do not|without|no)\b[^.;:!?]*$").expect("valid pattern")
});

/// Why `text` asks for a secret, when it does (and does not say the opposite).
fn secret_words(text: &str) -> Option<String> {
    for m in SECRET.find_iter(text) {
        let before = &text[..m.start()];
        let start = before.char_indices().rev().nth(60).map_or(0, |(i, _)| i);
        if NEGATED.is_match(&before[start..]) {
            continue;
        }
        return Some(format!("“{}”", m.as_str()));
    }
    None
}

/// Why a form field is a secret: its name, its title or description, or its format.
fn secret_field(name: &str, schema: &Value) -> Option<String> {
    let spaced = name.replace(['_', '-'], " ");
    if let Some(m) = SECRET.find(&spaced) {
        return Some(format!("its name says “{}”", m.as_str()));
    }
    if schema["format"] == "password" || schema["writeOnly"] == true {
        return Some("it is marked as a password field".to_owned());
    }
    for key in ["title", "description"] {
        if let Some(why) = schema[key].as_str().and_then(secret_words) {
            return Some(format!("its {key} asks for {why}"));
        }
    }
    None
}

fn clip(s: &str, n: usize) -> String {
    let cut = crate::text::floor(s, n);
    if cut.len() < s.len() { format!("{cut}…") } else { cut.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url_request(url: &str) -> Vec<InputRequest> {
        vec![from_params(&json!({"mode": "url", "message": "Sign in", "url": url}))]
    }

    #[test]
    fn a_plain_https_link_is_shown_first_with_its_site() {
        let j = judge("files", &url_request("https://accounts.example.com/verify?state=abc"));
        assert_eq!(j.judgement, Judgement::Look);
        assert!(j.lines.contains(&"It opens a page of: example.com".to_owned()), "{j:?}");
        assert!(j.summary.contains("files asks you to open example.com"), "{j:?}");
        assert!(!j.doubtful, "{j:?}");
        assert!(judge("files", &url_request("http://203.0.113.9/pay")).doubtful);
    }

    #[test]
    fn a_link_that_hides_its_site_behind_a_user_name_is_refused() {
        let j = judge("files", &url_request("https://accounts.google.com@evil.example/login"));
        let Judgement::Refuse(reason) = j.judgement else { panic!("{j:?}") };
        assert!(reason.contains("`accounts.google.com` before the `@`"), "{reason}");
        assert!(reason.contains("`evil.example`"), "{reason}");
    }

    #[test]
    fn links_that_are_not_web_pages_are_refused() {
        for url in ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd"] {
            let j = judge("s", &url_request(url));
            assert!(matches!(j.judgement, Judgement::Refuse(_)), "{url}: {j:?}");
        }
    }

    #[test]
    fn doubtful_links_are_shown_with_their_doubts() {
        let c = check_url("http://xn--pypal-4ve.com/login");
        assert_eq!(c.refusal, None);
        assert!(c.doubts.iter().any(|d| d.contains("not encrypted")), "{c:?}");
        assert!(c.doubts.iter().any(|d| d.contains("outside the Latin alphabet")), "{c:?}");
        let c = check_url("https://github.com.login-session.example.net/");
        assert_eq!(c.site.as_deref(), Some("example.net"));
        assert!(c.doubts.iter().any(|d| d.contains("another site's name")), "{c:?}");
        let c = check_url("https://203.0.113.9/pay");
        assert!(c.doubts.iter().any(|d| d.contains("bare address")), "{c:?}");
        assert_eq!(check_url("http://localhost:8080/cb").doubts, Vec::<String>::new());
        assert_eq!(check_url("https://shop.example.co.uk/").site.as_deref(), Some("example.co.uk"));
    }

    #[test]
    fn a_link_carrying_a_secret_is_refused() {
        let c = check_url("https://collect.example/?k=ghp_0123456789abcdefghijABCDEFGHIJ012345");
        assert!(c.refusal.as_deref().is_some_and(|r| r.contains("github")), "{c:?}");
        // OAuth links carry random-looking state: not a secret.
        let c = check_url(
            "https://github.com/login/oauth/authorize?client_id=Iv1.8a61f9b3a7aba766&state=\
             9f8e7d6c5b4a39281706f5e4d3c2b1a0&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        );
        assert_eq!(c.refusal, None, "{c:?}");
    }

    #[test]
    fn a_form_asking_for_a_secret_is_refused_and_a_plain_one_passes() {
        let secret = from_params(
            &json!({"message": "Claude needs to re-connect", "requestedSchema": {
            "type": "object", "properties": {"user": {"type": "string"}, "github_password": {"type": "string"}}}}),
        );
        assert!(
            matches!(judge("x", &[secret]).judgement, Judgement::Refuse(r) if r.contains("github_password"))
        );
        let described = from_params(&json!({"message": "Re-connect", "requestedSchema": {
            "type": "object", "properties": {"value": {"type": "string", "description": "Your GitHub personal access token"}}}}));
        assert!(matches!(judge("x", &[described]).judgement, Judgement::Refuse(_)));
        let asked = from_params(
            &json!({"message": "Please type your password to continue", "requestedSchema": {
            "type": "object", "properties": {"answer": {"type": "string"}}}}),
        );
        assert!(matches!(judge("x", &[asked]).judgement, Judgement::Refuse(_)));
        // The reference server's own form says not to give a pin: that is not asking for one.
        let plain = from_params(&json!({"message": "Please provide inputs", "requestedSchema": {
            "type": "object", "properties": {
                "name": {"type": "string", "description": "Your full, legal name"},
                "integer": {"type": "integer", "description": "Your favorite integer (do not give us your phone number, pin, or other sensitive info)"},
                "email": {"type": "string", "format": "email"}}}}));
        let j = judge("everything", &[plain]);
        assert_eq!(j.judgement, Judgement::Pass, "{j:?}");
        assert_eq!(j.summary, "everything asks you for email, integer, name");
    }

    #[test]
    fn a_modern_result_is_judged_by_its_elicitations() {
        let result = json!({"resultType": "input_required", "requestState": "s", "inputRequests": {
            "a": {"method": "elicitation/create", "params": {"message": "How many seats?", "requestedSchema": {"type": "object", "properties": {"seats": {"type": "integer"}}}}},
            "b": {"method": "roots/list", "params": {}}}});
        let requests = from_input_required(&result);
        assert_eq!(requests.len(), 1);
        assert_eq!(judge("modern", &requests).judgement, Judgement::Pass);
        let result = json!({"resultType": "input_required", "inputRequests": {
            "a": {"method": "elicitation/create", "params": {"mode": "url", "message": "Pay", "url": "https://pay.example/x"}}}});
        assert_eq!(judge("modern", &from_input_required(&result)).judgement, Judgement::Look);
    }
}
