//! The run folder of a training run and its per-epoch commit: checkpoint, optimizer state,
//! best model, log and progress change together, in one atomic step, or not at all.
//!
//! Protocol of one epoch ([`RunDir::stage`], [`RunDir::commit`]):
//! 1. every changed file is written whole to `NAME.pending` (atomically, fsynced);
//! 2. `state.json` is replaced atomically: it names the epoch and, for every covered file, its
//!    size and CRC-32 — this rename is the commit;
//! 3. each `NAME.pending` is renamed to `NAME`.
//!
//! A resume ([`RunDir::recover`]) reads `state.json`, finishes step 3 for pending files that
//! match it (a kill after the commit), deletes pending files that do not (a kill before it), and
//! then checks every covered file against `state.json`; a mismatch (a file changed or replaced
//! after the commit) is refused with an error naming the file, instead of resuming on weights
//! of another epoch. `log.csv` and `curve.png` are views of `log.json`, rewritten after every
//! commit and on resume.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::RunState;
use crate::fsio::{abort_point, sync_dir, write_atomic, write_atomic_with};

/// The files a run's `state.json` commits.
pub const COVERED: [&str; 4] = [
    "best.safetensors",
    "last.safetensors",
    "last.adam.safetensors",
    "log.json",
];

/// Size and CRC-32 of a committed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the contents, `0x`-prefixed hex.
    pub crc32: String,
}

impl FileSum {
    /// Of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        FileSum {
            bytes: bytes.len() as u64,
            crc32: format!("{:#010x}", angraph_core::crc32(bytes)),
        }
    }

    /// Of the file at `path`.
    pub fn of_file(path: &Path) -> Result<Self> {
        let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self::of(&b))
    }
}

/// Files staged for the next commit.
#[derive(Debug, Default)]
pub struct Staged(Vec<(String, FileSum)>);

/// A run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
}

impl RunDir {
    /// The run folder `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
        })
    }

    /// `dir/<name>`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn pending(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pending"))
    }

    fn state_path(&self) -> PathBuf {
        self.path("state.json")
    }

    /// Whether there is a committed state to resume from.
    pub fn has_state(&self) -> bool {
        self.state_path().exists()
    }

    /// A fresh run: delete pending files an earlier, killed run left.
    pub fn discard_pending(&self) -> Result<()> {
        for name in COVERED {
            remove_if_present(&self.pending(name))?;
        }
        Ok(())
    }

    /// Stage `bytes` as the next version of `name`.
    pub fn stage(&self, staged: &mut Staged, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.pending(name), bytes)?;
        staged.0.push((name.to_string(), FileSum::of(bytes)));
        abort_point(&format!("train:staged:{name}"));
        Ok(())
    }

    /// Stage the next version of `name`, written by `write` to the path it is given.
    pub fn stage_with(
        &self,
        staged: &mut Staged,
        name: &str,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let p = self.pending(name);
        write_atomic_with(&p, "", write)?;
        staged.0.push((name.to_string(), FileSum::of_file(&p)?));
        abort_point(&format!("train:staged:{name}"));
        Ok(())
    }

    /// Commit `state` with the staged files: `state.json` (naming every covered file's size
    /// and CRC-32) replaced atomically, then the staged files renamed into place.
    pub fn commit(&self, state: &mut RunState, staged: Staged) -> Result<()> {
        for (name, sum) in &staged.0 {
            state.files.insert(name.clone(), sum.clone());
        }
        state.save(&self.state_path())?;
        abort_point("train:committed");
        for (name, _) in &staged.0 {
            let (from, to) = (self.pending(name), self.path(name));
            std::fs::rename(&from, &to).with_context(|| {
                format!("{}: cannot rename {} to it", to.display(), from.display())
            })?;
            abort_point(&format!("train:installed:{name}"));
        }
        sync_dir(&self.dir)
    }

    /// Load the committed state for a resume with `recipe`: pending files that match it are
    /// moved into place (the last commit's step 3), others deleted; then every covered file
    /// must match `state.json`, or the run folder is refused as inconsistent.
    pub fn recover(&self, recipe: &serde_json::Value) -> Result<RunState> {
        let state_path = self.state_path();
        let state = RunState::load(&state_path, recipe)?;
        if state.files.is_empty() {
            // Written before state.json named its files: nothing to check against.
            eprintln!(
                "warning: {} names no files (an older version wrote it); resuming without checks",
                state_path.display()
            );
            return Ok(state);
        }
        for name in COVERED {
            let p = self.pending(name);
            if !p.exists() {
                continue;
            }
            match state.files.get(name) {
                Some(sum) if FileSum::of_file(&p)? == *sum => {
                    let to = self.path(name);
                    std::fs::rename(&p, &to).with_context(|| {
                        format!("{}: cannot rename {} to it", to.display(), p.display())
                    })?;
                }
                _ => remove_if_present(&p)?,
            }
        }
        sync_dir(&self.dir)?;
        for (name, want) in &state.files {
            if !COVERED.contains(&name.as_str()) {
                bail!(
                    "{}: field `files` names {name:?}, which is not a file of a run folder",
                    state_path.display()
                );
            }
            let p = self.path(name);
            if !p.exists() {
                bail!(
                    "{}: inconsistent run folder: {} is missing, but state.json (epoch {}) commits it; \
                     restore it or start again without --resume",
                    self.dir.display(),
                    p.display(),
                    state.epochs_done
                );
            }
            let have = FileSum::of_file(&p)?;
            if have != *want {
                bail!(
                    "{}: inconsistent run folder: {} has {} bytes with CRC-32 {}, but state.json \
                     (epoch {}) commits {} bytes with CRC-32 {}; the file changed after the commit: \
                     restore it or start again without --resume",
                    self.dir.display(),
                    p.display(),
                    have.bytes,
                    have.crc32,
                    state.epochs_done,
                    want.bytes,
                    want.crc32
                );
            }
        }
        for name in ["last.safetensors", "last.adam.safetensors", "log.json"] {
            if state.epochs_done > 0 && !state.files.contains_key(name) {
                bail!(
                    "{}: field `files` does not name {name} although {} epochs are done",
                    state_path.display(),
                    state.epochs_done
                );
            }
        }
        Ok(state)
    }
}

fn remove_if_present(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("{}: cannot remove", p.display()))
        }
        _ => Ok(()),
    }
}
