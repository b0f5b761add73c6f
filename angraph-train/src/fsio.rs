//! The one home of file-system writes: atomic file writes, atomic directory replacement, and the
//! clean-up of temporary entries that killed runs leave behind.
//!
//! Rules (see docs/hardening.md, "Crash consistency"):
//! - A file is written to `.NAME.tmp-<pid>` in the target's directory, fsynced, renamed over
//!   `NAME`, and the directory is fsynced; on any error the temporary file is removed and the
//!   error names the target. A target that exists and is not a regular file (a directory, a
//!   fifo, a device node, a socket) is refused, so `--out /dev/sda` never replaces the node.
//! - Temporary entries `.NAME.tmp-<pid>` (and `.NAME.old-<pid>` backups) whose process no longer
//!   runs are removed the next time `NAME` is written: a killed run leaves nothing for good.
//! - A directory (a dataset) is built in `.NAME.tmp-<pid>` and swapped with `NAME` in one step
//!   (`renameat2(RENAME_EXCHANGE)` on Linux), so readers see the old or the new dataset, never
//!   none. Where the exchange is not supported, the old directory is renamed to `.NAME.old-<pid>`
//!   only once the new one is complete; if a kill falls between the two renames, the next
//!   [`temp_dir_for`] of the same target restores the backup (no `NAME`) or removes it (`NAME`
//!   present).
//!
//! Test hook: `ANGRAPH_TEST_ABORT_AFTER=POINT` (or `POINT@N`, the N-th time, from 1) makes the
//! process abort (`std::process::abort`, as abrupt as `kill -9` for the files) when it reaches
//! the named point; see [`abort_point`]. The kill tests (tests/kill_resume.rs) use it to stop a
//! run deterministically between two writes. Without the variable it does nothing.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

/// Environment variable of the test hook ([`abort_point`]).
pub const ABORT_ENV: &str = "ANGRAPH_TEST_ABORT_AFTER";

/// Test hook: abort the process when `ANGRAPH_TEST_ABORT_AFTER` names `point` (`POINT`: the
/// first time it is reached; `POINT@N`: the N-th time). Used by the kill tests only.
pub fn abort_point(point: &str) {
    static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let target = TARGET.get_or_init(|| {
        let v = std::env::var(ABORT_ENV).ok()?;
        Some(match v.rsplit_once('@') {
            Some((p, n)) => (p.to_string(), n.parse().unwrap_or(1)),
            None => (v, 1),
        })
    });
    if let Some((p, n)) = target {
        if p == point && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            eprintln!("{ABORT_ENV}: aborting after {point}");
            std::process::abort();
        }
    }
}

/// The directory of `path` (`.` for a bare name) and its file name.
fn split(path: &Path) -> Result<(PathBuf, String)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?
        .to_string_lossy()
        .into_owned();
    Ok((dir, name))
}

/// `.NAME.tmp-<pid>` next to `path` (the temporary name of a write of `path`).
pub fn temp_path(path: &Path) -> Result<PathBuf> {
    let (dir, name) = split(path)?;
    Ok(dir.join(format!(".{name}.tmp-{}", std::process::id())))
}

/// What kind of file system object `m` is, in words.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a fifo";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Refuse a target that exists and is not a regular file (followed through symbolic links).
pub fn check_regular_target(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => bail!(
            "{}: exists and is {}; refusing to replace it (give a regular file path)",
            path.display(),
            kind_of(&m)
        ),
        _ => Ok(()),
    }
}

/// Whether process `pid` still runs (unknown: assume it does).
fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if p <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks that the process exists; no signal is sent.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The pid of a temporary entry `.NAME.<tag>-<pid>[suffix]` of `name`, if `entry` is one.
fn temp_pid(entry: &str, name: &str, tag: &str) -> Option<u32> {
    let rest = entry.strip_prefix(&format!(".{name}.{tag}-"))?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// Entries `.NAME.<tag>-<pid>...` of `dir` whose process is gone.
fn stale_entries(dir: &Path, name: &str, tag: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let pid = temp_pid(&n, name, tag)?;
            (!pid_alive(pid)).then(|| e.path())
        })
        .collect();
    out.sort();
    out
}

