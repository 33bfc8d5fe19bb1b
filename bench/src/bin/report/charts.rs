//! The SVG charts (`plotters`): bar, line and horizontal bar charts, and the [`Charts`] directory
//! they are written to and embedded from.

use std::path::{Path, PathBuf};

use anyhow::Result;
use plotters::{
    coord::{
        Shift,
        ranged1d::{AsRangedCoord, ValueFormatter},
        types::RangedCoordf64,
    },
    element::DashedPathElement,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use crate::format::fmt;

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const SWITCHBOARD: RGBColor = RGBColor(31, 119, 180);
pub(crate) const POSTGRAPHILE: RGBColor = RGBColor(255, 127, 14);
pub(crate) const PGBENCH: RGBColor = RGBColor(44, 160, 44);
pub(crate) const REDIS: RGBColor = RGBColor(214, 39, 40);
pub(crate) const BARE: RGBColor = RGBColor(127, 127, 127);
pub(crate) const LOADED: RGBColor = RGBColor(148, 103, 189);

pub(crate) fn system_color(system: &str) -> RGBColor {
    match system {
        "switchboard" => SWITCHBOARD,
        "postgraphile" => POSTGRAPHILE,
        "pgbench" => PGBENCH,
        "redis" => REDIS,
        _ => BARE,
    }
}

pub(crate) fn system_name(system: &str) -> &str {
    match system {
        "switchboard" => "Switchboard",
        "postgraphile" => "PostGraphile",
        "pgbench" => "pgbench (SQL)",
        "redis" => "raw Redis",
        "bare" => "bare tokio-tungstenite",
        other => other,
    }
}

/// One series of a bar chart: a value (or none) per group.
pub(crate) struct Bars {
    pub(crate) name: String,
    pub(crate) color: RGBColor,
    /// Drawn lighter (e.g. the p50 next to a p99 of the same system).
    pub(crate) light: bool,
    pub(crate) values: Vec<Option<f64>>,
}

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A y axis covering `values`: linear from 0, or logarithmic between powers of ten.
pub(crate) fn y_bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let values: Vec<f64> = values.filter(|v| v.is_finite() && *v > 0.0).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    if log {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        if !min.is_finite() {
            return (0.1, 10.0);
        }
        (
            10_f64.powf(min.log10().floor()),
            10_f64.powf((max * 1.15).log10().ceil()),
        )
    } else {
        (0.0, if max > 0.0 { max * 1.18 } else { 1.0 })
    }
}

pub(crate) fn axis_label(y: f64) -> String {
    if y >= 1000.0 {
        format!("{y:.0}")
    } else if y >= 1.0 {
        format!("{}", (y * 100.0).round() / 100.0)
    } else {
        format!("{y}")
    }
}

/// Grouped bars: one group per label on the x axis, one bar per series in each group, its value
/// written above it.
pub(crate) fn bar_chart(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[Bars],
    log: bool,
) -> Result<()> {
    let (lo, hi) = y_bounds(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        log,
    );
    if log {
        draw_bars(
            area,
            title,
            y_desc,
            groups,
            series,
            (lo..hi).log_scale(),
            lo,
        )
    } else {
        draw_bars(area, title, y_desc, groups, series, lo..hi, lo)
    }
}

