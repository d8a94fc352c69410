//! Putting an entry's original value back into a file its client has re-serialized since
//! install.
//!
//! When the entry's text is still what install wrote, uninstall puts the original text back
//! byte for byte. When only its form changed (Claude Code rewrites `~/.claude.json` with each
//! `args` element on its own line; a person re-indents a file), the original text would bring
//! back the old formatting in the middle of the new one. Instead, [`revert`] undoes what install
//! did on the entry as it is now, in place: a value install replaced gets its original text
//! back, members install added are removed, the arguments install put in front of `args` are
//! removed. Everything the client wrote around them — indentation, line breaks, key order,
//! comments — stays as the client wrote it.

use std::ops::Range;

use crate::jsonc::{Kind, Node, same_value};

/// The edits of `text` (spans in `text`) that turn `current` — a node of `text` — into the
/// value of `original` (a node of `source`), changing only what differs.
pub fn revert(
    text: &str,
    current: &Node,
    source: &str,
    original: &Node,
) -> Vec<(Range<usize>, String)> {
    let mut edits = Vec::new();
    walk(text, current, source, original, &mut edits);
    edits
}

fn walk(
    text: &str,
    current: &Node,
    source: &str,
    original: &Node,
    edits: &mut Vec<(Range<usize>, String)>,
) {
    let now = current.to_value(text);
    let was = original.to_value(source);
    if same_value(&now, &was) {
        return;
    }
    let replace = |edits: &mut Vec<(Range<usize>, String)>| {
        edits.push((current.span.clone(), source[original.span.clone()].to_owned()));
    };
    match (&current.kind, &original.kind) {
        (Kind::Object(members), Kind::Object(_)) => {
            // A key the original had and the entry lost: nothing install does; put the whole
            // original value back.
            if original.members().iter().any(|m| current.member(&m.key).is_none()) {
                return replace(edits);
            }
            let mut gone = vec![false; members.len()];
            for (i, member) in members.iter().enumerate() {
                match original.get(&member.key) {
                    None => gone[i] = true,
                    // Only the last of duplicated keys counts, as JSON readers see it.
                    Some(was)
                        if std::ptr::eq(current.member(&member.key).unwrap_or(member), member) =>
                    {
                        walk(text, &member.value, source, was, edits);
                    }
                    Some(_) => {}
                }
            }
            let spans: Vec<(Range<usize>, Range<usize>)> =
                members.iter().map(|m| (m.key_span.clone(), m.value.span.clone())).collect();
            remove(current, &spans, &gone, "{}", edits);
        }
        (Kind::Array(items), Kind::Array(wanted)) => {
            // Install puts its arguments in front of the original ones.
            let extra = items.len().checked_sub(wanted.len());
            let tail_same = extra.is_some_and(|extra| {
                items[extra..]
                    .iter()
                    .zip(wanted)
                    .all(|(i, w)| same_value(&i.to_value(text), &w.to_value(source)))
            });
            match extra {
                Some(extra) if tail_same => {
                    let gone: Vec<bool> = (0..items.len()).map(|i| i < extra).collect();
                    let spans: Vec<(Range<usize>, Range<usize>)> =
                        items.iter().map(|i| (i.span.clone(), i.span.clone())).collect();
                    remove(current, &spans, &gone, "[]", edits);
                }
                Some(0) => {
                    for (item, was) in items.iter().zip(wanted) {
                        walk(text, item, source, was, edits);
                    }
                }
                _ => replace(edits),
            }
        }
        _ => replace(edits),
    }
}