/// Remove a file or a directory tree (no error when it is already gone).
fn remove_entry(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove the temporary entries of `path` (`.NAME.tmp-<pid>*`) that dead processes left.
pub fn remove_stale_temps(path: &Path) -> Result<()> {
    let (dir, name) = split(path)?;
    for p in stale_entries(&dir, &name, "tmp") {
        remove_entry(&p)
            .with_context(|| format!("{}: cannot remove a stale temporary entry", p.display()))?;
    }
    Ok(())
}

/// fsync a directory (file systems that cannot sync directories are ignored).
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match File::open(d).and_then(|f| f.sync_all()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(e).with_context(|| format!("{}: cannot sync the directory", d.display())),
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// fsync of the directory. Readers never see a half-written file; the temporary file is removed
/// on any error; a non-regular target is refused.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, "", |tmp| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
        f.write_all(bytes)?;
        Ok(())
    })
}

/// [`write_atomic`] for writers that want a path: `write` fills the temporary file
/// `.NAME.tmp-<pid><suffix>` (e.g. suffix `.png` for writers that pick the format from the
/// extension); then fsync, rename, fsync of the directory.
pub fn write_atomic_with(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let (dir, _) = split(path)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    check_regular_target(path)?;
    remove_stale_temps(path)?;
    let mut tmp = temp_path(path)?.into_os_string();
    tmp.push(suffix);
    let tmp = PathBuf::from(tmp);
    let _ = remove_entry(&tmp);
    let res = (|| -> Result<()> {
        write(&tmp)?;
        File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if res.is_err() {
        let _ = remove_entry(&tmp);
    }
    res.with_context(|| format!("{}: cannot write", path.display()))
}

/// A fresh temporary directory `.NAME.tmp-<pid>` next to `out`, after the clean-up of what
/// killed runs left for `out` (stale temporary directories; a `.NAME.old-<pid>` backup is
/// restored when `out` is missing, else removed).
pub fn temp_dir_for(out: &Path) -> Result<PathBuf> {
    let (parent, _) = split(out)?;
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("{}: cannot create", parent.display()))?;
    recover_dir(out)?;
    let tmp = temp_path(out)?;
    remove_entry(&tmp).with_context(|| format!("{}: cannot remove", tmp.display()))?;
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    Ok(tmp)
}

/// The recovery rule of [`replace_dir`]: a backup `.NAME.old-<pid>` of a dead process is moved
/// back to `out` when `out` is missing (the kill fell between the two renames) and removed
/// otherwise; stale `.NAME.tmp-<pid>` directories are removed.
pub fn recover_dir(out: &Path) -> Result<()> {
    let (parent, name) = split(out)?;
    for old in stale_entries(&parent, &name, "old") {
        if std::fs::symlink_metadata(out).is_err() {
            std::fs::rename(&old, out).with_context(|| {
                format!(
                    "{}: cannot restore the backup {} of an interrupted replacement",
                    out.display(),
                    old.display()
                )
            })?;
            eprintln!(
                "{}: restored from {} (an interrupted replacement)",
                out.display(),
                old.display()
            );
        } else {
            remove_entry(&old).with_context(|| format!("{}: cannot remove", old.display()))?;
        }
    }
    remove_stale_temps(out)?;
    sync_dir(&parent)
}

/// fsync every file and directory under `dir` (before it is renamed into place).
fn sync_tree(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            sync_tree(&p)?;
        } else {
            File::open(&p)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("{}: cannot sync", p.display()))?;
        }
    }
    sync_dir(dir)
}

/// Exchange two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`); `Ok(false)` when the
/// system or the file system does not support it.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    const RENAME_EXCHANGE: libc::c_uint = 1 << 1;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths relative to the working directory; the syscall
    // only renames.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Move the finished directory `tmp` (from [`temp_dir_for`]) to `out`, replacing an existing
/// `out` directory without a moment in which `out` is missing where the system can exchange
/// two paths (Linux), else through a backup with the recovery rule of [`recover_dir`]. On an
/// error `tmp` is removed (and a backup moved back), so nothing is left behind.
pub fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    let res = replace_dir_inner(tmp, out);
    if res.is_err() {
        let _ = remove_entry(tmp);
    }
    res
}