pub(crate) fn draw_bars<Y>(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[Bars],
    y: Y,
    base: f64,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    #[allow(clippy::cast_precision_loss)]
    let n = groups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d::<RangedCoordf64, Y>((-0.5..n - 0.5).into(), y)?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            groups.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&label)
        .y_label_formatter(&|y| axis_label(*y))
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let width = 0.8 / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let style = if s.light {
            s.color.mix(0.45).filled()
        } else {
            s.color.filled()
        };
        #[allow(clippy::cast_precision_loss)]
        let left = |g: usize| g as f64 - 0.4 + width * k as f64;
        let bars = s.values.iter().enumerate().filter_map(|(g, v)| {
            v.map(|v| Rectangle::new([(left(g), base), (left(g) + width * 0.92, v)], style))
        });
        let legend_style = style;
        chart
            .draw_series(bars)?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], legend_style));
        let value_style =
            TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(s.values.iter().enumerate().filter_map(|(g, v)| {
            v.map(|v| Text::new(fmt(v), (left(g) + width * 0.46, v), value_style.clone()))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// One line of a line chart.
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) color: RGBColor,
    pub(crate) dashed: bool,
    pub(crate) points: Vec<(f64, f64)>,
}

/// Lines against a logarithmic x axis (subscribers, connections), y linear or logarithmic.
pub(crate) fn line_chart(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
    (log_y, legend): (bool, SeriesLabelPosition),
) -> Result<()> {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x_lo, x_hi) = y_bounds(xs, true);
    let (y_lo, y_hi) = y_bounds(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
        log_y,
    );
    let x = (x_lo..x_hi).log_scale();
    if log_y {
        let y = (y_lo..y_hi).log_scale();
        draw_lines(&root, title, (x_desc, y_desc), lines, (x, y), legend)?;
    } else {
        draw_lines(
            &root,
            title,
            (x_desc, y_desc),
            lines,
            (x, y_lo..y_hi),
            legend,
        )?;
    }
    root.present()?;
    Ok(())
}

pub(crate) fn draw_lines<X, Y>(
    area: &Area<'_>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
    (x, y): (X, Y),
    legend: SeriesLabelPosition,
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| axis_label(*x))
        .y_label_formatter(&|y| axis_label(*y))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    for line in lines {
        let style = line.color.stroke_width(2);
        let color = line.color;
        let anno = if line.dashed {
            chart.draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?
        } else {
            chart.draw_series(LineSeries::new(line.points.clone(), style))?
        };
        let anno = anno.label(line.name.clone());
        // The legend draws each line as the chart does: a dot alone, dashed or solid.
        if line.points.len() == 1 {
            anno.legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
        } else {
            let (dash, gap) = if line.dashed { (8, 5) } else { (20, 1) };
            anno.legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 21, y)], dash, gap, color.stroke_width(2))
            });
        }
        chart.draw_series(
            line.points
                .iter()
                .map(|&p| Circle::new(p, 4, line.color.filled())),
        )?;
        let value_style =
            TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
        chart.draw_series(
            line.points
                .iter()
                .map(|&(x, y)| Text::new(format!(" {}", fmt(y)), (x, y), value_style.clone())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// A horizontal bar per label (long labels read better on the y axis).
pub(crate) fn hbar_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    items: &[(String, f64, RGBColor)],
) -> Result<()> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let height = 120 + 44 * items.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (_, hi) = y_bounds(items.iter().map(|i| i.1), false);
    #[allow(clippy::cast_precision_loss)]
    let n = items.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..hi * 1.1, -0.5..n - 0.5)?;
    let label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && i >= 0.0 {
            // The first item on top.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            items
                .len()
                .checked_sub(1 + i as usize)
                .and_then(|k| items.get(k))
                .map(|item| item.0.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(items.len())
        .y_label_formatter(&label)
        .x_label_formatter(&|x| axis_label(*x))
        .x_desc(x_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let row = |k: usize| n - 1.0 - k as f64;
    chart.draw_series(items.iter().enumerate().map(|(k, (_, v, color))| {
        Rectangle::new([(0.0, row(k) - 0.35), (*v, row(k) + 0.35)], color.filled())
    }))?;
    let value_style =
        TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(
        items
            .iter()
            .enumerate()
            .map(|(k, (_, v, _))| Text::new(format!(" {v:.0}"), (*v, row(k)), value_style.clone())),
    )?;
    root.present()?;
    Ok(())
}

/// A chart file, and the Markdown that embeds it.
pub(crate) struct Charts {
    pub(crate) dir: PathBuf,
    /// `dir` as the report refers to it.
    pub(crate) link: String,
    pub(crate) written: Vec<PathBuf>,
}

impl Charts {
    pub(crate) fn path(&mut self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        self.written.push(path.clone());
        path
    }

    pub(crate) fn embed(&self, name: &str, alt: &str) -> String {
        format!("![{alt}]({}/{name})\n", self.link)
    }
}
