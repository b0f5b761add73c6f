//! ANGraph-P training on a tiny synthetic activity set: the schedules learn, the exported
//! model (standardisation folded into `conv1`) predicts the same, and a resumed run matches.

use angraph_core::config::{PowerConfig, Stage};
use angraph_core::rng::SplitMix64;
use angraph_train::dataset::Split;
use angraph_train::nn::Checkpoint;
use angraph_train::train::data::PowerSet;
use angraph_train::train::power::{train, PowerModel, PowerRecipe, PowerSchedule};
use tch::Device;

fn synthetic_set(n: usize) -> PowerSet {
    let mut rng = SplitMix64(9);
    let in_dim = 8;
    let x: Vec<f32> = (0..n * in_dim).map(|_| rng.uniform(0.0, 10.0)).collect();
    let labels = x
        .chunks(in_dim)
        .map(|r| {
            let dynamic = 5.0 + r.iter().take(4).sum::<f32>();
            let stat = 2.0 + 0.5 * r[4] + 0.25 * r[5];
            [dynamic, stat]
        })
        .collect();
    PowerSet {
        name: "synthetic_power".into(),
        in_dim,
        x,
        labels,
        unit: "nJ".into(),
        splits: Split::fractions(n, 4, 0.8, 0.1).unwrap(),
    }
}

fn recipe(schedule: PowerSchedule, epochs: usize) -> PowerRecipe {
    let mut stages = heapless::Vec::new();
    stages
        .push(Stage {
            width: 32,
            blocks: 1,
        })
        .unwrap();
    stages
        .push(Stage {
            width: 8,
            blocks: 0,
        })
        .unwrap();
    PowerRecipe {
        config: PowerConfig {
            in_dim: 8,
            stages,
            heads: 2,
        },
        schedule,
        epochs,
        batch_size: 32,
        lr: 3e-3,
        weight_decay: 0.0,
        label_scale: 30.0,
        standardize: true,
        seed: 1,
        loss: Default::default(),
        anchor: false,
    }
}

#[test]
fn both_schedules_learn_export_and_resume() {
    tch::set_num_threads(1);
    let set = synthetic_set(600);
    let tmp = std::env::temp_dir().join(format!("angraph_train_power_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (model, out) = train(
        &set,
        &recipe(PowerSchedule::Joint, 30),
        &tmp.join("joint"),
        Device::Cpu,
        false,
        true,
    )
    .unwrap();
    assert!(out.test.dynamic.r2 > 0.95, "{:?}", out.test.dynamic);
    assert!(out.test.r#static.r2 > 0.95, "{:?}", out.test.r#static);
    assert!(out.test.total.r2 > 0.95, "{:?}", out.test.total);

    let (_, two) = train(
        &set,
        &recipe(PowerSchedule::TwoStage, 30),
        &tmp.join("two"),
        Device::Cpu,
        false,
        false,
    )
    .unwrap();
    assert!(two.test.dynamic.r2 > 0.9, "{:?}", two.test.dynamic);
    assert!(two.best_epoch > 15, "stage 2 selects among its own epochs");

    // Dynamic first, then everything on both heads: static is learned too.
    let (_, staged) = train(
        &set,
        &recipe(PowerSchedule::TwoStageJoint, 30),
        &tmp.join("staged"),
        Device::Cpu,
        false,
        false,
    )
    .unwrap();
    assert!(
        staged.best_epoch > 15,
        "stage 2 selects among its own epochs"
    );
    assert!(staged.test.dynamic.r2 > 0.9, "{:?}", staged.test.dynamic);
    assert!(staged.test.r#static.r2 > 0.9, "{:?}", staged.test.r#static);

    // Export folds the standardisation.
    let path = tmp.join("p.safetensors");
    model.export("test").unwrap().save(&path).unwrap();
    let loaded =
        PowerModel::from_checkpoint(Checkpoint::load(&path, Device::Cpu).unwrap()).unwrap();
    let a = model.predict(&set, &set.splits.test).unwrap();
    let b = loaded.predict(&set, &set.splits.test).unwrap();
    for (x, y) in a.iter().zip(&b) {
        for k in 0..2 {
            assert!(
                (x[k] - y[k]).abs() < 1e-3 * x[k].abs().max(1.0),
                "{x:?} vs {y:?}"
            );
        }
    }

    // Interrupted after 10 epochs and resumed to 30: the same bytes as the uninterrupted run.
    train(
        &set,
        &recipe(PowerSchedule::Joint, 10),
        &tmp.join("resumed"),
        Device::Cpu,
        false,
        false,
    )
    .unwrap();
    train(
        &set,
        &recipe(PowerSchedule::Joint, 30),
        &tmp.join("resumed"),
        Device::Cpu,
        true,
        false,
    )
    .unwrap();
    let a = std::fs::read(tmp.join("joint/last.safetensors")).unwrap();
    let b = std::fs::read(tmp.join("resumed/last.safetensors")).unwrap();
    assert!(a == b, "resumed weights differ");
    let _ = std::fs::remove_dir_all(&tmp);
}
