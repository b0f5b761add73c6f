//! `angraph torch-info`: the libtorch version tch links (a smoke test of the installation).

use anyhow::Result;

/// Run `angraph torch-info`.
pub fn run() -> Result<()> {
    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    println!(
        "tch ok, sum = {}",
        t.sum(tch::Kind::Float).double_value(&[])
    );
    Ok(())
}