/// Removes the members (or items) marked `gone` from the container `node`, each given as the
/// span of its start (key) and of its value, with the commas and spacing between them: a run
/// followed by a kept one is cut up to that one's start, a run at the end from the end of the
/// kept one before it. A container left empty becomes `empty`.
fn remove(
    node: &Node,
    spans: &[(Range<usize>, Range<usize>)],
    gone: &[bool],
    empty: &str,
    edits: &mut Vec<(Range<usize>, String)>,
) {
    if !gone.iter().any(|g| *g) {
        return;
    }
    if gone.iter().all(|g| *g) {
        // Nothing inside is kept, so edits made inside (none: they are all gone) cannot clash.
        edits.retain(|(span, _)| !(span.start >= node.span.start && span.end <= node.span.end));
        edits.push((node.span.clone(), empty.to_owned()));
        return;
    }
    let mut i = 0;
    while i < gone.len() {
        if !gone[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < gone.len() && gone[i] {
            i += 1;
        }
        let span = if i < gone.len() {
            spans[first].0.start..spans[i].0.start
        } else {
            spans[first - 1].1.end..spans[i - 1].1.end
        };
        edits.push((span, String::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonc::{parse, value_of as value};

    /// `text` with its node at `pointer` reverted to `original`.
    fn reverted(text: &str, original: &str) -> String {
        let now = parse(text).unwrap();
        let was = parse(original).unwrap();
        crate::install::apply(text, revert(text, &now, original, &was))
    }

    #[test]
    fn a_re_serialized_wrapped_entry_gets_its_original_value_back_in_the_new_layout() {
        let original =
            "{\"command\": \"npx\", \"args\": [\"-y\", \"srv\"], \"env\": {\"K\": \"v\"}}";
        // As Claude Code writes it back: two spaces, one element per line.
        let now = "{\n  \"command\": \"/opt/mcpfw\",\n  \"args\": [\n    \"wrap\",\n    \"--name\",\n    \"fs\",\n    \"--\",\n    \"npx\",\n    \"-y\",\n    \"srv\"\n  ],\n  \"env\": {\n    \"K\": \"v\"\n  }\n}";
        assert_eq!(
            reverted(now, original),
            "{\n  \"command\": \"npx\",\n  \"args\": [\n    \"-y\",\n    \"srv\"\n  ],\n  \"env\": {\n    \"K\": \"v\"\n  }\n}"
        );
        // Keys reordered by the client stay in its order.
        let now = "{\"env\": {\"K\": \"v\"}, \"args\": [\"wrap\", \"--name\", \"fs\", \"--\", \"npx\", \"-y\", \"srv\"], \"command\": \"/opt/mcpfw\"}";
        assert_eq!(
            reverted(now, original),
            "{\"env\": {\"K\": \"v\"}, \"args\": [\"-y\", \"srv\"], \"command\": \"npx\"}"
        );
    }

    #[test]
    fn members_and_arguments_install_added_are_removed_with_their_commas() {
        // `args` added at the end, in the middle, and as the only other member.
        assert_eq!(
            reverted(
                "{\n  \"command\": \"/m\",\n  \"args\": [\n    \"wrap\"\n  ]\n}",
                "{\"command\": \"srv\"}"
            ),
            "{\n  \"command\": \"srv\"\n}"
        );
        assert_eq!(
            reverted(
                "{\"args\": [\"wrap\", \"srv\"], \"command\": \"/m\", \"x\": 1}",
                "{\"command\": \"srv\", \"x\": 1}"
            ),
            "{\"command\": \"srv\", \"x\": 1}"
        );
        assert_eq!(reverted("{\"args\": [\"wrap\"]}", "{\"args\": []}"), "{\"args\": []}");
        assert_eq!(reverted("{\"a\": {\"t\": 1}}", "{\"a\": {}}"), "{\"a\": {}}");
        // A routed remote entry: its address and the token header.
        assert_eq!(
            reverted(
                "{\n    \"url\": \"http://127.0.0.1:1/s/d/mcp\",\n    \"headers\": {\n        \"X-MCPFW-Token\": \"t\",\n        \"K\": \"v\"\n    }\n}",
                "{\"url\": \"https://h/mcp\", \"headers\": {\"K\": \"v\"}}"
            ),
            "{\n    \"url\": \"https://h/mcp\",\n    \"headers\": {\n        \"K\": \"v\"\n    }\n}"
        );
        // Whatever the differences, the result holds the original value.
        for (now, was) in [
            ("{\"a\": [1, 2, 3]}", "{\"a\": [4]}"),
            ("{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"b\": 2}"),
            ("{\"a\": 1}", "{\"a\": 1, \"b\": [true]}"),
            ("[1, {\"x\": null}]", "{\"a\": 1}"),
            ("{\"a\": 1, \"a\": 2}", "{\"a\": 3}"),
        ] {
            let out = reverted(now, was);
            assert!(same_value(&value(&out).unwrap(), &value(was).unwrap()), "{now} → {out}");
        }
    }
}
