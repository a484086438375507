//! `quiver-bench plot`: recall@10 (x) against QPS (y, log scale) for every library in
//! the given results files, one PNG, as ann-benchmarks draws them. Each curve is the
//! Pareto frontier of its median points; exact search shows one marker per mode.
//!
//! Text needs a TrueType font: `quiver_sql::load_plot_font` finds one (none is bundled).

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;
use quiver_sql::PLOT_COLOURS;

use super::report::{ResultsFile, fmt_param, variants};
use crate::ann::frontier::{pareto_frontier, summarize};

/// One line of the plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub label: String,
    /// (recall, QPS), by increasing recall.
    pub points: Vec<(f64, f64)>,
    /// Exact search: markers only.
    pub exact: bool,
}

/// The curves of every result in `files`, which must all be of one dataset.
pub fn curves(files: &[ResultsFile]) -> Result<Vec<Curve>> {
    let Some(first) = files.first() else {
        bail!("no results files to plot")
    };
    let mut out = Vec::new();
    for f in files {
        if f.meta.name != first.meta.name {
            bail!(
                "one plot shows one dataset, got {} and {}",
                first.meta.name,
                f.meta.name
            );
        }
        for res in &f.results {
            if res.lib.ends_with("-flat") {
                for p in summarize(&res.rows) {
                    out.push(Curve {
                        label: format!("{} ({}) T={}", res.lib, fmt_param(&p.param), res.threads),
                        points: vec![(p.recall, p.qps)],
                        exact: true,
                    });
                }
                continue;
            }
            for (suffix, pts) in variants(res) {
                if pts.is_empty() {
                    continue;
                }
                out.push(Curve {
                    label: format!("{}{suffix} T={}", res.lib, res.threads),
                    points: pareto_frontier(&pts)
                        .iter()
                        .map(|p| (p.recall, p.qps))
                        .collect(),
                    exact: false,
                });
            }
        }
    }
    Ok(out)
}

/// The plot font (see `quiver_sql::load_plot_font`).
fn load_font() -> Result<()> {
    quiver_sql::load_plot_font().map_err(|e| anyhow!(e))
}

/// Draws the curves of `files` into the PNG `out` (1200 x 800).
pub fn plot(files: &[ResultsFile], out: impl AsRef<Path>) -> Result<()> {
    let out = out.as_ref();
    let curves = curves(files)?;
    let all: Vec<(f64, f64)> = curves.iter().flat_map(|c| c.points.clone()).collect();
    if all.is_empty() {
        bail!("the results files hold no measured points");
    }
    load_font()?;
    let meta = &files[0].meta;
    let min_recall = all.iter().map(|p| p.0).fold(1.0, f64::min);
    let x0 = ((min_recall * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let (qmin, qmax) = all.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let draw = || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let root = BitMapBackend::new(out, (1200, 800)).into_drawing_area();
        root.fill(&WHITE)?;
        let title = format!(
            "{}: {} x {}, {} queries, metric {}: recall@10 vs QPS",
            meta.name, meta.n_base, meta.dim, meta.n_query, meta.metric
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..1.005f64, (qmin / 1.5..qmax * 1.5).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("recall@10")
            .y_desc("queries per second (log scale)")
            .x_labels(12)
            .y_labels(12)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 20))
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, c) in curves.iter().enumerate() {
            let colour = PLOT_COLOURS[i % PLOT_COLOURS.len()];
            let width = if c.label.starts_with("quiver") { 3 } else { 2 };
            let line = colour.stroke_width(width);
            let series = if c.exact {
                chart.draw_series(
                    c.points
                        .iter()
                        .map(|&p| TriangleMarker::new(p, 9, colour.filled())),
                )?
            } else {
                chart.draw_series(LineSeries::new(c.points.clone(), line))?;
                chart.draw_series(c.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?
            };
            let exact = c.exact;
            series.label(&c.label).legend(move |(x, y)| {
                if exact {
                    TriangleMarker::new((x + 12, y), 7, colour.filled()).into_dyn()
                } else {
                    PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(width))
                        .into_dyn()
                }
            });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font(("sans-serif", 17))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw()
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("drawing {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ann::report::tests::PEER_FILE;

    fn file() -> ResultsFile {
        serde_json::from_str(PEER_FILE).unwrap()
    }

    #[test]
    fn one_curve_per_library_variant_and_flat_mode() {
        let c = curves(&[file()]).unwrap();
        let labels: Vec<&str> = c.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "faiss-flat (batch) T=1",
                "faiss-flat (single) T=1",
                "hnswlib T=1",
                "faiss-ivfpq (no refine) T=1",
                "faiss-ivfpq + refine T=1"
            ]
        );
        assert_eq!(c[2].points, vec![(0.9, 800.0), (0.99, 100.0)]);
        assert!(c[0].exact && !c[2].exact);
    }

    #[test]
    fn refuses_mixed_datasets() {
        let mut other = file();
        other.meta.name = "other".into();
        assert!(curves(&[file(), other]).is_err());
        assert!(curves(&[]).is_err());
    }

    #[test]
    fn draws_a_png_when_a_font_is_installed() {
        if load_font().is_err() {
            eprintln!("no font installed: drawing not tested");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("curves.png");
        plot(&[file()], &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
