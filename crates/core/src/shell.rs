//! Shell commands that only read: `ls -la src`, `git status`, `grep -rn TODO src | wc -l`.
//!
//! A tool that runs commands is `exec`, and exec asks. Most of what an agent runs in a
//! project only looks at it, and a prompt for each `ls` teaches a person to click "approve"
//! without reading. [`read_only`] recognises a command line made only of programs that read,
//! used with options that neither write nor run anything else, so that the classifier can call
//! the call a `read` — and hand every word the programs could open to the path checks, so a
//! read outside the roots or of a credential still asks or is refused.
//!
//! It is deliberately narrow; anything it does not understand is not read-only (the call stays
//! `exec` and asks):
//!
//! * The line is split as a POSIX shell would split it: single and double quotes, backslash
//!   escapes, and the operators `|`, `||`, `&&`, `;` and newlines between simple commands. A
//!   `#` that starts a word starts a comment.
//! * Refused outright: `$` outside single quotes (parameter expansion, `$(…)`, arithmetic) and
//!   backticks, since what they expand to is unknown; redirections other than to `/dev/null`
//!   (`2>/dev/null`, `>/dev/null`, `&>/dev/null`) and `2>&1`; input redirection, `&` (a
//!   background job), subshells and groups (`(`, `)`, `{`, `}`); a leading variable assignment
//!   (`PAGER=… git log`, `LD_PRELOAD=…`); an unquoted glob (`*`, `?`, `[`), whose expansion
//!   could name a link to somewhere else; `~user`; and a program named by a path (`./cat`,
//!   `/tmp/ls`): only names looked up on `PATH` count.
//! * The programs: `cat head tail wc nl cut tr column cmp diff ls tree stat file du df pwd
//!   echo printf basename dirname realpath readlink which whoami id uname date true false
//!   md5sum sha1sum sha256sum sha512sum grep egrep fgrep rg find sort uniq` and `git` with a
//!   reading subcommand (`status log diff show blame ls-files ls-tree rev-parse describe
//!   shortlog grep cat-file`, and `branch`, `tag`, `remote`, `stash list`, `reflog` only as
//!   listings). Each has the options that write or run named and refused: `find -exec/-delete/
//!   -fprint…/-L`, `sort -o`/`--compress-program`, `rg --pre`/`-z`/`-L`, `grep -R`, `tree -o`,
//!   `file -C`, `date -s`, `uniq IN OUT`, and for `git` any option before the subcommand but
//!   `--no-pager`/`-P`, and `--output`, `--ext-diff`, `-O`/`--open-files-in-pager`.
//! * Every other word (an operand, or the value of a long option that names a path) is
//!   returned as an operand: the caller checks it as a path. So is the working directory
//!   (`.`), which `ls`, `grep -r`, `find` and `git` read without naming it.
//!
//! A repository's own `.git/config` can make `git status` run a program (`core.fsmonitor`);
//! writing that file is a start-up-file change that asks (see [`crate::sandbox`]).

/// What a read-only command line reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    /// The programs it runs, in order (`["git status", "wc"]`).
    pub programs: Vec<String>,
    /// The words the programs may open, to be checked as paths relative to the command's
    /// working directory; the first is always `.`.
    pub operands: Vec<String>,
}

/// The longest command line looked at; a longer one is not read-only.
const MAX_LEN: usize = 4096;
/// The most words in a command line.
const MAX_WORDS: usize = 256;

/// The command line `cmd` when it only reads (see the module docs), else `None`.
pub fn read_only(cmd: &str) -> Option<ReadOnly> {
    if cmd.len() > MAX_LEN {
        return None;
    }
    let commands = split(cmd)?;
    if commands.is_empty() {
        return None;
    }
    let mut out = ReadOnly { programs: Vec::new(), operands: vec![".".to_string()] };
    for words in &commands {
        let program = check(words, &mut out.operands)?;
        out.programs.push(program);
    }
    Some(out)
}

/// One word of a simple command, and whether any of it was quoted (a quoted glob is literal).
#[derive(Debug)]
struct Word {
    text: String,
    glob: bool,
}

