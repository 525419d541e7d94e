//! Result tables: printed as Markdown, saved as JSON with the same keys.

use serde_json::{Map, Value, json};

pub struct Column {
    pub key: &'static str,
    pub heading: &'static str,
    /// Decimals for numbers in Markdown (JSON keeps full precision).
    pub decimals: usize,
}

pub const fn col(key: &'static str, heading: &'static str, decimals: usize) -> Column {
    Column {
        key,
        heading,
        decimals,
    }
}

pub struct Table {
    pub name: &'static str,
    pub title: String,
    pub notes: Vec<String>,
    columns: Vec<Column>,
    rows: Vec<Map<String, Value>>,
}

impl Table {
    pub fn new(name: &'static str, title: impl Into<String>, columns: Vec<Column>) -> Self {
        Self {
            name,
            title: title.into(),
            notes: Vec::new(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row; `row` must be a JSON object, missing keys print as `-`.
    pub fn push(&mut self, row: Value) {
        if let Value::Object(map) = row {
            self.rows.push(map);
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n", self.title);
        let headings: Vec<&str> = self.columns.iter().map(|c| c.heading).collect();
        out += &format!("| {} |\n", headings.join(" | "));
        out += &format!("|{}\n", "---|".repeat(self.columns.len()));
        for row in &self.rows {
            let cells: Vec<String> = self
                .columns
                .iter()
                .map(|c| match row.get(c.key) {
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(f) if n.is_f64() => format!("{f:.*}", c.decimals),
                        _ => n.to_string(),
                    },
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Bool(b)) => b.to_string(),
                    _ => "-".to_owned(),
                })
                .collect();
            out += &format!("| {} |\n", cells.join(" | "));
        }
        for note in &self.notes {
            out += &format!("\n{note}\n");
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "title": self.title,
            "notes": self.notes,
            "rows": self.rows,
        })
    }
}

/// The value at fraction `p` of `values` (sorted in place); `None` when empty.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(i.min(values.len() - 1)).copied()
}
