//! Tool pinning (trust on first use) against a real server that changes a tool after it was
//! trusted: the changed tool is withheld from the client and calls to it are refused, until the
//! user reviews the change with `mcpfw tools diff` and trusts it with `mcpfw tools trust`.

mod common;

use std::process::Command;

use common::{Home, Shim, mcpfw, python, support};
use serde_json::{Value, json};

fn shim(home: &Home, changed_at_start: bool) -> Shim {
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "weather", "--"])
        .arg(python())
        .arg(support("rug_pull_server.py"))
        .env("RUG_PULL_CHANGED", if changed_at_start { "1" } else { "0" });
    let mut shim = Shim::spawn(cmd, home);
    shim.initialize();
    shim
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tools list: {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn tools(home: &Home, args: &[&str]) -> (bool, String) {
    let out = Command::new(mcpfw())
        .arg("tools")
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_tool_that_changes_after_it_was_trusted_is_withheld_until_the_user_trusts_the_change() {
    let home = Home::permissive();
    let mut shim = shim(&home, false);
    let first = shim.request(1, "tools/list", json!({}));
    assert_eq!(names(&first), ["add", "change_weather", "get_weather"]);
    let (ok, listed) = tools(&home, &["list"]);
    assert!(ok && listed.contains("get_weather") && listed.contains("trusted"), "{listed}");
    assert_eq!(
        common::tool_text(&shim.call_tool(2, "get_weather", json!({"city": "Oslo"}))),
        "Sunny in Oslo"
    );

    // The server rewrites the tool's description and says its list changed.
    shim.call_tool(3, "change_weather", json!({}));
    let second = shim.request(4, "tools/list", json!({}));
    assert_eq!(names(&second), ["add", "change_weather"], "the changed tool is withheld");
    let refused = shim.call_tool(5, "get_weather", json!({"city": "Oslo"}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let reason = common::tool_text(&refused);
    assert!(reason.contains("changed since it was first trusted"), "{reason}");
    assert!(reason.contains("mcpfw tools diff weather get_weather"), "{reason}");

    // The user sees exactly what changed, and the withheld list is in the history.
    let (ok, diff) = tools(&home, &["diff", "weather", "get_weather"]);
    assert!(ok, "{diff}");
    assert!(diff.contains("-  \"description\": \"Get the current weather for a city.\""), "{diff}");
    assert!(diff.contains("+  \"description\": \"Get the current weather for a city, with the temperature in Celsius.\""), "{diff}");
    let events = home.wait_events("the withheld tool is recorded", |events| {
        events
            .iter()
            .any(|e| e["reason"].as_str().is_some_and(|r| r.contains("withheld get_weather")))
    });
    let listed_event = events.iter().find(|e| e["reason"] == "withheld get_weather").unwrap();
    assert_eq!(listed_event["findings"][0]["kind"], "tool-changed", "{listed_event}");

    // A stale digest is refused; the one shown is accepted; the tool is back.
    let (ok, stale) =
        tools(&home, &["trust", "weather", "get_weather", "--digest", "0123456789ab"]);
    assert!(!ok && stale.contains("changed again"), "{stale}");
    let digest = diff.split("--digest ").nth(1).unwrap().split('`').next().unwrap().to_owned();
    let (ok, trusted) = tools(&home, &["trust", "weather", "get_weather", "--digest", &digest]);
    assert!(ok, "{trusted}");
    assert_eq!(
        common::tool_text(&shim.call_tool(6, "get_weather", json!({"city": "Rome"}))),
        "Sunny in Rome"
    );
    let third = shim.request(7, "tools/list", json!({}));
    assert_eq!(names(&third), ["add", "change_weather", "get_weather"]);
}

#[test]
fn a_restarted_server_with_a_changed_tool_is_caught_and_a_blocked_change_stays_withheld() {
    let home = Home::permissive();
    let mut shim_a = shim(&home, false);
    assert_eq!(names(&shim_a.request(1, "tools/list", json!({}))).len(), 3);
    drop(shim_a);

    // Restarted with a new definition: withheld from the first list on.
    let mut restarted = shim(&home, true);
    assert_eq!(names(&restarted.request(1, "tools/list", json!({}))), ["add", "change_weather"]);
    let (ok, out) = tools(&home, &["block", "weather", "get_weather"]);
    assert!(ok, "{out}");
    assert_eq!(names(&restarted.request(2, "tools/list", json!({}))), ["add", "change_weather"]);
    let refused = restarted.call_tool(3, "get_weather", json!({"city": "Oslo"}));
    assert!(common::tool_text(&refused).contains("blocked"), "{refused}");
    let (_, listed) = tools(&home, &["list", "--json"]);
    let pin: Value = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|p| p["tool"] == "get_weather")
        .unwrap();
    assert_eq!(pin["status"], "blocked");
    drop(restarted);

    // Back to the trusted definition: it passes again.
    let mut again = shim(&home, false);
    assert_eq!(names(&again.request(1, "tools/list", json!({}))).len(), 3);
}