/// The state of [`split`]: the simple commands so far and the word being read.
#[derive(Default)]
struct Lexer {
    commands: Vec<Vec<Word>>,
    words: Vec<Word>,
    word: String,
    in_word: bool,
    glob: bool,
    count: usize,
    /// After `|`, `||` or `&&` another command must follow.
    dangling: bool,
}

impl Lexer {
    /// Ends the current word, if any; `None` past [`MAX_WORDS`].
    fn end_word(&mut self) -> Option<()> {
        if self.in_word {
            self.count += 1;
            if self.count > MAX_WORDS {
                return None;
            }
            self.words.push(Word { text: std::mem::take(&mut self.word), glob: self.glob });
            self.in_word = false;
            self.glob = false;
            self.dangling = false;
        }
        Some(())
    }

    /// Ends the current simple command; an operator with nothing before it is refused.
    fn end_command(&mut self, needs_words: bool) -> Option<()> {
        self.end_word()?;
        if self.words.is_empty() {
            if needs_words {
                return None;
            }
        } else {
            self.commands.push(std::mem::take(&mut self.words));
        }
        Some(())
    }

    /// Ends a command at `|`, `||` or `&&`, after which another must follow.
    fn operator(&mut self) -> Option<()> {
        self.end_command(true)?;
        self.dangling = true;
        Some(())
    }
}

/// Splits a command line into simple commands of words; `None` for anything refused.
fn split(cmd: &str) -> Option<Vec<Vec<Word>>> {
    let mut lx = Lexer::default();
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => lx.end_word()?,
            '\n' => lx.end_command(false)?,
            '#' if !lx.in_word => {
                // A comment runs to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                lx.end_command(false)?;
            }
            '\'' => {
                lx.in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => lx.word.push(c),
                    }
                }
            }
            '"' => {
                lx.in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => lx.word.push(c),
                            '\n' => {}
                            c => {
                                lx.word.push('\\');
                                lx.word.push(c);
                            }
                        },
                        c => lx.word.push(c),
                    }
                }
            }
            '\\' => match chars.next()? {
                '\n' => {}
                c => {
                    lx.in_word = true;
                    lx.word.push(c);
                }
            },
            '$' | '`' | '(' | ')' | '<' => return None,
            '|' => {
                if chars.peek() == Some(&'|') {
                    chars.next();
                }
                lx.operator()?;
            }
            ';' => lx.end_command(true)?,
            '&' => {
                if chars.peek() == Some(&'&') {
                    chars.next();
                    lx.operator()?;
                } else if chars.peek() == Some(&'>') && !lx.in_word {
                    // `&>/dev/null`
                    chars.next();
                    redirect_to_null(&mut chars)?;
                } else {
                    return None; // a background job
                }
            }
            '>' => {
                // `>/dev/null`, `2>/dev/null`, `2>&1`: the word so far must be a descriptor.
                if lx.in_word && !(lx.word == "1" || lx.word == "2") {
                    return None;
                }
                let fd = std::mem::take(&mut lx.word);
                lx.in_word = false;
                lx.glob = false;
                if chars.peek() == Some(&'>') {
                    chars.next(); // `>>` to /dev/null is as harmless
                }
                if chars.peek() == Some(&'&') {
                    chars.next();
                    let target = chars.next()?;
                    if !(fd == "2" && target == '1') {
                        return None;
                    }
                    match chars.peek() {
                        None | Some(' ' | '\t' | '\n' | '|' | ';' | '&') => {}
                        Some(_) => return None,
                    }
                } else {
                    redirect_to_null(&mut chars)?;
                }
            }
            '*' | '?' | '[' => {
                lx.in_word = true;
                lx.glob = true;
                lx.word.push(c);
            }
            c => {
                lx.in_word = true;
                lx.word.push(c);
            }
        }
    }
    lx.end_command(false)?;
    if lx.dangling {
        return None;
    }
    Some(lx.commands)
}

