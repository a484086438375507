//! `EVALUATE ... SWEEP ... PLOT 'file.png'`: NDCG@K (y) per setting of the sweep (x, in
//! sweep order, labelled with the setting), one line per query label plus the overall
//! mean, as a 1000 × 600 PNG.

use std::path::Path;

use plotters::prelude::*;

use crate::plot_style::PLOT_COLOURS;
use quiver_storage::{Error, Result};

use super::Evaluation;

/// The setting as an axis label: `alpha=0.30 (t weight)` → `0.30`.
fn short(setting: &str) -> String {
    let s = setting.split(" (").next().unwrap_or(setting);
    s.rsplit('=').next().unwrap_or(s).to_string()
}

/// Draws `results` (one evaluation per sweep setting) into `out`.
pub fn sweep(results: &[(String, Evaluation)], title: &str, out: &Path) -> Result<()> {
    crate::plot_style::load_plot_font().map_err(Error::InvalidArgument)?;
    let Some((_, first)) = results.first() else {
        return Err(Error::InvalidArgument("nothing to plot".into()));
    };
    let mut labels: Vec<String> = vec!["*".into()];
    labels.extend(first.by_label.keys().filter(|l| !l.is_empty()).cloned());
    let series: Vec<(String, Vec<(f64, f64)>)> = labels
        .iter()
        .map(|label| {
            let points = results
                .iter()
                .enumerate()
                .filter_map(|(x, (_, ev))| {
                    let s = if label == "*" {
                        Some(&ev.overall)
                    } else {
                        ev.by_label.get(label)
                    };
                    s.filter(|s| s.queries > 0).map(|s| (x as f64, s.mean.ndcg))
                })
                .collect();
            let name = if label == "*" {
                "all queries".to_string()
            } else {
                label.clone()
            };
            (name, points)
        })
        .filter(|(_, p): &(String, Vec<(f64, f64)>)| !p.is_empty())
        .collect();
    let names: Vec<String> = results.iter().map(|(s, _)| short(s)).collect();
    let k = first.k;
    let draw = || -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let root = BitMapBackend::new(out, (1000, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = (results.len().max(2) - 1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.2..last + 0.2, 0.0..1.0f64)?;
        chart
            .configure_mesh()
            .x_desc(results[0].0.split('=').next().unwrap_or("setting"))
            .y_desc(format!("NDCG@{k}"))
            .x_labels(results.len().min(21))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 18))
            .x_label_formatter(&|x| {
                let i = x.round();
                match (i - x).abs() < 1e-6 && i >= 0.0 {
                    true => names.get(i as usize).cloned().unwrap_or_default(),
                    false => String::new(),
                }
            })
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = PLOT_COLOURS[i % PLOT_COLOURS.len()];
            let width = if i == 0 { 3 } else { 2 };
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(width))
                });
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| Error::InvalidArgument(format!("drawing {}: {e}", out.display())))
}

/// Named bar series: one value (or none) per report line.
type Bars = Vec<(String, Vec<Option<f64>>)>;

/// `TUNE WEIGHTS ... PLOT 'file.png'`: on the left the tuned weights of each line
/// (all queries, then each label) as grouped bars, one colour per term (none for a
/// line tuned to RRF); on the right NDCG@K as written, tuned in-sample and tuned held
/// out, per line; the y axes leave room above 1 for the legends. 1200 × 600 PNG.
pub fn tune(t: &super::tune::Tuning, title: &str, out: &Path) -> Result<()> {
    use quiver::Fusion;
    crate::plot_style::load_plot_font().map_err(Error::InvalidArgument)?;
    let lines = &t.report.lines;
    let names: Vec<String> = lines.iter().map(|l| l.label.clone()).collect();
    let weights: Vec<Option<Vec<f32>>> = lines
        .iter()
        .map(|l| match l.setting.as_ref().map(|s| &s.fusion) {
            Some(Fusion::Weighted(w)) => Some(w.clone()),
            _ => None,
        })
        .collect();
    let n = lines.len() as f64;
    let label_of = move |x: &f64| {
        let i = x.round();
        match (i - x).abs() < 1e-6 && i >= 0.0 {
            true => names.get(i as usize).cloned().unwrap_or_default(),
            false => String::new(),
        }
    };
    let draw = || -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let root = BitMapBackend::new(out, (1200, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 22))?;
        let (left, right) = root.split_horizontally(600);
        let weight_bars: Bars = t
            .terms
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let values = weights
                    .iter()
                    .map(|w| w.as_ref().map(|w| f64::from(w[c])))
                    .collect();
                (name.clone(), values)
            })
            .collect();
        let ndcg_bars: Bars = vec![
            (
                "as written".into(),
                lines.iter().map(|l| Some(l.as_written)).collect(),
            ),
            (
                "tuned, in-sample".into(),
                lines.iter().map(|l| Some(l.in_sample)).collect(),
            ),
            (
                "tuned, held out".into(),
                lines.iter().map(|l| Some(l.held_out)).collect(),
            ),
        ];
        let panels = [
            (&left, "weight".to_string(), weight_bars),
            (&right, format!("NDCG@{}", t.k), ndcg_bars),
        ];
        for (area, y_desc, series) in panels {
            let mut chart = ChartBuilder::on(area)
                .margin(20)
                .x_label_area_size(50)
                .y_label_area_size(60)
                .build_cartesian_2d(-0.5..n - 0.5, 0.0..1.3f64)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(lines.len() + 1)
                .x_label_formatter(&label_of)
                .y_desc(y_desc)
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 18))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            let width = 0.8 / series.len() as f64;
            for (s, (name, values)) in series.iter().enumerate() {
                let colour = PLOT_COLOURS[s % PLOT_COLOURS.len()];
                let bars = values.iter().enumerate().filter_map(|(i, y)| {
                    let x0 = i as f64 - 0.4 + s as f64 * width;
                    y.map(|y| Rectangle::new([(x0, 0.0), (x0 + width * 0.9, y)], colour.filled()))
                });
                chart
                    .draw_series(bars)?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled())
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| Error::InvalidArgument(format!("drawing {}: {e}", out.display())))
}
