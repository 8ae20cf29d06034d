//! `#[differentiable]` on the seed functions, mutated by the fuzzer's bytes: they choose a seed
//! of `corpus/differentiable` and a few edits of its token tree (of the item or of the
//! attribute's arguments) at any depth — delete, duplicate, swap, replace by a name or literal
//! of a small list, insert punctuation or a group, ungroup, regroup. Unlike the text target,
//! every input is a token stream, most still close to a function.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// The seeds as text (token streams are not `Sync`): the attribute's arguments and the item.
fn seeds() -> &'static [(String, String)] {
    static SEEDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/differentiable");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("the seeds in fuzz/corpus/differentiable")
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("seed-")
            })
            .collect();
        paths.sort();
        let seeds: Vec<_> = paths
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).unwrap();
                let (attr, item) = text.split_once('\n').unwrap_or(("", &text));
                (attr.to_string(), item.to_string())
            })
            .collect();
        assert!(!seeds.is_empty(), "no seeds in {dir}");
        seeds
    })
}

const IDENTS: &[&str] = &[
    "zz",
    "v0",
    "__adj0",
    "grad",
    "f_grad",
    "x",
    "y",
    "p",
    "self",
    "Self",
    "f64",
    "f32",
    "i32",
    "usize",
    "crate",
    "super",
    "sin",
    "powi",
    "relu",
    "softmax",
    "dot",
    "t",
    "mean",
    "unwrap",
    "Array1",
    "Axis",
    "wrt",
    "hessian",
    "vjp",
    "jvp",
    "fn",
    "let",
    "mut",
    "return",
    "if",
    "loop",
    "as",
    "ref",
    "move",
    "unsafe",
    "async",
    "await",
    "dyn",
    "impl",
    "where",
    "const",
    "static",
    "struct",
    "match",
    "_",
    "__v1",
    "__c1",
    "__b1",
    "__arg0",
    "cotangent",
    "x_tangent",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "1.0",
    "-1.0",
    "2.5f32",
    "1e308",
    "\"s\"",
    "'c'",
    "1u8",
    "-3i32",
    "0x10",
    "340282366920938463463374607431768211456",
    "1f64",
];
const PUNCTS: &[char] = &[
    '+', '-', '*', '/', '%', '^', '!', '&', '|', '=', '<', '>', '@', '.', ',', ';', ':', '#', '$',
    '?', '~', '\'',
];
const DELIMITERS: &[Delimiter] = &[
    Delimiter::Parenthesis,
    Delimiter::Brace,
    Delimiter::Bracket,
    Delimiter::None,
];

fn count(stream: &TokenStream) -> usize {
    stream
        .clone()
        .into_iter()
        .map(|tree| match &tree {
            TokenTree::Group(group) => 1 + count(&group.stream()),
            _ => 1,
        })
        .sum()
}

/// Applies `edit` to the sequence holding the `n`th tree (in preorder).
fn edit_at(
    stream: TokenStream,
    n: &mut Option<usize>,
    edit: &mut dyn FnMut(&mut Vec<TokenTree>, usize),
) -> TokenStream {
    let mut trees: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        let Some(left) = *n else { break };
        if left == 0 {
            *n = None;
            edit(&mut trees, i);
            break;
        }
        *n = Some(left - 1);
        if let TokenTree::Group(group) = &trees[i] {
            let inner = edit_at(group.stream(), n, edit);
            trees[i] = Group::new(group.delimiter(), inner).into();
        }
        i += 1;
    }
    trees.into_iter().collect()
}

fn ident(name: &str) -> TokenTree {
    Ident::new(name, Span::call_site()).into()
}

fn mutate(stream: TokenStream, u: &mut Unstructured) -> Result<TokenStream> {
    let total = count(&stream);
    if total == 0 {
        let name = *u.choose(IDENTS)?;
        return Ok(ident(name).into());
    }
    let at = u.choose_index(total)?;
    let op = u.int_in_range(0u8..=8)?;
    let name = *u.choose(IDENTS)?;
    let lit = *u.choose(LITERALS)?;
    let punct = Punct::new(
        *u.choose(PUNCTS)?,
        match u.arbitrary()? {
            true => Spacing::Joint,
            false => Spacing::Alone,
        },
    );
    let delimiter = *u.choose(DELIMITERS)?;
    let mut edit = |trees: &mut Vec<TokenTree>, k: usize| match op {
        0 => {
            trees.remove(k);
        }
        1 => trees.insert(k, trees[k].clone()),
        2 if k + 1 < trees.len() => trees.swap(k, k + 1),
        3 => trees[k] = ident(name),
        4 => trees[k] = Literal::from_str(lit).map_or_else(|_| ident(name), Into::into),
        5 => trees.insert(k, punct.clone().into()),
        6 => trees[k] = Group::new(delimiter, trees[k].clone().into()).into(),
        7 => {
            if let TokenTree::Group(group) = trees[k].clone() {
                trees.splice(k..=k, group.stream());
            }
        }
        _ => {
            if let TokenTree::Group(group) = &trees[k] {
                trees[k] = Group::new(delimiter, group.stream()).into();
            }
        }
    };
    Ok(edit_at(stream, &mut Some(at), &mut edit))
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let (attr, item) = u.choose(seeds())?;
    let mut attr = TokenStream::from_str(attr).unwrap();
    let mut item = TokenStream::from_str(item).unwrap();
    for _ in 0..u.int_in_range(1u8..=6)? {
        if u.ratio(1u8, 8)? {
            attr = mutate(attr, &mut u)?;
        } else {
            item = mutate(item, &mut u)?;
        }
    }
    autodiff_fuzz::check_differentiable(attr, item);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