fn replace_dir_inner(tmp: &Path, out: &Path) -> Result<()> {
    let (parent, name) = split(out)?;
    sync_tree(tmp)?;
    match std::fs::symlink_metadata(out) {
        Err(_) => {
            std::fs::rename(tmp, out).with_context(|| {
                format!("{}: cannot rename {} to it", out.display(), tmp.display())
            })?;
        }
        Ok(m) if !m.is_dir() => {
            bail!(
                "{}: exists and is {}; refusing to replace it with a dataset directory",
                out.display(),
                kind_of(&m)
            );
        }
        Ok(_) => {
            let swapped = exchange(tmp, out).with_context(|| {
                format!("{}: cannot exchange with {}", out.display(), tmp.display())
            })?;
            if swapped {
                // `tmp` now holds the old directory.
                sync_dir(&parent)?;
                abort_point("replace_dir:exchanged");
                remove_entry(tmp)
                    .with_context(|| format!("{}: cannot remove the old dataset", tmp.display()))?;
            } else {
                let old = parent.join(format!(".{name}.old-{}", std::process::id()));
                std::fs::rename(out, &old).with_context(|| {
                    format!("{}: cannot move the old dataset aside", out.display())
                })?;
                abort_point("replace_dir:backed-up");
                if let Err(e) = std::fs::rename(tmp, out) {
                    let _ = std::fs::rename(&old, out);
                    return Err(e).with_context(|| {
                        format!("{}: cannot rename {} to it", out.display(), tmp.display())
                    });
                }
                sync_dir(&parent)?;
                remove_entry(&old).with_context(|| format!("{}: cannot remove", old.display()))?;
            }
        }
    }
    sync_dir(&parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("angraph-fsio-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A pid that does not run: the largest pid that is not alive, from the top.
    fn dead_pid() -> u32 {
        (1u32..1 << 22)
            .rev()
            .find(|&p| !pid_alive(p))
            .expect("a free pid")
    }

    #[test]
    fn writes_atomically_and_leaves_no_temp() {
        let d = scratch("write");
        let p = d.join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_non_regular_targets_naming_them() {
        let d = scratch("refuse");
        let sub = d.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = format!("{:#}", write_atomic(&sub, b"x").unwrap_err());
        assert!(e.contains("sub") && e.contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let e = format!(
                "{:#}",
                write_atomic(Path::new("/dev/null"), b"x").unwrap_err()
            );
            assert!(
                e.contains("/dev/null") && e.contains("character device"),
                "{e}"
            );
        }
        assert!(std::fs::read_dir(&sub).unwrap().next().is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_removes_its_temp_and_names_the_path() {
        let d = scratch("fail");
        let p = d.join("plot.png");
        let e = write_atomic_with(&p, ".png", |tmp| {
            std::fs::write(tmp, b"half")?;
            bail!("disk full")
        })
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("plot.png") && e.contains("disk full"), "{e}");
        assert!(std::fs::read_dir(&d).unwrap().next().is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed() {
        let d = scratch("stale");
        let p = d.join("x.bin");
        let dead = dead_pid();
        let stale_file = d.join(format!(".x.bin.tmp-{dead}"));
        let stale_dir = d.join(format!(".x.bin.tmp-{dead}.png"));
        let live = d.join(".x.bin.tmp-1"); // init: alive
        let other = d.join(format!(".y.bin.tmp-{dead}"));
        std::fs::write(&stale_file, b"").unwrap();
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(&live, b"").unwrap();
        std::fs::write(&other, b"").unwrap();
        write_atomic(&p, b"ok").unwrap();
        assert!(!stale_file.exists() && !stale_dir.exists());
        assert!(live.exists() && other.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replace_dir_swaps_and_recovers_a_backup() {
        let d = scratch("replace");
        let out = d.join("set");
        for round in 0..3 {
            let tmp = temp_dir_for(&out).unwrap();
            std::fs::write(tmp.join("v"), format!("{round}")).unwrap();
            replace_dir(&tmp, &out).unwrap();
            assert_eq!(
                std::fs::read_to_string(out.join("v")).unwrap(),
                round.to_string()
            );
            assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        }
        // A kill between the two renames of the fallback: no `set`, a backup of a dead pid.
        let dead = dead_pid();
        let old = d.join(format!(".set.old-{dead}"));
        std::fs::rename(&out, &old).unwrap();
        let stale_tmp = d.join(format!(".set.tmp-{dead}"));
        std::fs::create_dir(&stale_tmp).unwrap();
        let tmp = temp_dir_for(&out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("v")).unwrap(), "2");
        assert!(!old.exists() && !stale_tmp.exists());
        std::fs::remove_dir_all(&tmp).unwrap();
        // A backup next to a present `set` is removed.
        std::fs::create_dir(&old).unwrap();
        let tmp = temp_dir_for(&out).unwrap();
        assert!(!old.exists());
        std::fs::remove_dir_all(&tmp).unwrap();
        // A regular file at `set` is refused.
        let f = d.join("file");
        std::fs::write(&f, b"").unwrap();
        let tmp = temp_dir_for(&f).unwrap();
        assert!(format!("{:#}", replace_dir(&tmp, &f).unwrap_err()).contains("regular file"));
        assert!(
            !tmp.exists(),
            "the refused replacement leaves its temporary folder"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
