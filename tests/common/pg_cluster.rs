//! A scratch PostgreSQL cluster (Debian's `postgresql`) in a temp dir on a free port, started
//! with initdb/pg_ctl and stopped when dropped; shared by tests/postgres.rs and
//! benches/postgres.rs.
//!
//! PostgreSQL refuses to run as root; when this runs as root (CI containers), the cluster runs
//! as Debian's `postgres` system user through `runuser`, in a temp dir given to it. Without
//! PostgreSQL's binaries `start` says SKIPPED and returns `None`, unless
//! `MCPFW_TEST_REQUIRE_POSTGRES` is set (scripts/test sets it): then it fails.
#![allow(dead_code)] // the test and the bench use different parts

use std::path::PathBuf;
use std::process::Command;

use sqlx::Connection;

/// `/usr/lib/postgresql/<version>/bin`, the newest present.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// A scratch PostgreSQL cluster, stopped when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
    durable: bool,
}

impl Cluster {
    /// A cluster for tests: `fsync=off` (nothing here must survive a crash of the machine).
    pub fn start() -> Option<Cluster> {
        Self::start_with(false)
    }

    /// `durable`: PostgreSQL's defaults (fsync on), for measuring what a real server sustains.
    pub fn start_with(durable: bool) -> Option<Cluster> {
        let Some(bin) = pg_bin() else {
            assert!(
                std::env::var_os("MCPFW_TEST_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL's binaries are missing (/usr/lib/postgresql/*/bin): install the \
                 Debian package `postgresql` (scripts/test does)"
            );
            eprintln!(
                "SKIPPED: PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); the \
                 replication test did not run. Install the Debian package `postgresql`."
            );
            return None;
        };
        let as_postgres = mcpfw_core::platform::is_root();
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let status = Command::new("chown").arg("postgres:").arg(dir.path()).status().unwrap();
            assert!(status.success(), "cannot give the cluster's folder to the postgres user");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { bin, dir, port, as_postgres, durable };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "mcpfw", "--auth=trust", "-E", "UTF8", "--no-sync"],
        );
        cluster.pg_ctl_start();
        Some(cluster)
    }

    pub fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1{}",
            self.port,
            self.dir.path().display(),
            if self.durable { "" } else { " -c fsync=off" }
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"]);
    }

    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://mcpfw@127.0.0.1:{}/postgres", self.port)
    }

    pub fn query<T: Send + Unpin + 'static>(
        &self,
        f: impl for<'c> FnOnce(
            &'c mut sqlx::PgConnection,
        ) -> futures_util::future::BoxFuture<'c, sqlx::Result<T>>,
    ) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url()).await.unwrap();
            let out = f(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            out
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(if self.as_postgres { "runuser" } else { "true" })
            .args(if self.as_postgres { vec!["-u", "postgres", "--"] } else { vec![] })
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
    }
}
