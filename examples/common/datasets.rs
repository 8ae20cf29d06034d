//! The real data sets shipped in `data/` (see `data/README.md` for their provenance), parsed
//! into features and targets.

use autodiff::ndarray::{Array1, Array2};

/// Features, one example per row, and targets: class indices for classification, real
/// values for regression.
pub struct Dataset {
    pub name: &'static str,
    pub x: Array2<f64>,
    pub y: Array1<f64>,
    /// The class names; empty for a regression target.
    pub classes: Vec<String>,
}

impl Dataset {
    /// The targets as class indices.
    pub fn labels(&self) -> Vec<usize> {
        self.y.iter().map(|&y| y as usize).collect()
    }

    pub fn is_classification(&self) -> bool {
        !self.classes.is_empty()
    }
}

fn numbers(line: &str, separator: Option<char>) -> Vec<f64> {
    let fields: Vec<&str> = match separator {
        Some(c) => line.split(c).collect(),
        None => line.split_whitespace().collect(),
    };
    fields
        .iter()
        .map(|f| {
            f.trim()
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {f:?}"))
        })
        .collect()
}

/// Rows of numbers whose last column is the target.
fn table(name: &'static str, rows: Vec<Vec<f64>>, classes: Vec<String>) -> Dataset {
    let width = rows[0].len() - 1;
    let x = Array2::from_shape_fn((rows.len(), width), |(i, j)| rows[i][j]);
    let y = rows.iter().map(|row| row[width]).collect();
    Dataset {
        name,
        x,
        y,
        classes,
    }
}

/// scikit-learn's format: a header `n,d,class names…`, then d features and the label.
fn with_header(name: &'static str, text: &str) -> Dataset {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let classes = header[2..].iter().map(|c| c.to_string()).collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| numbers(l, Some(',')))
        .collect();
    table(name, rows, classes)
}

/// Breast cancer Wisconsin (diagnostic): 569 × 30, malignant (0) / benign (1).
pub fn breast_cancer() -> Dataset {
    with_header(
        "breast-cancer",
        include_str!("../../data/breast_cancer.csv"),
    )
}

/// Iris: 150 × 4, three species.
pub fn iris() -> Dataset {
    with_header("iris", include_str!("../../data/iris.csv"))
}

/// Optical recognition of handwritten digits: 1797 × 64 pixels (0..16) of 8 × 8 images.
pub fn digits() -> Dataset {
    let text = include_str!("../../data/digits.csv");
    let rows = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| numbers(l, Some(',')))
        .collect();
    table("digits", rows, (0..10).map(|d| d.to_string()).collect())
}

/// Diabetes: 442 × 10 raw features, disease progression one year after baseline.
pub fn diabetes() -> Dataset {
    let features = include_str!("../../data/diabetes_data_raw.csv");
    let targets = include_str!("../../data/diabetes_target.csv");
    let rows = features
        .lines()
        .zip(targets.lines())
        .map(|(f, t)| {
            let mut row = numbers(f, None);
            row.push(t.trim().parse().expect("a target value"));
            row
        })
        .collect();
    table("diabetes", rows, Vec::new())
}

/// The data set called `name` on the command line.
pub fn by_name(name: &str) -> Option<Dataset> {
    match name {
        "digits" => Some(digits()),
        "breast-cancer" => Some(breast_cancer()),
        "iris" => Some(iris()),
        "diabetes" => Some(diabetes()),
        _ => None,
    }
}
