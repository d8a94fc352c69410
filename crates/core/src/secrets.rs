//! Secrets in tool-call arguments: finding them ([`scan`]) and hiding them ([`redact`]).
//!
//! Every string in a JSON value is examined, with the name of the object key it sits under
//! (for arrays, the nearest key; for `{"name": K, "value": V}` pairs, as used for HTTP
//! headers, `V` counts as sitting under `K`). A string that holds a secret is reported once per
//! kind found, with its JSON pointer, and [`redact`] replaces the *whole* string by
//! `"[REDACTED:<kind>]"` (the first kind found).
//!
//! # Rules, in order (a string stops at the first step that finds something)
//!
//! 1. **Known formats, anywhere inside the string** (so a file `content`, a command line or a
//!    URL is covered):
//!
//!    | kind                      | pattern                                                         |
//!    |---------------------------|-----------------------------------------------------------------|
//!    | `private-key`             | `-----BEGIN [RSA/DSA/EC/ENCRYPTED ]PRIVATE KEY-----`            |
//!    | `openssh-private-key`     | `-----BEGIN OPENSSH PRIVATE KEY-----`                           |
//!    | `pgp-private-key`         | `-----BEGIN PGP PRIVATE KEY BLOCK-----`                         |
//!    | `putty-private-key`       | `PuTTY-User-Key-File-N:`                                        |
//!    | `aws-access-key-id`       | `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 `[0-9A-Z]`                     |
//!    | `aws-secret-access-key`   | `aws_secret_access_key = <40 base64>` (any case, `:` or `=`)    |
//!    | `github-token`            | `ghp_ gho_ ghu_ ghs_ ghr_` + ≥36, `github_pat_` + ≥22            |
//!    | `gitlab-token`            | `glpat-` + ≥20                                                  |
//!    | `slack-token`             | `xoxa- xoxb- xoxp- xoxo- xoxs- xoxr-` + ≥10                     |
//!    | `slack-webhook`           | `https://hooks.slack.com/services/T…/B…/…`                      |
//!    | `stripe-key`              | `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_` + ≥16            |
//!    | `anthropic-api-key`       | `sk-ant-` + ≥32                                                 |
//!    | `openai-api-key`          | `sk-[proj-/svcacct-/admin-]` + ≥32 with digits and both cases   |
//!    | `google-api-key`          | `AIza` + 35                                                     |
//!    | `jwt`                     | `eyJ….eyJ….<signature ≥16>`                                     |
//!    | `npm-token`               | `npm_` + 36                                                     |
//!    | `pypi-token`              | `pypi-AgE` + ≥50                                                |
//!    | `twilio-api-key`          | `SK` + 32 hex                                                   |
//!    | `sendgrid-api-key`        | `SG.` + 22 + `.` + 43                                           |
//!    | `azure-connection-string` | `AccountKey=` / `SharedAccessKey=` + ≥20 base64                 |
//!    | `authorization`           | `Authorization: Bearer/Basic/Token/Digest <≥8>` (headers in commands) |
//!    | `api-key`                 | `X-Api-Key: <≥16>`                                              |
//!    | `url-credentials`         | `scheme://user:password@host` (database URLs and others)        |
//!    | `url-secret-param`        | `?access_token= ?token= ?api_key= ?password= ?sig= …` ≥8       |
//!    | family of the name (below)| an assignment `NAME = value` / `NAME: value` / `"NAME": "value"` whose name ends in a secret word (`…PASSWORD`, `…_TOKEN`, `…SECRET`, `…API_KEY`, `…ACCESS_KEY`, `…PRIVATE_KEY`, `…CREDENTIALS`), as in `.env` files, YAML or JSON text |
//!
//!    Boundaries are checked (`task-…` is not `sk-…`). Values that are placeholders or
//!    references are never secrets: empty, one repeated character (`********`), `${VAR}`,
//!    `$VAR`, `{{…}}`, `<…>`, `%VAR%`, `op://…`, `env:…`, `vault:…`, `process.env.X`, words
//!    such as `password`, `example`, `placeholder`, `redacted`, `your-…`. An embedded assignment
//!    also needs a value of at least 8 characters with a digit, both cases or a symbol, that is
//!    not an identifier (`DB_PASSWORD`, `config.apiKey`) nor a call (`getToken()`).
//!
//! 2. **Secret key names.** The key is normalised (lowercase, only letters and digits, so
//!    `client_secret`, `clientSecret`, `Client-Secret` and `CLIENT.SECRET` are the same) and
//!    matched by its *ending*: `password`/`passwd`/`passphrase` → `password`;
//!    `authorization`, `auth`, `cookie` → `authorization`; `apikey` → `api-key`;
//!    `privatekey` → `private-key`; `secret(s)`, `secretkey`, `accesskey`, `credential(s)`,
//!    `mnemonic`, `seedphrase`, `signingkey`, `encryptionkey`, `masterkey` → `secret` (an AWS
//!    secret access key name with a 40-character value → `aws-secret-access-key`); `token`,
//!    `bearer` → `token`, except pagination and protocol tokens (`pageToken`, `nextToken`,
//!    `progressToken`, `continuationToken`, `syncToken`, `clientToken`). The value must be
//!    non-trivial: not a placeholder; for passwords at least 4 characters; for the others at
//!    least 8 characters, at most 3 words, and not a path or a plain `http(s)` URL.
//!
//! 3. **High entropy under a key-like name.** A value of at least 20 characters drawn from the
//!    base64/hex alphabet (`A-Z a-z 0-9 + / = _ -`), with letters and digits, not a UUID, whose
//!    Shannon entropy is at least `min(4.0, 0.85·log2(len))` bits per character
//!    (`min(3.0, 0.7·log2(len))` for hex), under a key containing `key`, `secret`, `token`,
//!    `auth`, `cred`, `pass`, `sig`, `hmac` or `private` → `high-entropy`. Names of hashes and
//!    identifiers never count: keys containing `public`, `sha`, `md5`, `hash`, `digest`, `etag`,
//!    `checksum`, `integrity`, `fingerprint`, `uuid`, `guid`, `cache`, `idempotency`, `commit`,
//!    `revision`, `nonce`, `keyword`, `keyboard`, or ending in `id`, `name`, `type`, `path`,
//!    `file`, `url`, `uri`, `count`, `length`, `size`, `version`, `format`, `hint`, `ttl`, ….
//!
//! Ordinary prose, paths, UUIDs in ordinary fields and hashes under `sha256`/`digest`/`etag`
//! are therefore not reported. Object *keys* are not scanned (a key cannot be redacted).
//!
//! # Limits
//!
//! Each string is scanned on its first 1 MiB (entropy on its first 4 KiB); values nested
//! deeper than 64 levels are not scanned (and are copied unchanged by [`redact`]).

