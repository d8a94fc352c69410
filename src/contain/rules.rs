//! The Landlock ruleset and the seccomp filters of a box, built before the server's fork.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

use super::Profile;

/// The newest Landlock ABI this build knows the rights of.
const KNOWN_ABI: ABI = ABI::V7;

/// The Landlock part of a box.
pub struct Landlock {
    pub ruleset: Option<OwnedFd>,
    /// The ABI the rules were built for (0: none).
    pub abi: u8,
    pub missing: Vec<String>,
    pub notes: Vec<String>,
}

/// What the network confinement relies on.
pub enum NetConfinement {
    /// A private network namespace: Landlock's TCP rules are not needed.
    Namespace,
    /// No namespace: TCP connect only to this port (the host-loopback relay), no bind.
    OnlyPort(Option<u16>),
}

/// Builds the ruleset for `profile` at `abi` (the kernel's, or less in tests). `hidden` are the
/// denied paths a mount already hides; the others are cut out of the grants that contain them.
pub fn landlock(
    profile: &Profile,
    abi: u8,
    hidden: &[PathBuf],
    net: &NetConfinement,
    namespaces: bool,
) -> anyhow::Result<Landlock> {
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    if abi == 0 {
        missing.push(
            "Landlock (filesystem confinement): not available in this kernel; the server can \
             read and write whatever your user can, apart from the folders a mount hides"
                .to_owned(),
        );
        return Ok(Landlock { ruleset: None, abi: 0, missing, notes });
    }
    let version = ABI::from(i32::from(abi));
    let unavailable = AccessFs::from_all(KNOWN_ABI) & !AccessFs::from_all(version);
    if !unavailable.is_empty() {
        missing.push(format!(
            "Landlock filesystem rights of a newer ABI than {abi}: {} (not controlled)",
            names(unavailable)
        ));
    }
    let read = AccessFs::from_read(version);
    let write = AccessFs::from_all(version) & !AccessFs::Execute;
    let file_rights = AccessFs::from_file(version);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(version))?;
    let mut port = None;
    match net {
        NetConfinement::OnlyPort(p) => {
            if abi >= 4 {
                ruleset = ruleset.handle_access(AccessNet::from_all(version))?;
                port = *p;
            } else {
                missing.push(format!(
                    "Landlock TCP rules (ABI 4, this kernel has {abi}) without a network \
                     namespace: the server can open TCP connections anywhere directly"
                ));
            }
        }
        NetConfinement::Namespace => {}
    }
    if abi >= 6 {
        ruleset = ruleset.scope(Scope::Signal | Scope::AbstractUnixSocket)?;
    } else if namespaces {
        notes.push(format!(
            "Landlock scoping (ABI 6) unavailable (ABI {abi}); signals and abstract sockets \
             stay inside the box's PID and network namespaces"
        ));
    } else {
        missing.push(format!(
            "Landlock scoping of signals and abstract Unix sockets (ABI 6, this kernel has \
             {abi}): the server can signal your processes and reach abstract sockets \
             (X11, D-Bus)"
        ));
    }
    if abi >= 7 {
        notes.push(
            "Landlock ABI 7 logs each denial to the kernel's audit log (readable with \
             administrator rights only)"
                .to_owned(),
        );
    }
    let mut created = ruleset.create()?;
    let deny: Vec<PathBuf> = profile.deny.iter().filter(|d| !hidden.contains(d)).cloned().collect();
    let mut cut = 0usize;
    let mut grants: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
    for path in &profile.read {
        grants.push((path.clone(), read));
    }
    for path in profile.write.iter().chain(profile.temp.iter()) {
        grants.push((path.clone(), read & !AccessFs::Execute | write));
    }
    for path in &profile.devices {
        grants.push((path.clone(), file_rights & !AccessFs::Execute));
    }
    for (path, access) in grants {
        let mut rules = Vec::new();
        grant_around(&path, &deny, &mut rules, &mut cut);
        for path in rules {
            let Ok(fd) = PathFd::new(&path) else { continue }; // vanished meanwhile
            let access = if path.is_dir() { access } else { access & file_rights };
            created = created.add_rule(PathBeneath::new(fd, access))?;
        }
    }
    if cut > 0 {
        notes.push(format!(
            "{cut} hidden path(s) cut out of Landlock grants (no mount namespace to hide them): \
             nothing new can be created directly in a folder that holds one"
        ));
    }
    if let Some(port) = port {
        created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
    }
    let ruleset: Option<OwnedFd> = created.into();
    Ok(Landlock { ruleset, abi, missing, notes })
}

