//! Names and numbers in the lectures' notation.

use super::TraceValue;

/// `v₋₁`, `v₀`, `v₁`: the lectures' name of node i.
///
/// ```
/// assert_eq!(autodiff_runtime::trace::var_name(-1), "v₋₁");
/// ```
pub fn var_name(index: isize) -> String {
    format!("v{}", subscript(index))
}

/// `v̄₋₁`: the name of the adjoint ∂y/∂vᵢ.
///
/// ```
/// assert_eq!(autodiff_runtime::trace::adjoint_name(5), "v\u{304}₅");
/// ```
pub fn adjoint_name(index: isize) -> String {
    format!("v\u{304}{}", subscript(index))
}

fn subscript(index: isize) -> String {
    index
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '₋',
            d => char::from_u32('₀' as u32 + d.to_digit(10).unwrap_or(0)).unwrap_or(d),
        })
        .collect()
}

/// A number as the lectures print it: `decimals` decimals without trailing zeros (10, 5.5,
/// 0.693), the minus sign −, scientific notation for very large or small magnitudes.
pub(crate) fn number(x: f64, decimals: usize) -> String {
    let text = if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        format!("{}∞", if x < 0.0 { "-" } else { "" })
    } else if x != 0.0 && (x.abs() >= 1e7 || x.abs() < 0.5 * 10f64.powi(-(decimals as i32))) {
        format!("{x:.decimals$e}")
    } else {
        let fixed = format!("{x:.decimals$}");
        let fixed = match fixed.contains('.') {
            true => fixed
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            false => fixed,
        };
        match fixed.as_str() {
            "-0" => "0".to_string(),
            _ => fixed,
        }
    };
    text.replace('-', "−")
}

/// A number as an operand: parenthesized when negative, `(−0.959)`.
pub(crate) fn operand(x: f64, decimals: usize) -> String {
    let text = number(x, decimals);
    match text.starts_with('−') {
        true => format!("({text})"),
        false => text,
    }
}

/// How many elements a summary shows.
const SHOWN: usize = 3;

/// A value: a scalar as a number; an array by its shape and a summary (the first elements,
/// min, max, norm), or with `full` every element, nested by rows.
pub(crate) fn value(v: &TraceValue, decimals: usize, full: bool) -> String {
    match v {
        TraceValue::Scalar(x) => number(*x, decimals),
        TraceValue::Array { shape, data } => {
            let dims = shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("×");
            if full {
                return format!("[{dims}] {}", nested(shape, data, decimals));
            }
            let first: Vec<String> = data
                .iter()
                .take(SHOWN)
                .map(|&x| number(x, decimals))
                .collect();
            let more = if data.len() > SHOWN { ", …" } else { "" };
            if data.is_empty() {
                return format!("[{dims}] []");
            }
            let min = data.iter().copied().fold(f64::INFINITY, f64::min);
            let max = data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let norm = data.iter().map(|x| x * x).sum::<f64>().sqrt();
            format!(
                "[{dims}] [{}{more}] min {} max {} ‖·‖ {}",
                first.join(", "),
                number(min, decimals),
                number(max, decimals),
                number(norm, decimals)
            )
        }
    }
}