use crate::text::floor;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

/// One string that holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFinding {
    /// What was found, e.g. `github-token`, `private-key`, `password`, `high-entropy`.
    pub kind: &'static str,
    /// JSON pointer of the string that holds it (`""` for the root value).
    pub pointer: String,
    /// Every match of this kind in the string is a sample value published in the vendor's
    /// documentation (`AKIAIOSFODNN7EXAMPLE`, Stripe's `sk_test_4eC39HqLyjWDarjtT1zdp7dc`, the
    /// jwt.io token): not a secret to report, though [`redact`] still replaces it.
    #[serde(skip)]
    pub documented: bool,
}

/// Bytes of each string that are scanned.
const STRING_CAP: usize = 1 << 20;
/// Bytes of a string whose entropy is measured.
const ENTROPY_CAP: usize = 4096;
/// How deep values are scanned.
const MAX_DEPTH: usize = 64;
/// How many matches of one pattern in one string are examined.
const MAX_MATCHES: usize = 64;

/// Every secret in `value`, in document order; a string with several kinds gives one finding
/// per kind. See the module docs for the rules.
pub fn scan(value: &Value) -> Vec<SecretFinding> {
    let mut s = Scanner { findings: Vec::new(), pointer: String::new() };
    s.walk(value, None, 0);
    s.findings
}

/// A copy of `value` with every secret string replaced by `"[REDACTED:<kind>]"` (the first
/// kind found in it), and the findings.
pub fn redact(value: &Value) -> (Value, Vec<SecretFinding>) {
    let findings = scan(value);
    let mut out = value.clone();
    let mut previous: Option<&str> = None;
    for f in &findings {
        if previous == Some(f.pointer.as_str()) {
            continue;
        }
        previous = Some(&f.pointer);
        if let Some(slot) = out.pointer_mut(&f.pointer) {
            *slot = Value::String(format!("[REDACTED:{}]", f.kind));
        }
    }
    (out, findings)
}

struct Scanner {
    findings: Vec<SecretFinding>,
    pointer: String,
}

