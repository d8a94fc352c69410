//! Fingerprints this crate's sources and the lock file as `MCPFW_DETECTOR_BUILD`: what the
//! detector finds is a function of its code, its rules and its dependencies' versions, so a
//! verdict remembered by one build is never trusted by another (`screen::CleanLists`).

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let lock = manifest.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed={}", lock.display());
    let mut files = Vec::new();
    walk(&manifest.join("src"), &mut files);
    files.sort();
    files.push(lock);
    let mut hash = DefaultHasher::new();
    hash.write(env!("CARGO_PKG_VERSION").as_bytes());
    for file in files {
        hash.write(file.strip_prefix(&manifest).unwrap_or(&file).to_string_lossy().as_bytes());
        hash.write(&std::fs::read(&file).unwrap_or_default());
    }
    println!("cargo:rustc-env=MCPFW_DETECTOR_BUILD={:016x}", hash.finish());
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}
