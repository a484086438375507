//! What the plots share: a palette, and the TrueType font they draw their text with. None is bundled: it is read at run
//! time from `$QUIVER_FONT` (or the older `$QUIVER_BENCH_FONT`) or from Debian's
//! `fonts-dejavu-core` / `fonts-liberation`, and registered with plotters once.

use std::path::PathBuf;
use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor, register_font};

/// Line colours that stay apart on white (matplotlib's tab10).
pub const PLOT_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Where a usable TTF is looked for, in order, after the environment.
const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font for plotters' `sans-serif`, `serif` and `monospace` families (once
/// per process); the error says how to get one.
pub fn load_plot_font() -> Result<(), String> {
    static LOADED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| {
        let from_env = ["QUIVER_FONT", "QUIVER_BENCH_FONT"]
            .iter()
            .find_map(|v| std::env::var_os(v).map(PathBuf::from));
        let path = match from_env {
            Some(p) => p,
            None => FONT_PATHS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "no TrueType font for the plot's text: install Debian's fonts-dejavu-core \
                         (apt-get install fonts-dejavu-core) or set QUIVER_FONT=/path/to/font.ttf \
                         (looked in {})",
                        FONT_PATHS.join(", ")
                    )
                })?,
        };
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        for family in ["sans-serif", "serif", "monospace"] {
            register_font(family, FontStyle::Normal, bytes)
                .map_err(|_| format!("{} is not a TrueType/OpenType font", path.display()))?;
        }
        Ok(path)
    });
    loaded.as_ref().map(|_| ()).map_err(Clone::clone)
}