/// Reads the target of a redirection, which must be `/dev/null`.
fn redirect_to_null(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<()> {
    while chars.peek() == Some(&' ') {
        chars.next();
    }
    let mut target = String::new();
    while let Some(&c) = chars.peek() {
        if matches!(c, ' ' | '\t' | '\n' | '|' | ';' | '&') {
            break;
        }
        target.push(c);
        chars.next();
    }
    (target == "/dev/null").then_some(())
}

/// How one program's options are read.
struct Program {
    name: &'static str,
    /// Short option letters that write, run something or follow links (`sort -o`).
    short: &'static str,
    /// Long options (or single-dash predicates, for `find`) that do, matched by prefix.
    long: &'static [&'static str],
    /// At most this many operands (`uniq IN OUT` writes OUT).
    max_operands: usize,
}

const fn p(name: &'static str) -> Program {
    Program { name, short: "", long: &[], max_operands: usize::MAX }
}

const PROGRAMS: &[Program] = &[
    p("cat"),
    p("head"),
    p("tail"),
    p("wc"),
    p("nl"),
    p("cut"),
    p("tr"),
    p("column"),
    p("cmp"),
    p("diff"),
    p("ls"),
    Program { name: "tree", short: "ol", long: &["--fromfile"], max_operands: usize::MAX },
    p("stat"),
    Program { name: "file", short: "C", long: &["--compile"], max_operands: usize::MAX },
    p("du"),
    p("df"),
    p("pwd"),
    p("echo"),
    p("printf"),
    p("basename"),
    p("dirname"),
    p("realpath"),
    p("readlink"),
    p("which"),
    p("whoami"),
    p("id"),
    p("uname"),
    Program { name: "date", short: "sf", long: &["--set", "--file"], max_operands: usize::MAX },
    p("true"),
    p("false"),
    p("md5sum"),
    p("sha1sum"),
    p("sha256sum"),
    p("sha512sum"),
    Program {
        name: "grep",
        short: "R",
        long: &["--dereference-recursive"],
        max_operands: usize::MAX,
    },
    Program {
        name: "egrep",
        short: "R",
        long: &["--dereference-recursive"],
        max_operands: usize::MAX,
    },
    Program {
        name: "fgrep",
        short: "R",
        long: &["--dereference-recursive"],
        max_operands: usize::MAX,
    },
    Program {
        name: "rg",
        short: "Lz",
        long: &["--follow", "--pre", "--search-zip", "--hostname-bin"],
        max_operands: usize::MAX,
    },
    Program {
        name: "find",
        short: "",
        long: &[
            "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fls", "-L", "-follow",
        ],
        max_operands: usize::MAX,
    },
    Program {
        name: "sort",
        short: "o",
        long: &["--output", "--compress-program"],
        max_operands: usize::MAX,
    },
    Program { name: "uniq", short: "", long: &[], max_operands: 1 },
];

/// `git` subcommands that only read, with the operands allowed (`None`: any).
const GIT_READ: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "blame",
    "ls-files",
    "ls-tree",
    "rev-parse",
    "describe",
    "shortlog",
    "grep",
    "cat-file",
];
/// `git` subcommands that only read when they are given no operand (a listing).
const GIT_LISTINGS: &[&str] = &["branch", "tag", "remote", "reflog"];
/// Options refused in every `git` subcommand: they write a file or run a program.
const GIT_REFUSED: &[&str] = &[
    "--output",
    "--ext-diff",
    "--open-files-in-pager",
    "--exec",
    "--upload-pack",
    "--receive-pack",
];

/// Checks one simple command; its name for the reason, or `None` when it is not read-only.
fn check(words: &[Word], operands: &mut Vec<String>) -> Option<String> {
    let first = words.first()?;
    let name = first.text.as_str();
    // A leading assignment, a path to a program, or a glob in the program's name.
    if first.glob || name.contains('=') || name.contains('/') {
        return None;
    }
    for w in words {
        if w.glob || w.text.starts_with('~') && !(w.text == "~" || w.text.starts_with("~/")) {
            return None;
        }
    }
    if name == "git" {
        return check_git(&words[1..], operands);
    }
    let program = PROGRAMS.iter().find(|p| p.name == name)?;
    let mut count = 0usize;
    let mut options_done = false;
    for w in &words[1..] {
        let t = w.text.as_str();
        if !options_done && t == "--" {
            options_done = true;
            continue;
        }
        if !options_done && t.starts_with('-') && t.len() > 1 {
            if program.name == "find" {
                // `find`'s predicates are single-dash words (`-exec`, `-fprint0`).
                if program.long.iter().any(|l| t.starts_with(l)) {
                    return None;
                }
                continue;
            }
            option(program, t, operands)?;
            continue;
        }
        count += 1;
        if count > program.max_operands {
            return None;
        }
        operands.push(t.to_string());
    }
    Some(program.name.to_string())
}

