//! The chain key in a real OS keyring (Secret Service over D-Bus).
//!
//! Needs a D-Bus session with an unlocked Secret Service, so it is skipped unless
//! `MCPFW_TEST_KEYRING` is set. CI runs it as:
//!
//! ```sh
//! dbus-run-session -- sh -c 'eval $(echo -n pw | gnome-keyring-daemon --unlock --components=secrets); MCPFW_TEST_KEYRING=1 cargo test --test store_keyring'
//! ```
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcpfw::approval::token;
use mcpfw::paths::Paths;
use mcpfw::session::Direction;
use mcpfw::store::keys::{self, KeySource, keyring_service, load_or_create_chain_key};
use mcpfw::store::{ChainKey, Store};

/// Deletes the test's keyring entries (chain key and approver token) when the test ends,
/// whatever happens.
struct EntryCleanup(String);

impl Drop for EntryCleanup {
    fn drop(&mut self) {
        let service = self.0.clone();
        // keyring's Secret Service backend must not run on a runtime thread: use a plain one.
        let _ = std::thread::spawn(move || {
            for user in [keys::KEYRING_USER, token::KEYRING_USER] {
                if let Ok(entry) = keyring::Entry::new(&service, user) {
                    let _ = entry.delete_credential();
                }
            }
        })
        .join();
    }
}

fn keyring_entry_value(service: &str) -> Result<String, String> {
    keyring_value(service, keys::KEYRING_USER)
}

fn keyring_value(service: &str, user: &'static str) -> Result<String, String> {
    let service = service.to_owned();
    std::thread::spawn(move || {
        keyring::Entry::new(&service, user)
            .and_then(|entry| entry.get_password())
            .map_err(|e| e.to_string())
    })
    .join()
    .expect("keyring thread")
}

/// Whether a real Secret Service is there to test against (see the module docs).
fn keyring_available() -> bool {
    if std::env::var_os("MCPFW_TEST_KEYRING").is_none() {
        println!(
            "skipped: no secret service (set MCPFW_TEST_KEYRING=1 inside a D-Bus session with an \
             unlocked Secret Service to run this test)"
        );
        return false;
    }
    assert!(
        std::env::var(keys::KEYRING_ENV).is_err(),
        "{} must not be set when testing the keyring",
        keys::KEYRING_ENV
    );
    true
}

#[test]
fn the_approver_token_lives_in_the_keyring_and_the_cli_finds_it() {
    if !keyring_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    let _cleanup = EntryCleanup(keyring_service(&paths));
    let mcpfw = env!("CARGO_BIN_EXE_mcpfw");
    let mut daemon = Command::new(mcpfw)
        .args(["daemon", "--timeout", "5"])
        .env("MCPFW_HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = home.path().join("run/mcpfw.sock");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stored = keyring_value(&keyring_service(&paths), token::KEYRING_USER);
    let pending = Command::new(mcpfw)
        .args(["pending", "--json"])
        .env("MCPFW_HOME", home.path())
        .output()
        .unwrap();
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(stored.expect("the token is in the keyring").len(), 64);
    assert!(!mcpfw::approval::token_path(&paths).exists(), "no token file beside it");
    assert!(pending.status.success(), "{}", String::from_utf8_lossy(&pending.stderr));
    assert_eq!(token::read(&paths).unwrap().unwrap().1, token::TokenSource::Keyring);
}

#[test]
fn the_chain_key_lives_in_the_keyring_when_one_is_available() {
    if !keyring_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    let service = keyring_service(&paths);
    assert!(service.starts_with("mcpfw:"), "an isolated instance has its own service: {service}");
    let _cleanup = EntryCleanup(service.clone());

    // Created in the keyring, not in a file.
    let (key, source) = load_or_create_chain_key(&paths).expect("load the key from the keyring");
    assert_eq!(
        source,
        KeySource::Keyring,
        "MCPFW_TEST_KEYRING is set, but the key went to a file: is a Secret Service running and \
         unlocked in this D-Bus session? (the warning logged above says why)"
    );
    assert!(!keys::key_file_path(&paths).exists(), "no key file");
    let stored = keyring_entry_value(&service).expect("the entry exists in the keyring");
    assert_eq!(stored.len(), 64);

    // The same key next time, also when asked from inside a tokio runtime (the keyring calls
    // run on a helper thread, so this neither panics nor deadlocks).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (again, source) =
        runtime.block_on(async { load_or_create_chain_key(&paths) }).expect("load the key again");
    assert_eq!(source, KeySource::Keyring);
    assert_eq!(again.fingerprint(), key.fingerprint());

    // The key works for a history.
    runtime.block_on(async {
        let store = Store::open(&home.path().join("data/mcpfw.db"), again).await.unwrap();
        let event = mcpfw::record::Event::refused(
            "srv",
            "session",
            Direction::ClientToServer,
            mcpfw::record::Verdict::Reject,
            None,
            "test".into(),
            1,
        );
        store.append(&[event]).await.unwrap();
        assert!(store.verify().await.unwrap().ok);
        store.close().await;
    });

    // A key that disappears from the keyring is an error, not a silent new key.
    drop(EntryCleanup(service.clone()));
    let error = load_or_create_chain_key(&paths).unwrap_err();
    assert!(matches!(error, keys::KeyError::LostFromKeyring { .. }), "{error}");
    assert!(error.to_string().contains("no longer in the OS keyring"), "{error}");
    assert!(!keys::key_file_path(&paths).exists());

    // A key kept in a file stays in the file even though the keyring works.
    let other = tempfile::tempdir().unwrap();
    let other_paths = Paths::under(other.path());
    let _cleanup_other = EntryCleanup(keyring_service(&other_paths));
    std::fs::create_dir_all(&other_paths.config).unwrap();
    let file_key = ChainKey::from_bytes([9; 32]);
    std::fs::write(keys::key_file_path(&other_paths), hex::encode([9u8; 32])).unwrap();
    let (loaded, source) = load_or_create_chain_key(&other_paths).unwrap();
    assert_eq!(source, KeySource::File(keys::key_file_path(&other_paths)));
    assert_eq!(loaded.fingerprint(), file_key.fingerprint());
    assert!(keyring_entry_value(&keyring_service(&other_paths)).is_err());
}
