//! `include/angraph.h` is generated: cbindgen reads the C ABI's Rust source (`src/ffi.rs`,
//! `src/status.rs`) with `cbindgen.toml`, and this test fails when the committed header differs
//! from what the source generates, so a function, type, field or status code cannot change on
//! one side only. After changing the ABI, regenerate the header with
//!
//! ```sh
//! ANGRAPH_BLESS_HEADER=1 cargo test -p angraph-embed --test c_header
//! ```
//!
//! and commit it with the change. A normal run never writes the file.
mod support;

use std::path::Path;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The header the source generates now.
fn generated() -> Vec<u8> {
    let config = cbindgen::Config::from_file(manifest().join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading cbindgen.toml: {e}"));
    // The crate's own source only (`lib.rs` and the modules it declares): no `cargo metadata`.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest().join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    out
}

/// The first line where the two differ, for the failure message.
fn first_difference(committed: &str, generated: &str) -> String {
    let (mut a, mut b) = (committed.lines(), generated.lines());
    for line in 1.. {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "only in line endings or the final newline".into(),
            (x, y) => {
                return format!(
                    "line {line}:\n  committed: {}\n  generated: {}",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                )
            }
        }
    }
    unreachable!()
}

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let path = manifest().join("include/angraph.h");
    let want = generated();
    let have = std::fs::read(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var_os("ANGRAPH_BLESS_HEADER").is_some_and(|v| v == "1") {
        support::write_atomic(&path, &want)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    panic!(
        "include/angraph.h is not what the source generates (first difference at {}).\n\
         If the ABI change is intended, regenerate the header and commit it:\n  \
         ANGRAPH_BLESS_HEADER=1 cargo test -p angraph-embed --test c_header",
        first_difference(
            &String::from_utf8_lossy(&have),
            &String::from_utf8_lossy(&want)
        )
    );
}

/// The generated header declares every status code with its value (`status.rs` ties the
/// constants to `Status` at compile time; this checks they reach the header).
#[test]
fn header_has_every_status_code() {
    let header = String::from_utf8(generated()).unwrap();
    for code in -64..64 {
        let Some(s) = angraph_embed::Status::from_code(code) else {
            continue;
        };
        let name = format!("{s:?}");
        let mut c = String::new();
        for (i, ch) in name.chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                c.push('_');
            }
            c.push(ch.to_ascii_uppercase());
        }
        let c = if code == 0 {
            format!("ANGRAPH_{c}")
        } else {
            format!("ANGRAPH_ERR_{c}")
        };
        assert!(
            header.contains(&format!("#define {c} {code}\n")),
            "the header has no `#define {c} {code}`"
        );
    }
}