/// The rules that grant `path` without any denied path inside: the path itself when it holds
/// none, else each of its entries the same way (symlinks skipped: their target is granted, or
/// not, on its own).
fn grant_around(path: &Path, deny: &[PathBuf], out: &mut Vec<PathBuf>, cut: &mut usize) {
    if deny.iter().any(|d| d == path) {
        *cut += 1;
        return;
    }
    if !super::contains_denied(path, deny) {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        grant_around(&entry.path(), deny, out, cut);
    }
}

fn names(access: BitFlags<AccessFs>) -> String {
    access.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
}

/// The system calls refused with EPERM: what no MCP server needs and an escape would.
fn refused_syscalls() -> Vec<i64> {
    vec![
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_fsopen,
        libc::SYS_fsmount,
        libc::SYS_fsconfig,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_userfaultfd,
        libc::SYS_acct,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
    ]
}

const NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
];

fn eq(arg: u8, value: u64) -> anyhow::Result<SeccompCondition> {
    Ok(SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)?)
}

fn masked(arg: u8, mask: u64, value: u64) -> anyhow::Result<SeccompCondition> {
    Ok(SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(mask), value)?)
}

/// The seccomp programs: refused calls answer EPERM (never a kill, so servers fail cleanly);
/// `clone3`, whose flags a filter cannot read, answers ENOSYS so the C library falls back to
/// `clone`, whose flags it can. Without namespaces, new Unix sockets (the way to the daemon's
/// socket) and UDP sockets (DNS around the proxy) are refused too.
pub fn seccomp(namespaces: bool) -> anyhow::Result<Vec<Vec<libc::sock_filter>>> {
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for syscall in refused_syscalls() {
        rules.insert(syscall, Vec::new());
    }
    let sock_type = 0xf; // SOCK_TYPE_MASK
    let mut socket = vec![
        SeccompRule::new(vec![eq(0, libc::AF_PACKET as u64)?])?,
        // Raw IP sockets; raw netlink stays (the C library lists interfaces with it).
        SeccompRule::new(vec![
            eq(0, libc::AF_INET as u64)?,
            masked(1, sock_type, libc::SOCK_RAW as u64)?,
        ])?,
        SeccompRule::new(vec![
            eq(0, libc::AF_INET6 as u64)?,
            masked(1, sock_type, libc::SOCK_RAW as u64)?,
        ])?,
    ];
    if !namespaces {
        socket.push(SeccompRule::new(vec![eq(0, libc::AF_UNIX as u64)?])?);
        for family in [libc::AF_INET, libc::AF_INET6] {
            socket.push(SeccompRule::new(vec![
                eq(0, family as u64)?,
                masked(1, sock_type, libc::SOCK_DGRAM as u64)?,
            ])?);
        }
    }
    rules.insert(libc::SYS_socket, socket);
    let clone = NAMESPACE_FLAGS
        .iter()
        .map(|flag| SeccompRule::new(vec![masked(0, *flag, *flag)?]).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<Vec<_>>>()?;
    rules.insert(libc::SYS_clone, clone);
    let refused = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )?;
    let mut programs = Vec::new();
    for filter in [refused, clone3] {
        let program: seccompiler::BpfProgram = filter.try_into()?;
        programs.push(
            program
                .iter()
                .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
                .collect(),
        );
    }
    Ok(programs)
}