impl Scanner {
    fn walk(&mut self, v: &Value, key: Option<&str>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match v {
            Value::String(s) => self.string(s, key),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    self.pointer.push_str(&i.to_string());
                    self.walk(item, key, depth + 1);
                    self.pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                let pair_name = if map.contains_key("value") {
                    ["name", "key", "header"]
                        .iter()
                        .find_map(|k| map.get(*k).and_then(Value::as_str))
                } else {
                    None
                };
                for (k, item) in map {
                    let key = if k == "value" {
                        pair_name.or(Some(k.as_str()))
                    } else {
                        Some(k.as_str())
                    };
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    for ch in k.chars() {
                        match ch {
                            '~' => self.pointer.push_str("~0"),
                            '/' => self.pointer.push_str("~1"),
                            c => self.pointer.push(c),
                        }
                    }
                    self.walk(item, key, depth + 1);
                    self.pointer.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn string(&mut self, s: &str, key: Option<&str>) {
        if s.is_empty() {
            return;
        }
        let start = self.findings.len();
        let hay = floor(s, STRING_CAP);
        for (kind, documented) in embedded(hay) {
            self.found_documented(start, kind, documented);
        }
        if self.findings.len() > start {
            return;
        }
        let class = key.map(key_class).unwrap_or_default();
        if let Some(family) = class.family
            && key_value_is_secret(hay, family)
        {
            let kind = if class.aws_secret && is_aws_secret_value(hay.trim()) {
                "aws-secret-access-key"
            } else {
                family
            };
            self.found(start, kind);
            return;
        }
        if class.key_like && high_entropy(hay) {
            self.found(start, "high-entropy");
        }
    }

    fn found(&mut self, start: usize, kind: &'static str) {
        self.found_documented(start, kind, false);
    }

    fn found_documented(&mut self, start: usize, kind: &'static str, documented: bool) {
        if self.findings[start..].iter().all(|f| f.kind != kind) {
            self.findings.push(SecretFinding { kind, pointer: self.pointer.clone(), documented });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 1: known formats

#[derive(Clone, Copy)]
enum Check {
    /// Any match is this kind.
    Plain(&'static str),
    /// Group 1 is the key type.
    Pem,
    /// Not `sk-ant-`, and the body has digits and both cases.
    OpenAi,
    /// Group 1 is the password; not a placeholder.
    UrlCredentials,
    /// Group 1 is the value; not a placeholder.
    UrlParam,
    /// Group 1 is the name, group 2 the value; validated, kind from the name.
    Assignment,
}

/// The patterns of rule 1. `Assignment` must stay last: it skips spans already reported.
const PATTERNS: &[(Check, &str)] = &[
    (
        Check::Pem,
        r"-----BEGIN ((?:RSA |DSA |EC |ENCRYPTED |OPENSSH |PGP )?)PRIVATE KEY(?: BLOCK)?-----",
    ),
    (Check::Plain("putty-private-key"), r"PuTTY-User-Key-File-\d+:"),
    (Check::Plain("aws-access-key-id"), r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)"),
    (
        Check::Plain("aws-secret-access-key"),
        r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?:[^A-Za-z0-9/+=]|$)"#,
    ),
    (
        Check::Plain("github-token"),
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
    ),
    (Check::Plain("gitlab-token"), r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}"),
    (Check::Plain("slack-token"), r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        Check::Plain("slack-webhook"),
        r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
    ),
    (Check::Plain("stripe-key"), r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    (Check::Plain("anthropic-api-key"), r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{32,}"),
    (Check::OpenAi, r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"),
    (Check::Plain("google-api-key"), r"(?-u:\b)AIza[0-9A-Za-z_-]{35}"),
    (
        Check::Plain("jwt"),
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
    ),
    (Check::Plain("npm-token"), r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)"),
    (Check::Plain("pypi-token"), r"(?-u:\b)pypi-AgE[A-Za-z0-9_-]{50,}"),
    (Check::Plain("twilio-api-key"), r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)"),
    (Check::Plain("sendgrid-api-key"), r"(?-u:\b)SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    (
        Check::Plain("azure-connection-string"),
        r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*[A-Za-z0-9+/]{20,}",
    ),
    (
        Check::Plain("authorization"),
        r#"(?i)authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]{8,}"#,
    ),
    (Check::Plain("api-key"), r#"(?i)x-api-key["']?\s*[:=]\s*["']?[A-Za-z0-9._~+/=-]{16,}"#),
    (
        Check::UrlCredentials,
        r#"(?i)(?-u:\b)[a-z][a-z0-9+.-]{1,20}://[^\s:/?#@"'<>]+:([^\s/?#@"'<>]+)@[^\s/?#"'<>]+"#,
    ),
    (
        Check::UrlParam,
        r#"(?i)[?&](?:access_token|api_key|apikey|token|password|passwd|secret|client_secret|sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature)=([^&\s#"'<>]{8,})"#,
    ),
    (
        Check::Assignment,
        r#"(?i)(?:^|[\s{,;(\[])(?:export\s+)?["']?([a-z0-9_.-]*(?:pass(?:word|wd|phrase)|secrets?|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))["']?\s*[:=]\s*["']?([^\s"'`#,;{}()<>\[\]]+)"#,
    ),
];

/// The compiled [`PATTERNS`]. Each runs on its own: the regex engine skips to its literal
/// prefix, which a `RegexSet` of all of them cannot (measured: 30× slower on 1 MiB of text).
static COMPILED: LazyLock<Vec<Regex>> =
    LazyLock::new(|| PATTERNS.iter().map(|(_, p)| Regex::new(p).expect("static regex")).collect());

/// A word every match of the case-insensitive named patterns contains: the assignment's
/// names (`pass…`, `secret`, `token`, `…key`, `credential`), `aws_secret_access_key`,
/// `AccountKey`, `SharedAccessKey`, `authorization`, `x-api-key`. The assignment pattern starts
/// with a character class, so the regex engine has no literal to skip ahead with and reads
/// every byte, and case-insensitive names are slow to look for one by one; this one search
/// finds all of them, and a string without any skips those patterns (measured on 1 MiB of
/// ordinary text: 2.6 ms → 0.2 ms).
static KEYWORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)pass|secret|token|key|credential|authorization").expect("static regex")
});

/// Whether a match of this pattern always contains one of [`KEYWORDS`].
fn keyed(check: Check) -> bool {
    matches!(
        check,
        Check::Assignment
            | Check::Plain(
                "aws-secret-access-key" | "azure-connection-string" | "authorization" | "api-key"
            )
    )
}

/// The kinds of rule 1 found in `hay`, in pattern order, without repeats.
fn embedded(hay: &str) -> Vec<(&'static str, bool)> {
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // Kinds with a match that is not a documentation sample.
    let mut real: Vec<&'static str> = Vec::new();
    let add = |kinds: &mut Vec<&'static str>, kind: &'static str| {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    };
    let mut keywords: Option<bool> = None;
    for (&(check, _), re) in PATTERNS.iter().zip(COMPILED.iter()) {
        if keyed(check) && !*keywords.get_or_insert_with(|| KEYWORDS.is_match(hay)) {
            continue;
        }
        match check {
            Check::Plain(kind) => {
                for m in re.find_iter(hay).take(MAX_MATCHES) {
                    spans.push((m.start(), m.end()));
                    add(&mut kinds, kind);
                    if !documentation_sample(kind, m.as_str()) {
                        add(&mut real, kind);
                    }
                }
            }
            Check::Pem => {
                for caps in re.captures_iter(hay).take(MAX_MATCHES) {
                    let kind = match caps.get(1).map_or("", |m| m.as_str().trim()) {
                        "OPENSSH" => "openssh-private-key",
                        "PGP" => "pgp-private-key",
                        _ => "private-key",
                    };
                    if let Some(m) = caps.get(0) {
                        spans.push((m.start(), m.end()));
                    }
                    add(&mut kinds, kind);
                }
            }
            Check::OpenAi => {
                for m in re.find_iter(hay).take(MAX_MATCHES) {
                    let token = m.as_str();
                    if token.starts_with("sk-ant-") {
                        continue;
                    }
                    let body = token.get(3..).unwrap_or("");
                    let body = ["proj-", "svcacct-", "admin-"]
                        .iter()
                        .find_map(|p| body.strip_prefix(p))
                        .unwrap_or(body);
                    if body.bytes().any(|b| b.is_ascii_digit())
                        && body.bytes().any(|b| b.is_ascii_uppercase())
                        && body.bytes().any(|b| b.is_ascii_lowercase())
                    {
                        spans.push((m.start(), m.end()));
                        add(&mut kinds, "openai-api-key");
                    }
                }
            }
            Check::UrlCredentials | Check::UrlParam => {
                let kind = if matches!(check, Check::UrlCredentials) {
                    "url-credentials"
                } else {
                    "url-secret-param"
                };
                for caps in re.captures_iter(hay).take(MAX_MATCHES) {
                    let Some(v) = caps.get(1) else { continue };
                    let value =
                        percent_encoding::percent_decode_str(v.as_str()).decode_utf8_lossy();
                    if !placeholder(&value) {
                        if let Some(m) = caps.get(0) {
                            spans.push((m.start(), m.end()));
                        }
                        add(&mut kinds, kind);
                    }
                }
            }
            Check::Assignment => {
                for caps in re.captures_iter(hay).take(MAX_MATCHES) {
                    let (Some(name), Some(value)) = (caps.get(1), caps.get(2)) else {
                        continue;
                    };
                    if spans.iter().any(|&(s, e)| s < value.end() && value.start() < e) {
                        continue;
                    }
                    let Some(family) = key_class(name.as_str()).family else {
                        continue;
                    };
                    let followed_by_call = hay.as_bytes().get(value.end()) == Some(&b'(');
                    if !followed_by_call && embedded_value_is_secret(value.as_str()) {
                        add(&mut kinds, family);
                    }
                }
            }
        }
    }
    // Only the plain formats can be samples; every other kind found is real.
    let plain = |k: &str| PATTERNS.iter().any(|(c, _)| matches!(c, Check::Plain(p) if *p == k));
    kinds.into_iter().map(|k| (k, plain(k) && !real.contains(&k))).collect()
}

/// A key published as an example in its vendor's documentation: AWS's access key IDs end in
/// `EXAMPLE` (`AKIAIOSFODNN7EXAMPLE`) and its secret keys in `EXAMPLEKEY`, Stripe's API
/// reference signs its examples with a few fixed test-mode keys, and jwt.io's sample token is
/// signed with a known signature; an `Authorization` header carrying one of them is a sample too.
fn documentation_sample(kind: &str, value: &str) -> bool {
    match kind {
        "aws-access-key-id" => value.ends_with("EXAMPLE"),
        "stripe-key" => [
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
            "sk_test_26PHem9AhJZvU623DfE1x4sd",
        ]
        .contains(&value),
        "aws-secret-access-key" => value.contains("EXAMPLEKEY"),
        "jwt" => value.ends_with(".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
        // A header whose credential is one of those samples (`Authorization: Bearer <jwt.io's
        // token>` in an API reference).
        "authorization" => value
            .rsplit(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            .find(|t| !t.is_empty())
            .is_some_and(|t| ["jwt", "stripe-key"].iter().any(|k| documentation_sample(k, t))),
        _ => false,
    }
}

/// An assignment's value inside longer text: at least 8 characters (trailing punctuation
/// removed), not a placeholder, not an identifier or dotted name, with a digit, both cases or
/// a symbol.
fn embedded_value_is_secret(v: &str) -> bool {
    let v = v.trim_end_matches(['.', ',', ':', ';', '!', '?', ')']);
    if v.chars().count() < 8 || placeholder(v) || looks_like_path(v) {
        return false;
    }
    if IDENTIFIER.is_match(v) && !v.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    if v.starts_with("http://") || v.starts_with("https://") {
        return false;
    }
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    let symbol = v.bytes().any(|b| b"!@#$%^&*+=/_-~".contains(&b));
    digit || (upper && lower) || symbol
}

/// Identifiers, constants and dotted names: `DB_PASSWORD`, `config.apiKey`, `getToken`.
static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$").expect("static regex")
});

// ---------------------------------------------------------------------------------------------
// Rule 2 and 3: key names

#[derive(Debug, Default, Clone, Copy)]
struct KeyClass {
    /// The kind of a secret key name (rule 2).
    family: Option<&'static str>,
    /// The name may hold key material (rule 3).
    key_like: bool,
    /// An AWS secret access key name.
    aws_secret: bool,
}

fn key_class(key: &str) -> KeyClass {
    // The last 64 letters and digits of the key, lowercased.
    let mut buf = [0u8; 64];
    let mut n = 0;
    for b in key.bytes().rev().filter(u8::is_ascii_alphanumeric) {
        if n == buf.len() {
            break;
        }
        n += 1;
        buf[buf.len() - n] = b.to_ascii_lowercase();
    }
    let k = std::str::from_utf8(&buf[buf.len() - n..]).unwrap_or("");
    if k.is_empty() {
        return KeyClass::default();
    }
    let ends = |list: &[&str]| list.iter().any(|s| k.ends_with(s));
    let has = |list: &[&str]| list.iter().any(|s| k.contains(s));

    let not_a_secret_token = ends(&[
        "pagetoken",
        "nexttoken",
        "progresstoken",
        "continuationtoken",
        "synctoken",
        "cursortoken",
        "resumetoken",
        "paginationtoken",
        "clienttoken",
    ]);
    let family = if ends(&["password", "passwd", "passphrase", "passwords"]) {
        Some("password")
    } else if ends(&["authorization"]) || matches!(k, "auth" | "cookie" | "setcookie") {
        Some("authorization")
    } else if ends(&["apikey", "apikeys"]) {
        Some("api-key")
    } else if ends(&["privatekey", "privkey"]) {
        Some("private-key")
    } else if ends(&[
        "secret",
        "secrets",
        "secretkey",
        "accesskey",
        "credential",
        "credentials",
        "mnemonic",
        "seedphrase",
        "signingkey",
        "encryptionkey",
        "masterkey",
    ]) {
        Some("secret")
    } else if ends(&["token", "bearer"]) && !not_a_secret_token {
        Some("token")
    } else {
        None
    };
    let hashy = has(&[
        "public",
        "sha",
        "md5",
        "hash",
        "digest",
        "etag",
        "checksum",
        "integrity",
        "fingerprint",
        "uuid",
        "guid",
        "cache",
        "idempotency",
        "commit",
        "revision",
        "nonce",
        "keyword",
        "keyboard",
    ]) || ends(&[
        "id",
        "ids",
        "name",
        "names",
        "type",
        "types",
        "path",
        "paths",
        "file",
        "files",
        "url",
        "urls",
        "uri",
        "uris",
        "count",
        "length",
        "size",
        "version",
        "format",
        "hint",
        "ttl",
        "expiry",
        "expires",
        "expiresat",
        "expiration",
        "algorithm",
        "alg",
        "policy",
        "field",
        "label",
    ]) || not_a_secret_token;
    let key_like = !hashy
        && has(&["key", "secret", "token", "auth", "cred", "pass", "sig", "hmac", "private"]);
    KeyClass {
        family,
        key_like,
        aws_secret: (k.contains("aws") && ends(&["secretaccesskey", "secretkey"]))
            || k == "secretaccesskey",
    }
}

/// A value under a secret key name (rule 2) that is not trivial.
fn key_value_is_secret(v: &str, family: &str) -> bool {
    let t = v.trim();
    if placeholder(t) {
        return false;
    }
    if family == "password" {
        return t.chars().count() >= 4;
    }
    t.chars().count() >= 8
        && t.split_whitespace().nth(3).is_none()
        && !looks_like_path(t)
        && !((t.starts_with("http://") || t.starts_with("https://")) && !t.contains('@'))
}

fn is_aws_secret_value(v: &str) -> bool {
    v.len() == 40 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
}

/// Empty values, masks, references and stand-ins.
fn placeholder(v: &str) -> bool {
    let t = v.trim().trim_matches(['"', '\'']);
    let Some(first) = t.chars().next() else {
        return true;
    };
    if t.chars().all(|c| c == first) {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    let starts = [
        "${",
        "$(",
        "{{",
        "<",
        "%",
        "[redacted",
        "op://",
        "env:",
        "vault:",
        "secret:",
        "keyring:",
        "keychain:",
        "arn:aws:secretsmanager",
        "process.env",
        "os.environ",
        "your",
        "insert",
        "replace",
    ];
    if starts.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    if let Some(var) = t.strip_prefix('$')
        && !var.is_empty()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return true;
    }
    matches!(
        lower.as_str(),
        "null"
            | "none"
            | "nil"
            | "undefined"
            | "true"
            | "false"
            | "password"
            | "passwd"
            | "secret"
            | "token"
            | "n/a"
            | "string"
            | "required"
            | "optional"
            | "hidden"
            | "masked"
    ) || ["example", "placeholder", "redacted", "xxxx", "****"].iter().any(|s| lower.contains(s))
}

fn looks_like_path(t: &str) -> bool {
    let b = t.as_bytes();
    t.starts_with('/')
        || t.starts_with("~/")
        || t.starts_with("./")
        || t.starts_with("../")
        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
}

/// Rule 3: a long base64/hex-alphabet value with letters, digits and high Shannon entropy.
fn high_entropy(s: &str) -> bool {
    let t = floor(s.trim(), ENTROPY_CAP);
    let n = t.len();
    if n < 20 {
        return false;
    }
    let mut counts = [0u32; 256];
    let (mut digit, mut alpha, mut hex) = (false, false, true);
    for b in t.bytes() {
        if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-')) {
            return false;
        }
        digit |= b.is_ascii_digit();
        alpha |= b.is_ascii_alphabetic();
        hex &= b.is_ascii_hexdigit();
        counts[usize::from(b)] += 1;
    }
    if !(digit && alpha) || is_uuid(t) {
        return false;
    }
    let len = n as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum();
    let threshold =
        if hex { 3.0_f64.min(len.log2() * 0.7) } else { 4.0_f64.min(len.log2() * 0.85) };
    entropy >= threshold
}

fn is_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Test tokens are assembled at run time so that the source holds no literal secret
    /// (secret scanners would flag it).
    fn tok(parts: &[&str]) -> String {
        parts.concat()
    }

    const ALNUM36: &str = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    const B64_40: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY1a2b3c4d5e";

    fn kinds(v: &Value) -> Vec<(&'static str, String)> {
        scan(v).into_iter().map(|f| (f.kind, f.pointer)).collect()
    }

    fn one(kind: &'static str, pointer: &str) -> Vec<(&'static str, String)> {
        vec![(kind, pointer.to_string())]
    }

    #[test]
    fn private_key_blocks_inside_content() {
        for (header, kind) in [
            ("RSA PRIVATE KEY", "private-key"),
            ("PRIVATE KEY", "private-key"),
            ("EC PRIVATE KEY", "private-key"),
            ("ENCRYPTED PRIVATE KEY", "private-key"),
            ("OPENSSH PRIVATE KEY", "openssh-private-key"),
            ("PGP PRIVATE KEY BLOCK", "pgp-private-key"),
        ] {
            let content = format!(
                "config:\n  a: 1\n{}BEGIN {header}-----\nMIIEowIBAAKCAQEA\n-----END {header}-----\n",
                "-----"
            );
            let v = json!({"path": "/tmp/k", "content": content});
            assert_eq!(kinds(&v), one(kind, "/content"), "{header}");
        }
        let putty = json!({"text": "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none"});
        assert_eq!(kinds(&putty), one("putty-private-key", "/text"));
        let public =
            json!({"content": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"});
        assert!(scan(&public).is_empty());
        let cert =
            json!({"content": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"});
        assert!(scan(&cert).is_empty());
    }

    #[test]
    fn token_formats() {
        let cases: Vec<(String, &str)> = vec![
            (tok(&["AKIA", "IOSFODNN7ABCDEFG"]), "aws-access-key-id"),
            (tok(&["ASIA", "Y34FZKBOKMUTVV7A"]), "aws-access-key-id"),
            (tok(&["ghp_", ALNUM36]), "github-token"),
            (tok(&["gho_", ALNUM36]), "github-token"),
            (tok(&["ghs_", ALNUM36]), "github-token"),
            (tok(&["github_pat_", "11ABCDEFG0123456789_abcdefghijklmnop"]), "github-token"),
            (tok(&["glpat-", "xYz12345678901234567"]), "gitlab-token"),
            (tok(&["xoxb-", "1234567890-0987654321-AbCdEfGh"]), "slack-token"),
            (tok(&["xoxp-", "1234567890-abcdef"]), "slack-token"),
            (
                tok(&["https://hooks.slack.com/services/", "T00000000/B00000000/", "XXXXabcd1234"]),
                "slack-webhook",
            ),
            (tok(&["sk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"]), "stripe-key"),
            (tok(&["rk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"]), "stripe-key"),
            (
                tok(&["sk-", "ant-api03-", "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"]),
                "anthropic-api-key",
            ),
            (tok(&["sk-", "proj-", "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"]), "openai-api-key"),
            (tok(&["sk-", "Ab3dEf6hIj9lMn2pQr5tT3BlbkFJUv8xYz1bCd4fGh7jKl0n"]), "openai-api-key"),
            (tok(&["AIza", "SyD-1234567890abcdefghijklmnopqrstu"]), "google-api-key"),
            (
                tok(&[
                    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                    ".",
                    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ",
                    ".",
                    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
                ]),
                "jwt",
            ),
            (tok(&["npm_", ALNUM36]), "npm-token"),
            (
                tok(&[
                    "pypi-",
                    "AgEIcHlwaS5vcmcCJDEyMzQ1Njc4LTEyMzQtMTIzNC0xMjM0LTEyMzQ1Njc4OTAxMgACJXsi",
                ]),
                "pypi-token",
            ),
            (tok(&["SK", "0123456789abcdef0123456789abcdef"]), "twilio-api-key"),
            (
                tok(&[
                    "SG",
                    ".",
                    "abcdefghijABCDEFGHIJ12",
                    ".",
                    "abcdefghijABCDEFGHIJ1234567890abcdefghijKLM",
                ]),
                "sendgrid-api-key",
            ),
            (
                tok(&[
                    "DefaultEndpointsProtocol=https;AccountName=acct;",
                    "AccountKey=",
                    "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4==",
                    ";EndpointSuffix=core.windows.net",
                ]),
                "azure-connection-string",
            ),
            ("postgres://admin:s3cr3tP4ss@db.example.com:5432/app".to_string(), "url-credentials"),
            ("mongodb+srv://app:Xy7%40pq@cluster0.mongodb.net/db".to_string(), "url-credentials"),
            (
                "https://api.example.com/v1/items?limit=5&access_token=abcdef0123456789"
                    .to_string(),
                "url-secret-param",
            ),
        ];
        for (value, kind) in &cases {
            // Alone, and embedded in a longer string under an innocent key.
            let v = json!({"q": value});
            assert_eq!(kinds(&v), one(kind, "/q"), "{value}");
            let v = json!({"notes": [format!("see ({value}) for details")]});
            assert_eq!(kinds(&v), one(kind, "/notes/0"), "embedded {value}");
        }
    }

    #[test]
    fn aws_secret_access_keys() {
        let creds = format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {B64_40}\nregion = eu-west-1\n",
            tok(&["AKIA", "IOSFODNN7ABCDEFG"])
        );
        let found = kinds(&json!({"content": creds}));
        assert_eq!(
            found,
            vec![
                ("aws-access-key-id", "/content".to_string()),
                ("aws-secret-access-key", "/content".to_string())
            ]
        );
        let env = format!("export AWS_SECRET_ACCESS_KEY=\"{B64_40}\"");
        assert_eq!(kinds(&json!({"c": env})), one("aws-secret-access-key", "/c"));
        for key in ["aws_secret_access_key", "AwsSecretAccessKey", "SECRET_ACCESS_KEY"] {
            let v = json!({"env": {key: B64_40}});
            assert_eq!(kinds(&v), one("aws-secret-access-key", &format!("/env/{key}")), "{key}");
        }
    }

    #[test]
    fn secret_key_names_across_cases() {
        let cases: &[(&str, &str, &str)] = &[
            ("password", "hunter2", "password"),
            ("DB_PASSWORD", "correct horse battery staple", "password"),
            ("passwd", "pa55", "password"),
            ("userPassphrase", "open sesame please", "password"),
            ("secret", "s3cr3t-value", "secret"),
            ("client_secret", "abcdefgh1234", "secret"),
            ("clientSecret", "abcdefgh1234", "secret"),
            ("client-secret", "abcdefgh1234", "secret"),
            ("CLIENT_SECRET", "abcdefgh1234", "secret"),
            ("Client.Secret", "abcdefgh1234", "secret"),
            ("access_key", "abcdefgh1234", "secret"),
            ("credentials", "user:pa55word", "secret"),
            ("token", "abcdefgh1234", "token"),
            ("GITHUB_TOKEN", "abcdefgh1234", "token"),
            ("refreshToken", "abcdefgh1234", "token"),
            ("api_key", "abcdefgh1234", "api-key"),
            ("apikey", "abcdefgh1234", "api-key"),
            ("X-Api-Key", "abcdefgh1234", "api-key"),
            ("private_key", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "private-key"),
            ("Authorization", "Bearer abcdef123456", "authorization"),
            ("auth", "user:pass1234", "authorization"),
            ("Cookie", "session=abc123; theme=dark", "authorization"),
        ];
        for (key, value, kind) in cases {
            let v = json!({"arguments": {*key: value}});
            assert_eq!(kinds(&v), one(kind, &format!("/arguments/{key}")), "{key}");
        }
        // Header lists of name/value pairs.
        let v = json!({"headers": [{"name": "Accept", "value": "application/json"},
                                   {"name": "Authorization", "value": "Basic dXNlcjpwYXNz"}]});
        assert_eq!(kinds(&v), one("authorization", "/headers/1/value"));
        // Arrays under a secret key.
        let v = json!({"passwords": ["first-one", "second-one"]});
        assert_eq!(scan(&v).len(), 2);
        // A specific format wins over the key's family.
        let v = json!({"token": tok(&["ghp_", ALNUM36])});
        assert_eq!(kinds(&v), one("github-token", "/token"));
    }

    #[test]
    fn embedded_assignments() {
        let cases: &[(&str, &str)] = &[
            ("DB_HOST=localhost\nDB_PASSWORD=Xk9mP2vL7q\n", "password"),
            ("export GITHUB_TOKEN=abc123def456ghi789\n", "token"),
            ("stripe:\n  api_key: 'k3yV4lu3-abcdef'\n", "api-key"),
            ("{\"user\":\"bob\",\"password\":\"Tr0ub4dor&3\"}", "password"),
            ("OAUTH_CLIENT_SECRET: \"9f8e7d6c5b4a\"", "secret"),
            ("curl -H 'Authorization: Bearer abcdef0123456789' https://x.io", "authorization"),
            ("curl -H \"X-Api-Key: 0123456789abcdef0123\" https://x.io", "api-key"),
        ];
        for (text, kind) in cases {
            let v = json!({"content": text});
            assert_eq!(kinds(&v), one(kind, "/content"), "{text}");
        }
        let negatives = [
            "const token = getToken();\napiKey: config.apiKey\npassword = os.environ['DB_PASSWORD']\n",
            "password: ${DB_PASSWORD}\ntoken: \"{{ secrets.TOKEN }}\"\nsecret: <your-secret>\n",
            "PASSWORD_MIN_LENGTH=12\nTOKEN_TTL=3600\nSECRET_NAME=prod\n",
            "The password must be at least 8 characters. Token: required.",
            "api_key = process.env.API_KEY\npassword: DB_PASSWORD\naccess_key: ********",
            "Set your API key in settings; the token expires after one hour.",
            "curl -H 'Authorization: Bearer $TOKEN' https://x.io",
        ];
        for text in negatives {
            let v = json!({"content": text});
            assert!(scan(&v).is_empty(), "{text}: {:?}", scan(&v));
        }
    }

    #[test]
    fn high_entropy_under_key_like_names() {
        for key in ["signature", "hmac", "encryption_key_material", "key", "deployKey"] {
            let v = json!({*key: "q8Zr3Lm0Vx7Tn2Wp5Yb9Kc4Hd6Jf1Gs"});
            assert_eq!(kinds(&v), one("high-entropy", &format!("/{key}")), "{key}");
        }
        let hex = json!({"key": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"});
        assert_eq!(kinds(&hex), one("high-entropy", "/key"));
        // Low entropy, no digits, too short, spaces, or under an ordinary name: nothing.
        for v in [
            json!({"key": "aaaaaaaaaaaaaaaaaaaaaaaa1"}),
            json!({"key": "abcdefghijklmnopqrstuvwxyz"}),
            json!({"key": "q8Zr3Lm0Vx7Tn2"}),
            json!({"key": "q8Zr3Lm0 Vx7Tn2Wp5Yb9Kc4Hd6Jf1Gs"}),
            json!({"value": "q8Zr3Lm0Vx7Tn2Wp5Yb9Kc4Hd6Jf1Gs"}),
            json!({"keyId": "q8Zr3Lm0Vx7Tn2Wp5Yb9Kc4Hd6Jf1Gs"}),
            json!({"key": "550e8400-e29b-41d4-a716-446655440000"}),
        ] {
            assert!(scan(&v).is_empty(), "{v}");
        }
    }

    #[test]
    fn no_false_positives() {
        let v = json!({
            "description": "The password must be at least 8 characters and the token expires.",
            "text": "Reset your password at https://example.com/reset?user=bob",
            "path": "/home/user/.ssh/id_rsa",
            "private_key_path": "/home/user/.ssh/id_ed25519",
            "key_file": "~/.config/app/key.pem",
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "requestId": "550e8400-e29b-41d4-a716-446655440000",
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "etag": "\"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
            "commit": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "checksum": "d41d8cd98f00b204e9800998ecf8427e",
            "integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "publicKey": "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
            "cacheKey": "a8f5f167f44f4964e6c998dee827110c",
            "progressToken": "abc123def456ghi789",
            "nextPageToken": "CAEQAAoYc29tZXRoaW5nMTIzNDU2Nzg5MA",
            "maxTokens": 1000,
            "tokenCount": "1234567890",
            "password": "",
            "token": "<your-token>",
            "api_key": "your-api-key-here",
            "secret": "op://vault/item/field",
            "client_secret": "${CLIENT_SECRET}",
            "access_key": "********",
            "auth": true,
            "url": "postgres://user:password@localhost/db",
            "url2": "https://user:${PASS}@example.com/x",
            "url3": "https://example.com/?page_token=abcdefgh12345",
            "url4": "git@github.com:owner/repo.git",
            "sklearn": "pip install sk-learn-tutorial-for-beginners",
            "task": "task-Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n",
            "prose": "AKIA is the prefix of AWS access key ids; eyJ starts a JWT.",
            "markdown": "Use `ghp_` tokens with the `repo` scope.",
            "Bearer": "Bearer",
        });
        assert!(scan(&v).is_empty(), "{:?}", scan(&v));
    }

    #[test]
    fn redaction() {
        let gh = tok(&["ghp_", ALNUM36]);
        let v = json!({
            "a/b": {"password": "hunter2"},
            "list": ["fine", format!("token {gh} here")],
            "keep": 42,
            "nested": [{"x": [{"y": "postgres://u:S3cr3t99@h/db"}]}],
            "content": format!("{}BEGIN OPENSSH PRIVATE KEY-----\nx\n AKIA{}", "-----", "IOSFODNN7ABCDEFG"),
        });
        let (out, findings) = redact(&v);
        assert_eq!(out["a/b"]["password"], "[REDACTED:password]");
        assert_eq!(out["list"][0], "fine");
        assert_eq!(out["list"][1], "[REDACTED:github-token]");
        assert_eq!(out["keep"], 42);
        assert_eq!(out["nested"][0]["x"][0]["y"], "[REDACTED:url-credentials]");
        assert_eq!(out["content"], "[REDACTED:openssh-private-key]");
        let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
        assert!(pointers.contains(&"/a~1b/password"));
        assert!(pointers.contains(&"/list/1"));
        assert!(pointers.contains(&"/nested/0/x/0/y"));
        // Two kinds in one string: two findings, one redaction.
        assert_eq!(pointers.iter().filter(|p| **p == "/content").count(), 2);
        assert_eq!(findings.len(), 5);
        assert_eq!(scan(&out), vec![], "a redacted value holds no secret");

        // The root value itself.
        let (out, findings) = redact(&json!(gh));
        assert_eq!(out, json!("[REDACTED:github-token]"));
        assert_eq!(
            findings,
            vec![SecretFinding { kind: "github-token", pointer: String::new(), documented: false }]
        );

        // Nothing to hide: an equal copy.
        let clean = json!({"path": "/tmp/x", "n": [1, 2, {"q": "hello"}]});
        let (out, findings) = redact(&clean);
        assert_eq!(out, clean);
        assert!(findings.is_empty());

        let f = SecretFinding { kind: "jwt", pointer: "/a".into(), documented: false };
        assert_eq!(serde_json::to_value(&f).unwrap(), json!({"kind": "jwt", "pointer": "/a"}));
    }

    #[test]
    fn limits_and_odd_input() {
        let gh = tok(&["ghp_", ALNUM36]);
        // Depth: found at 60 levels, not beyond 64 (and the copy keeps it as is).
        let mut shallow = json!(gh.clone());
        for _ in 0..60 {
            shallow = json!([shallow]);
        }
        assert_eq!(scan(&shallow).len(), 1);
        let mut deep = json!(gh.clone());
        for _ in 0..100 {
            deep = json!({"k": deep});
        }
        assert!(scan(&deep).is_empty());
        let (out, _) = redact(&deep);
        assert_eq!(out, deep);

        // Size: the first 1 MiB is scanned, on a char boundary.
        let pad = "é".repeat(STRING_CAP / 2 + 7);
        let late = json!({"c": format!("{pad}{gh}")});
        assert!(scan(&late).is_empty());
        let early = json!({"c": format!("{gh}{pad}")});
        assert_eq!(kinds(&early), one("github-token", "/c"));
        let big = json!({"key": "Zq9".repeat(2_000_000)});
        scan(&big);

        // Odd shapes.
        for v in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!({"": ""}),
            json!({"~/": "x"}),
            json!({"value": "hunter2", "name": 5}),
            json!({"value": "hunter22", "key": "password"}),
            json!({"password": {"nested": ["a", null, 3]}}),
            json!("-----BEGIN  PRIVATE KEY-----"),
            json!("sk-"),
            json!("postgres://:@"),
        ] {
            let (out, findings) = redact(&v);
            if findings.is_empty() {
                assert_eq!(out, v);
            }
        }
        let pair = json!({"key": "password", "value": "hunter22"});
        assert_eq!(kinds(&pair), one("password", "/value"));
    }
}
