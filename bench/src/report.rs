//! Output: readable tables on stdout, and the formatting of figures.

use serde::Serialize;

/// The figures every scenario reports first, for scripts and the smoke
/// test.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// The scenario's main throughput figure.
    pub throughput: f64,
    /// Its unit (`msg/s`, `conn/s`, `MiB/s`, `deliveries/s`).
    pub unit: &'static str,
    /// Failed operations (errors, lost messages, failed connections).
    pub failures: u64,
    /// The first failure, as text.
    pub first_failure: Option<String>,
}

/// A table printed with aligned columns.
#[derive(Debug, Clone)]
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a title and column names.
    pub fn new(title: impl Into<String>, header: &[&str]) -> Self {
        Table {
            title: title.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders it.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from(" ");
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                if i == 0 {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str("  ");
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.trim_end().to_string()
        };
        let mut out = format!("{}\n", self.title);
        out.push_str(&line(&self.header));
        out.push('\n');
        let total: usize = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1) + 1;
        out.push_str(&format!(" {}\n", "-".repeat(total.saturating_sub(1))));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// Scenario parameters as `key=value` pairs (nulls left out).
pub fn params(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// Microseconds as `850 µs`, `1.23 ms`, `4.5 s`.
pub fn us(v: u64) -> String {
    let v = v as f64;
    if v < 1_000.0 {
        format!("{v:.0} µs")
    } else if v < 1_000_000.0 {
        format!("{:.2} ms", v / 1_000.0)
    } else {
        format!("{:.2} s", v / 1_000_000.0)
    }
}

/// A rate with a unit, three significant figures or so.
pub fn rate(v: f64, unit: &str) -> String {
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Bytes as KiB/MiB/GiB.
pub fn bytes(v: f64) -> String {
    let abs = v.abs();
    if abs >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", v / (1024.0 * 1024.0 * 1024.0))
    } else if abs >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else if abs >= 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else {
        format!("{v:.0} B")
    }
}

/// A ratio as `1.23×`, or `-` when it means nothing.
pub fn ratio(v: Option<f64>) -> String {
    match v {
        Some(r) if r >= 100.0 => format!("{r:.0}×"),
        Some(r) if r >= 10.0 => format!("{r:.1}×"),
        Some(r) => format!("{r:.2}×"),
        None => "-".into(),
    }
}

/// A percentage.
pub fn percent(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "-".into())
}

/// An optional count of bytes.
pub fn opt_bytes(v: Option<u64>) -> String {
    v.map(|b| bytes(b as f64)).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let mut t = Table::new("T", &["name", "value"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["longer".into(), "22".into()]);
        let text = t.render();
        assert!(text.starts_with("T\n"));
        assert!(text.contains("\n a           1\n"), "{text}");
        assert!(text.contains("\n longer     22\n"), "{text}");
    }

    #[test]
    fn figures_format() {
        assert_eq!(us(850), "850 µs");
        assert_eq!(us(1_234), "1.23 ms");
        assert_eq!(us(4_500_000), "4.50 s");
        assert_eq!(bytes(2048.0), "2.0 KiB");
        assert_eq!(ratio(Some(1.234)), "1.23×");
        assert_eq!(ratio(None), "-");
    }
}