/// Every element, nested by the shape: `[[1, 2], [3, 4]]`.
fn nested(shape: &[usize], data: &[f64], decimals: usize) -> String {
    match shape {
        [] | [_] => format!(
            "[{}]",
            data.iter()
                .map(|&x| number(x, decimals))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [rows, rest @ ..] => {
            let step = rest.iter().product::<usize>();
            let parts: Vec<String> = (0..*rows)
                .map(|r| nested(rest, &data[r * step..(r + 1) * step], decimals))
                .collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Fills a template: `{k}` with `arg(k)`, `{y}` with node i's name, `{g}` with `g` (or
/// keeps it), `{{` and `}}` with braces. A placeholder `arg` does not know stays as it is.
pub(crate) fn fill(
    template: &str,
    arg: impl Fn(usize) -> Option<String>,
    index: isize,
    g: Option<&str>,
) -> String {
    if !template.contains(['{', '}']) {
        return template.to_string();
    }
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let close = tail.find('}').filter(|_| tail.starts_with('{'));
        let Some(close) = close else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let key = &tail[1..close];
        let text = match key {
            "y" => Some(var_name(index)),
            "g" => g.map(str::to_string),
            k => k.parse().ok().and_then(&arg),
        };
        match text {
            Some(text) => out.push_str(&text),
            None => out.push_str(&tail[..=close]),
        }
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a text is a template with argument placeholders.
pub(crate) fn is_template(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(3)
        .any(|w| w[0] == b'{' && w[1].is_ascii_digit() && (w[2] == b'}' || w[2].is_ascii_digit()))
}

/// Replaces each vₖ in `expr` that `lookup` knows by the text it gives: `ln v₋₁` → `ln 2`.
/// Names are whole tokens: v₁ never matches inside v₁₂.
pub(crate) fn substitute(expr: &str, lookup: impl Fn(isize) -> Option<String>) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let is_sub = |c: char| c == '₋' || ('₀'..='₉').contains(&c);
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let previous_is_letter = i > 0 && chars[i - 1].is_alphanumeric();
        if chars[i] == 'v' && !previous_is_letter && i + 1 < chars.len() && is_sub(chars[i + 1]) {
            let mut j = i + 1;
            while j < chars.len() && is_sub(chars[j]) {
                j += 1;
            }
            let digits: String = chars[i + 1..j]
                .iter()
                .map(|&c| match c {
                    '₋' => '-',
                    d => char::from_u32(d as u32 - '₀' as u32 + '0' as u32).unwrap_or('?'),
                })
                .collect();
            if let Some(text) = digits.parse::<isize>().ok().and_then(&lookup) {
                // Already in parentheses (`σ(v₁)`): a negative number's own are dropped.
                let enclosed = i > 0 && chars[i - 1] == '(' && chars.get(j) == Some(&')');
                let text = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
                    Some(inner) if enclosed => inner,
                    _ => &text,
                };
                out.push_str(text);
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_the_lecture_prints_them() {
        assert_eq!(number(2.0_f64.ln(), 3), "0.693");
        assert_eq!(number(10.0, 3), "10");
        assert_eq!(number(5.0_f64.sin(), 3), "−0.959");
        assert_eq!(number(5.5, 3), "5.5");
        assert_eq!(number(-0.0, 3), "0");
        assert_eq!(number(1e-5, 3), "1.000e−5");
        assert_eq!(operand(-1.0, 3), "(−1)");
    }

    #[test]
    fn templates_name_their_arguments() {
        let arg = |k: usize| ["v₋₁", "v₀"].get(k).map(|s| s.to_string());
        assert_eq!(fill("{0} × {1}", arg, 2, None), "v₋₁ × v₀");
        assert_eq!(fill("{g} · {1}ᵀ", arg, 2, Some("v̄₂")), "v̄₂ · v₀ᵀ");
        assert_eq!(
            fill("{y} / {0} {{x}} {7}", arg, 3, None),
            "v₃ / v₋₁ {x} {7}"
        );
        assert!(is_template("ln {0}") && !is_template("ln v₋₁") && !is_template("{g}"));
    }

    #[test]
    fn substitution_is_by_whole_names() {
        let lookup = |k: isize| (k == 1).then(|| "7".to_string());
        assert_eq!(substitute("v₁ + v₁₂", lookup), "7 + v₁₂");
        assert_eq!(substitute("ln v₋₁", |_| Some("2".into())), "ln 2");
        let negative = |_| Some("(−1.06)".to_string());
        assert_eq!(substitute("σ(v₁) + v₁", negative), "σ(−1.06) + (−1.06)");
    }

    #[test]
    fn arrays_show_shape_and_summary() {
        let v = TraceValue::Array {
            shape: vec![2, 2],
            data: vec![3.0, -4.0, 0.0, 0.0],
        };
        assert_eq!(
            value(&v, 3, false),
            "[2×2] [3, −4, 0, …] min −4 max 3 ‖·‖ 5"
        );
        assert_eq!(value(&v, 3, true), "[2×2] [[3, −4], [0, 0]]");
    }
}
