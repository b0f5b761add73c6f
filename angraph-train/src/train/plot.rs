//! PNG plots (plotters, bitmap backend): training curves, predicted-vs-true scatter plots and
//! grids of them.
//!
//! Text needs a TrueType font; it is looked up at run time (`ANGRAPH_FONT`, then the usual
//! DejaVu / Liberation locations). Without one the plots are drawn without text and a warning
//! says so.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};
use plotters::coord::Shift;
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

/// Draw on a white `size` bitmap, then write it to `path` atomically ([`crate::fsio`]: a
/// temporary `.NAME.tmp-<pid>.png` in the same directory, fsync, rename); the temporary file is
/// removed when drawing or writing fails (a full disk), and the error names `path`.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    crate::fsio::write_atomic_with(path, ".png", |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)
    })
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
    render(path, (900, 560), |root| {
        let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.clone()).collect();
        let x_max = all.iter().map(|p| p.0).fold(1.0f64, f64::max);
        let pos: Vec<f64> = all.iter().map(|p| p.1).filter(|v| *v > 0.0).collect();
        let y_min = pos.iter().cloned().fold(f64::INFINITY, f64::min).min(1.0) * 0.8;
        let y_max = pos.iter().cloned().fold(0.0f64, f64::max).max(y_min * 10.0) * 1.2;
        let mut b = ChartBuilder::on(root);
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
        Ok(())
    })
}

/// Colours of predicted-vs-true series, in order.
const SCATTER_COLORS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

/// Sizes of one predicted-vs-true chart, pixels.
struct ScatterLayout {
    margin: u32,
    x_label_area: u32,
    y_label_area: u32,
    caption_size: u32,
    legend: bool,
}

/// One predicted-vs-true chart on `area`: axes over the range of all values, a `y = x` diagonal,
/// one scatter per `(name, predicted, true, colour)`.
fn scatter(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    caption: &str,
    unit: &str,
    sets: &[(&str, &[f32], &[f32], RGBColor)],
    layout: &ScatterLayout,
) -> Result<()> {
    let text = font_ready();
    let vals = sets
        .iter()
        .flat_map(|(_, p, t, _)| p.iter().chain(t.iter()))
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
    let mut b = ChartBuilder::on(area);
    b.margin(layout.margin)
        .x_label_area_size(layout.x_label_area)
        .y_label_area_size(layout.y_label_area);
    if text {
        b.caption(caption, ("sans-serif", layout.caption_size));
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
    for &(name, pred, truth, c) in sets {
        let drawn = chart
            .draw_series(
                truth
                    .iter()
                    .zip(pred.iter())
                    .map(|(&t, &p)| Circle::new((t as f64, p as f64), 2, c.mix(0.5).filled())),
            )
            .map_err(err)?;
        if text && layout.legend {
            drawn
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
    }
    if text && layout.legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Predicted against true values (one scatter per named set, a `y = x` diagonal) to `path`.
pub fn predicted_vs_true(
    path: &Path,
    title: &str,
    unit: &str,
    sets: &[(&str, &[f32], &[f32])],
) -> Result<()> {
    let sets: Vec<(&str, &[f32], &[f32], RGBColor)> = sets
        .iter()
        .enumerate()
        .map(|(i, &(n, p, t))| (n, p, t, SCATTER_COLORS[i % SCATTER_COLORS.len()]))
        .collect();
    let layout = ScatterLayout {
        margin: 15,
        x_label_area: 45,
        y_label_area: 70,
        caption_size: 20,
        legend: true,
    };
    render(path, (700, 700), |root| {
        scatter(root, title, unit, &sets, &layout)
    })
}

/// One panel of [`panels`]: its title and `(legend name, predicted, true)` series.
pub struct Panel<'a> {
    /// Caption above the panel.
    pub title: String,
    /// Series, drawn in order (later ones on top).
    pub sets: Vec<(&'a str, &'a [f32], &'a [f32])>,
}

/// Predicted-vs-true panels in a grid of `ceil(sqrt(n))` columns under `title`, to `path`
/// (temporary file, then rename). Each panel has its own axes (in `unit`) and a `y = x`
/// diagonal; a series name keeps one colour in all panels (colours in order of first
/// appearance) and the legend is drawn in the first panel.
pub fn panels(path: &Path, title: &str, unit: &str, panels: &[Panel<'_>]) -> Result<()> {
    if panels.is_empty() {
        bail!("plotting {}: no panels", path.display());
    }
    const CELL: u32 = 420;
    const HEAD: u32 = 40;
    let n = panels.len();
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
    let rows = n.div_ceil(cols);
    let mut names: Vec<&str> = Vec::new();
    for s in panels.iter().flat_map(|p| &p.sets) {
        if !names.contains(&s.0) {
            names.push(s.0);
        }
    }
    let color = |name: &str| {
        let k = names.iter().position(|m| *m == name).unwrap_or(0);
        SCATTER_COLORS[k % SCATTER_COLORS.len()]
    };
    let text = font_ready();
    let size = (cols as u32 * CELL, rows as u32 * CELL + HEAD);
    render(path, size, |root| {
        let (head, body) = root.split_vertically(HEAD);
        if text {
            head.titled(title, ("sans-serif", 22)).map_err(err)?;
        }
        for (i, (area, p)) in body
            .split_evenly((rows, cols))
            .iter()
            .zip(panels)
            .enumerate()
        {
            let sets: Vec<(&str, &[f32], &[f32], RGBColor)> = p
                .sets
                .iter()
                .map(|&(s, pr, t)| (s, pr, t, color(s)))
                .collect();
            let layout = ScatterLayout {
                margin: 10,
                x_label_area: 40,
                y_label_area: 60,
                caption_size: 15,
                legend: i == 0,
            };
            scatter(area, &p.title, unit, &sets, &layout)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[1..4], b"PNG");
        let be = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn panels_grid_has_ceil_sqrt_columns() {
        let dir = std::env::temp_dir().join(format!("angraph_plot_panels_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (p, t, e) = ([1.0f32, 2.0, 3.5], [1.0f32, 2.5, 3.0], [0.5f32, 2.0, 4.0]);
        let panel = |k: usize| Panel {
            title: format!("set {k}"),
            sets: if k.is_multiple_of(2) {
                vec![("estimate", &e[..], &t[..]), ("model", &p[..], &t[..])]
            } else {
                vec![("model", &p[..], &t[..])]
            },
        };
        // (panels, columns, rows): 1 -> 1x1, 4 -> 2x2, 5 -> 3 columns, 2 rows.
        for (k, (n, cols, rows)) in [(1u32, 1u32, 1u32), (4, 2, 2), (5, 3, 2)]
            .into_iter()
            .enumerate()
        {
            let path = dir.join(format!("g{n}.png"));
            let ps: Vec<Panel<'_>> = (0..n as usize).map(panel).collect();
            panels(&path, "title", "ns", &ps).unwrap();
            assert_eq!(png_size(&path), (cols * 420, rows * 420 + 40));
            // No temporary file left beside the plots.
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), k + 1);
        }
        assert!(panels(&dir.join("none.png"), "title", "ns", &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
