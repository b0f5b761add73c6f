//! PNG plots (plotters, bitmap backend): training curves and predicted-vs-true scatter plots.
//!
//! Text needs a TrueType font; it is looked up at run time (`ANGRAPH_FONT`, then the usual
//! DejaVu / Liberation locations). Without one the plots are drawn without text and a warning
//! says so.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// Register a sans-serif font once; `false` when none was found.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let mut candidates: Vec<String> = std::env::var("ANGRAPH_FONT").into_iter().collect();
        candidates.extend(
            [
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/TTF/DejaVuSans.ttf",
                "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                "/Library/Fonts/Arial.ttf",
            ]
            .map(String::from),
        );
        for c in candidates {
            if let Ok(bytes) = std::fs::read(&c) {
                let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
                    return true;
                }
            }
        }
        eprintln!("warning: no TrueType font found (set ANGRAPH_FONT); plots have no text");
        false
    })
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// One named line of a training curve.
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// `(epoch, value)` points.
    pub points: Vec<(f64, f64)>,
}

/// Training curves (log-scale y) to `path` (written to a temporary file, then renamed).
pub fn curves(path: &Path, title: &str, y_label: &str, series: &[Series<'_>]) -> Result<()> {
    let text = font_ready();
    let tmp = path.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.clone()).collect();
        let x_max = all.iter().map(|p| p.0).fold(1.0f64, f64::max);
        let pos: Vec<f64> = all.iter().map(|p| p.1).filter(|v| *v > 0.0).collect();
        let y_min = pos.iter().cloned().fold(f64::INFINITY, f64::min).min(1.0) * 0.8;
        let y_max = pos.iter().cloned().fold(0.0f64, f64::max).max(y_min * 10.0) * 1.2;
        let mut b = ChartBuilder::on(&root);
        b.margin(15).x_label_area_size(40).y_label_area_size(70);
        if text {
            b.caption(title, ("sans-serif", 22));
        }
        let mut chart = b
            .build_cartesian_2d(0.0..x_max, (y_min..y_max).log_scale())
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("epoch").y_desc(y_label);
        if !text {
            mesh.disable_x_mesh()
                .disable_y_mesh()
                .x_labels(0)
                .y_labels(0);
        }
        mesh.draw().map_err(err)?;
        let colors = [&BLUE, &RED, &GREEN, &MAGENTA, &BLACK];
        for (i, s) in series.iter().enumerate() {
            let c = colors[i % colors.len()];
            let pts: Vec<(f64, f64)> = s.points.iter().cloned().filter(|p| p.1 > 0.0).collect();
            let drawn = chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(err)?;
            if text {
                drawn
                    .label(s.name)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c));
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| anyhow!("renaming to {}: {e}", path.display()))?;
    Ok(())
}

/// Predicted against true values (one scatter per named set, a `y = x` diagonal) to `path`.
pub fn predicted_vs_true(
    path: &Path,
    title: &str,
    unit: &str,
    sets: &[(&str, &[f32], &[f32])],
) -> Result<()> {
    let text = font_ready();
    let tmp = path.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, (700, 700)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let vals = sets
            .iter()
            .flat_map(|(_, p, t)| p.iter().chain(t.iter()))
            .map(|&v| v as f64)
            .filter(|v| v.is_finite());
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo - 0.03 * (hi - lo), hi + 0.03 * (hi - lo))
        } else {
            (0.0, 1.0)
        };
        let mut b = ChartBuilder::on(&root);
        b.margin(15).x_label_area_size(45).y_label_area_size(70);
        if text {
            b.caption(title, ("sans-serif", 20));
        }
        let mut chart = b.build_cartesian_2d(lo..hi, lo..hi).map_err(err)?;
        let mut mesh = chart.configure_mesh();
        let xd = format!("true ({unit})");
        let yd = format!("predicted ({unit})");
        mesh.x_desc(xd.as_str()).y_desc(yd.as_str());
        if !text {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(err)?;
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))
            .map_err(err)?;
        let colors = [&BLUE, &RED, &GREEN, &MAGENTA];
        for (i, (name, pred, truth)) in sets.iter().enumerate() {
            let c = colors[i % colors.len()];
            let drawn = chart
                .draw_series(
                    truth
                        .iter()
                        .zip(pred.iter())
                        .map(|(&t, &p)| Circle::new((t as f64, p as f64), 2, c.mix(0.5).filled())),
                )
                .map_err(err)?;
            if text {
                drawn
                    .label(*name)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
            }
        }
        if text {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| anyhow!("renaming to {}: {e}", path.display()))?;
    Ok(())
}
