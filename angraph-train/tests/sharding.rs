//! Sharded generation (issue 15): the shards of a dataset run as separate `angraph` processes
//! (in parallel, as a Slurm array or a Kubernetes indexed job would run them), `angraph datasets
//! merge` assembles them, and the result equals the unsharded run byte for byte; a merge with a
//! part missing, given twice, damaged or of another dataset writes nothing and exits non-zero.

mod common;

use common::{root, tmp, tree};
use std::path::Path;
use std::process::{Command, Stdio};

fn angraph(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(args)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run angraph")
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn merged_shards_equal_the_unsharded_dataset_byte_for_byte() {
    let t = tmp("sharding");
    let (whole, parts) = (t.join("whole"), t.join("parts"));
    // Two manifest entries, one of each kind, at a size the shards split unevenly (29 / 3).
    let names = ["digits_2x2", "power_digits_2x2"];
    let common = |out: &Path| {
        let mut a = strings(&["datasets"]);
        a.extend(strings(&names));
        a.extend(strings(&["--samples", "29", "--quiet", "--out"]));
        a.push(out.display().to_string());
        a
    };
    let o = angraph(&common(&whole));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The three shards as three concurrent processes.
    let children: Vec<_> = (1..=3)
        .map(|i| {
            let mut a = common(&parts);
            a.extend(["--shard".to_string(), format!("{i}/3")]);
            Command::new(env!("CARGO_BIN_EXE_angraph"))
                .args(&a)
                .current_dir(root())
                .env("RAYON_NUM_THREADS", "1")
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a shard")
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for n in names {
        let shards: Vec<String> = (1..=3)
            .map(|i| {
                parts
                    .join(n)
                    .join(format!("shard-{i}-of-3"))
                    .display()
                    .to_string()
            })
            .collect();
        // Parts in any order.
        let merged = t.join("merged").join(n);
        let mut a = strings(&["datasets", "merge"]);
        a.extend([shards[2].clone(), shards[0].clone(), shards[1].clone()]);
        a.extend(["--out".to_string(), merged.display().to_string()]);
        let o = angraph(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (w, m) = (tree(&whole.join(n)), tree(&merged));
        assert_eq!(
            w.iter().map(|f| &f.0).collect::<Vec<_>>(),
            m.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{n}: the merged dataset has other files"
        );
        for ((f, a), (_, b)) in w.iter().zip(&m) {
            assert!(
                a == b,
                "{n}: {} differs from the unsharded run",
                f.display()
            );
        }
        // A rerun of a complete shard does nothing and says so.
        let mut a = common(&parts);
        a.extend(strings(&["--shard", "2/3"]));
        let o = angraph(&a);
        assert!(String::from_utf8_lossy(&o.stderr).contains("already complete"));
    }

    // Refusals: nothing is written, the error names the problem.
    let p = |i: usize| {
        parts
            .join("digits_2x2")
            .join(format!("shard-{i}-of-3"))
            .display()
            .to_string()
    };
    let bad_out = t.join("bad");
    let merge = |ps: &[String]| {
        let mut a = strings(&["datasets", "merge"]);
        a.extend(ps.iter().cloned());
        a.extend(["--out".to_string(), bad_out.display().to_string()]);
        let o = angraph(&a);
        assert!(!o.status.success(), "merge of {ps:?} succeeded");
        assert!(
            !bad_out.exists(),
            "a refused merge wrote {}",
            bad_out.display()
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(merge(&[p(1), p(2)]).contains("3/3 missing"));
    assert!(merge(&[p(1), p(2), p(2), p(3)]).contains("given twice"));
    let other = parts
        .join("power_digits_2x2/shard-3-of-3")
        .display()
        .to_string();
    assert!(merge(&[p(1), p(2), other]).contains("differ"));
    // A damaged part (one byte of a table changed): its checksum no longer matches.
    let damaged = t.join("damaged");
    std::fs::create_dir_all(damaged.join("raw")).unwrap();
    for e in std::fs::read_dir(p(2))
        .unwrap()
        .chain(std::fs::read_dir(format!("{}/raw", p(2))).unwrap())
    {
        let e = e.unwrap().path();
        if e.is_file() {
            let rel = e.strip_prefix(p(2)).unwrap();
            std::fs::copy(&e, damaged.join(rel)).unwrap();
        }
    }
    let f = damaged.join("raw/node-feat.csv.gz");
    let mut b = std::fs::read(&f).unwrap();
    let k = b.len() / 2;
    b[k] ^= 0x40;
    std::fs::write(&f, b).unwrap();
    let e = merge(&[p(1), damaged.display().to_string(), p(3)]);
    assert!(
        e.contains("checksum mismatch") && e.contains("node-feat"),
        "{e}"
    );
    // Not a part at all; a malformed shard argument.
    assert!(merge(&[whole.join("digits_2x2").display().to_string()]).contains("part.json"));
    let o = angraph(&strings(&["datasets", "digits_2x2", "--shard", "4/3"]));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 <= i <= n"));
    let _ = std::fs::remove_dir_all(&t);
}