/// Checks one option of `program`; a long option's value that names a path is an operand.
fn option(program: &Program, t: &str, operands: &mut Vec<String>) -> Option<()> {
    if let Some(long) = t.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or("");
        if program.long.iter().any(|l| l.trim_start_matches('-') == name) {
            return None;
        }
        if let Some((_, value)) = long.split_once('=')
            && (value.contains('/') || value.starts_with('~') || value == "..")
        {
            operands.push(value.to_string());
        }
        return Some(());
    }
    if t[1..].chars().any(|c| program.short.contains(c)) {
        return None;
    }
    Some(())
}

fn check_git(words: &[Word], operands: &mut Vec<String>) -> Option<String> {
    let mut rest = words;
    // Options before the subcommand: only those that change nothing.
    while let Some(w) = rest.first() {
        match w.text.as_str() {
            "--no-pager" | "-P" | "--no-optional-locks" => rest = &rest[1..],
            t if t.starts_with('-') => return None,
            _ => break,
        }
    }
    let (sub, args) = rest.split_first()?;
    let sub = sub.text.as_str();
    let listing_only = if GIT_READ.contains(&sub) {
        false
    } else if GIT_LISTINGS.contains(&sub) {
        true
    } else if sub == "stash" {
        // `git stash list` only.
        if args.first().map(|w| w.text.as_str()) != Some("list") {
            return None;
        }
        return Some("git stash list".to_string());
    } else {
        return None;
    };
    let mut options_done = false;
    for w in args {
        let t = w.text.as_str();
        if !options_done && t == "--" {
            options_done = true;
            continue;
        }
        if !options_done && t.starts_with('-') && t.len() > 1 {
            if listing_only {
                // A listing's options: those that list (`-a`, `-v`, `--list`), nothing that
                // creates, deletes, moves or sets (`-d`, `-m`, `--set-upstream-to`, `add`).
                let ok = matches!(
                    t,
                    "-a" | "-r"
                        | "-v"
                        | "-vv"
                        | "-l"
                        | "--all"
                        | "--remotes"
                        | "--list"
                        | "--verbose"
                        | "--show-current"
                        | "--no-color"
                        | "--color"
                        | "--merged"
                        | "--no-merged"
                        | "--contains"
                );
                if !ok {
                    return None;
                }
                continue;
            }
            let name = t.split('=').next().unwrap_or(t);
            let short_o = !t.starts_with("--") && t.contains('O');
            if GIT_REFUSED.contains(&name) || (sub == "grep" && short_o) {
                return None;
            }
            if let Some((_, value)) = t.split_once('=')
                && (value.contains('/') || value.starts_with('~'))
            {
                operands.push(value.to_string());
            }
            continue;
        }
        if listing_only {
            // `git branch new-name`, `git tag v1`, `git remote add …`, `git reflog expire`.
            return None;
        }
        operands.push(t.to_string());
    }
    Some(format!("git {sub}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(cmd: &str) -> Vec<String> {
        match read_only(cmd) {
            Some(r) => r.operands,
            None => panic!("`{cmd}` should be read-only"),
        }
    }

    fn not_read_only(cmd: &str) {
        assert_eq!(read_only(cmd), None, "`{cmd}` must not be read-only");
    }

    #[test]
    fn everyday_reads_are_read_only() {
        assert_eq!(reads("ls -la src"), [".", "src"]);
        assert_eq!(reads("git status"), ["."]);
        assert_eq!(reads("git --no-pager log --oneline -n 20"), [".", "20"]);
        assert_eq!(reads("grep -rn 'TODO: fix' src | wc -l"), [".", "TODO: fix", "src"]);
        assert_eq!(
            reads("cat README.md && head -n 5 Cargo.toml"),
            [".", "README.md", "5", "Cargo.toml"]
        );
        assert_eq!(reads("find . -name '*.rs' -type f"), [".", ".", "*.rs", "f"]);
        assert_eq!(reads("rg -n \"fn main\" --glob='src/*.rs'"), [".", "fn main", "src/*.rs"]);
        assert_eq!(reads("git diff HEAD~1 -- src/lib.rs"), [".", "HEAD~1", "src/lib.rs"]);
        assert_eq!(reads("wc -l src/main.rs 2>/dev/null"), [".", "src/main.rs"]);
        assert_eq!(reads("git log 2>&1 | head"), ["."]);
        assert_eq!(reads("git branch -a"), ["."]);
        assert_eq!(reads("git stash list"), ["."]);
        assert_eq!(reads("pwd; echo done # a note"), [".", "done"]);
        assert_eq!(reads("cat ~/notes.txt"), [".", "~/notes.txt"]);
        assert_eq!(reads("cat a\\ b.txt"), [".", "a b.txt"]);
        let r = read_only("git status && ls | sort").unwrap();
        assert_eq!(r.programs, ["git status", "ls", "sort"]);
    }

    #[test]
    fn anything_that_writes_runs_or_expands_is_not() {
        for cmd in [
            "",
            "   ",
            "rm -rf src",
            "ls > files.txt",
            "ls >> files.txt",
            "cat < input",
            "echo $HOME",
            "echo \"$HOME\"",
            "cat $(which ls)",
            "cat `which ls`",
            "ls &",
            "(ls)",
            "{ ls; }",
            "PAGER=evil git log",
            "LD_PRELOAD=/tmp/x.so ls",
            "./ls",
            "/tmp/evil/cat x",
            "ls *.rs",
            "cat ~root/.ssh/id_rsa",
            "find . -name x -exec rm {} ;",
            "find . -delete",
            "find -L . -name x",
            "find . -fprint0 out",
            "sort -o out.txt in.txt",
            "sort --output=out.txt in.txt",
            "sort --compress-program=sh in",
            "rg --pre ./script pattern",
            "rg -z pattern",
            "grep -R key .",
            "grep -Rn key .",
            "tree -o out.txt",
            "file -C -m magic",
            "date -s 2020-01-01",
            "uniq in.txt out.txt",
            "git commit -m x",
            "git push",
            "git checkout main",
            "git -c core.pager=sh log",
            "git -C .. status",
            "git branch new-feature",
            "git branch -D main",
            "git tag v1.0",
            "git remote add origin x",
            "git reflog expire --all",
            "git stash",
            "git stash pop",
            "git diff --output=/tmp/x",
            "git diff --ext-diff",
            "git grep -Ovim foo",
            "git grep --open-files-in-pager=vim foo",
            "ls | sh",
            "cat x | xargs rm",
            "curl https://example.com",
            "ls ||",
            "| ls",
            "ls ;; ls",
            "echo 'unterminated",
            "echo \"unterminated",
            "ls 3>/dev/null",
            "ls >/tmp/x",
            "ls 2>&2",
            "ls 2>&1x",
            "env",
            "printenv",
            "sudo ls",
        ] {
            not_read_only(cmd);
        }
    }

    #[test]
    fn quoting_keeps_operators_literal() {
        assert_eq!(reads("grep 'a | b; c && d' src"), [".", "a | b; c && d", "src"]);
        assert_eq!(reads("grep \"x > y\" f"), [".", "x > y", "f"]);
        assert_eq!(reads("grep '$HOME' f"), [".", "$HOME", "f"]);
        assert_eq!(reads("grep \\$HOME f"), [".", "$HOME", "f"]);
    }

    #[test]
    fn long_lines_are_not_read() {
        let long = format!("ls {}", "a ".repeat(300));
        not_read_only(&long);
        not_read_only(&"x".repeat(MAX_LEN + 1));
    }
}
