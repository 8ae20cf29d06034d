//! The macro's table of primitives (`autodiff_core::rules`) and the runtime's `prim` module
//! must agree, and nothing else checks that until a user's crate fails to compile.
//!
//! For every row, the generated code calls `::autodiff::__private::prim::<module>::forward`
//! with the row's `arity` arguments, and `vjpK` / `jvpK` (the arguments, `&y`, then the
//! adjoint or tangent) for every argument K not in `constant_args`. The workspace's own tests
//! only exercise the primitives they happen to use, so a row whose module is missing, renamed,
//! or lacks one pullback goes unnoticed until someone differentiates through it.
//!
//! This test reads the runtime's source with `syn` (it cannot name the runtime's items: the
//! runtime is not a dependency of this crate, and a missing item would be a compile error
//! rather than a message). Starting at `autodiff-runtime/src/lib.rs`, it follows `mod`
//! declarations to `prim`, and resolves each row's module to one of
//!
//! - a `rule! { name(args) -> y = …; vjp0 / d0: …; … }` invocation, whose functions it derives
//!   from the arguments the invocation declares, mirroring the macro's `@apply` arms (a
//!   separate test fails when those arms change);
//! - a `pub mod name { … }`, inline or in its own file, whose `pub fn`s it lists, including
//!   those of a single-arm `macro_rules!` the module invokes (`jvps_of_a_pair_loss!`);
//! - a `pub use crate::…::{name}` re-export, followed into the module it names.
//!
//! It checks that the module is `pub`, that `pub fn`s `forward`, `vjpK` and `jvpK` exist, that
//! the arity the runtime declares (the `rule!` arguments, or `forward`'s parameters) is the
//! table's, and that the pullbacks take the arity plus two parameters. Conversely, every
//! public module of `prim` must be named by a row, or be listed in [`NOT_PRIMITIVES`] with a
//! reason. A failure names the row, the missing function and the file the test looked in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use autodiff_core::rules::Primitive;
use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Attribute, Expr, Item, ItemMacro, Token, UseTree, Visibility};

/// Modules of the runtime's `prim` that no row of the table names, each with the reason.
const NOT_PRIMITIVES: &[(&str, &str)] = &[(
    "mul_shaped",
    "the `Mul` row's pullbacks as reverse mode calls them, from the result's shape only",
)];

/// Where the runtime's source lives.
fn runtime_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../autodiff-runtime/src")
}

/// A path as the messages show it: from the workspace's root.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

fn parse_file(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", shown(path)));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", shown(path)))
}

// ---------------------------------------------------------------------------------------------
// The runtime's module tree

/// A module of the runtime: its items, the file they are in, and its path in the crate.
#[derive(Clone)]
struct Module {
    path: Vec<String>,
    file: PathBuf,
    /// Where the files of its `mod child;` declarations live.
    child_dir: PathBuf,
    items: Vec<Item>,
    /// Declared `pub mod`: callable from the generated code if its parents re-export it.
    public: bool,
}

impl Module {
    fn crate_root() -> Module {
        let file = runtime_src().join("lib.rs");
        Module {
            path: Vec::new(),
            items: parse_file(&file).items,
            file,
            child_dir: runtime_src(),
            public: true,
        }
    }

    /// The child module `name`, declared inline or in its own file.
    fn child(&self, name: &str) -> Option<Module> {
        let declared = self.items.iter().find_map(|item| match item {
            Item::Mod(m) if m.ident == name => Some(m),
            _ => None,
        })?;
        let mut path = self.path.clone();
        path.push(name.to_string());
        let child_dir = self.child_dir.join(name);
        let public = matches!(declared.vis, Visibility::Public(_));
        Some(match &declared.content {
            Some((_, items)) => Module {
                path,
                file: self.file.clone(),
                child_dir,
                items: items.clone(),
                public,
            },
            None => {
                let own_file = self.child_dir.join(format!("{name}.rs"));
                let file = match own_file.exists() {
                    true => own_file,
                    false => child_dir.join("mod.rs"),
                };
                Module {
                    path,
                    items: parse_file(&file).items,
                    file,
                    child_dir,
                    public,
                }
            }
        })
    }

    /// The module at `path` from the crate's root.
    fn at(path: &[String]) -> Result<Module, String> {
        let mut module = Module::crate_root();
        for name in path {
            module = module.child(name).ok_or_else(|| {
                format!(
                    "no module `{name}` in {} (following `crate::{}`)",
                    shown(&module.file),
                    path.join("::")
                )
            })?;
        }
        Ok(module)
    }
}

/// How the runtime defines a primitive's module.
enum Definition {
    /// `rule! { … }`
    Rule(RuleInvocation),
    /// `pub mod name { … }`
    Module(Module),
}

/// Where a primitive's module is defined, and how.
struct Found {
    file: PathBuf,
    definition: Definition,
}

impl Found {
    fn describe(&self) -> String {
        let how = match self.definition {
            Definition::Rule(_) => "its `rule!` invocation",
            Definition::Module(_) => "its `mod` block",
        };
        format!("{how} in {}", shown(&self.file))
    }
}

/// The definition of the module `name` that `module` declares or re-exports.
fn find_definition(module: &Module, name: &str) -> Result<Found, String> {
    find_definition_within(module, name, 0)
}

fn find_definition_within(module: &Module, name: &str, hops: usize) -> Result<Found, String> {
    if hops > 8 {
        return Err(format!("too many `pub use` hops looking for `{name}`"));
    }
    if let Some(child) = module.child(name) {
        let file = child.file.clone();
        return Ok(Found {
            file,
            definition: Definition::Module(child),
        });
    }
    for invocation in rule_invocations(&module.items) {
        let invocation = invocation.map_err(|e| format!("{e} in {}", shown(&module.file)))?;
        if invocation.name == name {
            let file = module.file.clone();
            return Ok(Found {
                file,
                definition: Definition::Rule(invocation),
            });
        }
    }
    for (target, binding) in reexports(&module.items) {
        if binding == name {
            let (last, parent) = resolve_use(module, &target)?;
            let parent = Module::at(&parent)?;
            return find_definition_within(&parent, &last, hops + 1).map_err(|e| {
                format!(
                    "`pub use {}` in {}: {e}",
                    target.join("::"),
                    shown(&module.file)
                )
            });
        }
    }
    Err(format!(
        "no `mod {name}`, `rule! {{ {name}(…) … }}` or `pub use …::{name}` in {}",
        shown(&module.file)
    ))
}

/// Every `(path, name it is bound to)` that the `use` items bring in; globs are skipped.
fn reexports(items: &[Item]) -> Vec<(Vec<String>, String)> {
    fn leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                leaves(&p.tree, prefix, out);
                prefix.pop();
            }
            UseTree::Name(n) if n.ident == "self" => {
                if let Some(last) = prefix.last() {
                    out.push((prefix.clone(), last.clone()));
                }
            }
            UseTree::Name(n) => {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                out.push((path, n.ident.to_string()));
            }
            UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                out.push((path, r.rename.to_string()));
            }
            UseTree::Group(g) => g.items.iter().for_each(|tree| leaves(tree, prefix, out)),
            UseTree::Glob(_) => {}
        }
    }
    let mut out = Vec::new();
    for item in items {
        if let Item::Use(u) = item {
            if matches!(u.vis, Visibility::Public(_)) {
                leaves(&u.tree, &mut Vec::new(), &mut out);
            }
        }
    }
    out
}

/// A `use` path as (the name it ends with, the crate path of the module holding that name).
fn resolve_use(module: &Module, target: &[String]) -> Result<(String, Vec<String>), String> {
    let (last, rest) = target.split_last().expect("a use path has a name");
    let mut parent = match rest.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => module.path.clone(),
        Some("super") => module.path[..module.path.len().saturating_sub(1)].to_vec(),
        _ => {
            return Err(format!(
                "cannot follow `use {}`: only `crate::`, `self::` and `super::` paths",
                target.join("::")
            ))
        }
    };
    for segment in &rest[1..] {
        match segment.as_str() {
            "super" => {
                parent.pop();
            }
            _ => parent.push(segment.clone()),
        }
    }
    Ok((last.clone(), parent))
}

// ---------------------------------------------------------------------------------------------
// `rule!` invocations

/// `rule! { /// doc
///     name(a, b) -> y = forward; [arrays: Kernel] [from_y: vjp0_from_y]
///     vjp0 / d0: partial; vjp1 / d1: partial; }`
struct RuleInvocation {
    name: Ident,
    args: Vec<Ident>,
    kernel: bool,
    /// The pullback from the result alone, for a rule whose partial reads only `y`.
    from_y: Option<Ident>,
    vjps: Vec<Ident>,
}

impl Parse for RuleInvocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        let name = input.parse()?;
        let args;
        syn::parenthesized!(args in input);
        let args = Punctuated::<Ident, Token![,]>::parse_terminated(&args)?;
        input.parse::<Token![->]>()?;
        input.parse::<Ident>()?;
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
        input.parse::<Token![;]>()?;
        let (mut kernel, mut from_y) = (false, None);
        while input.peek(syn::token::Bracket) {
            let inside;
            syn::bracketed!(inside in input);
            let key: Ident = inside.parse()?;
            inside.parse::<Token![:]>()?;
            let value: Ident = inside.parse()?;
            match key.to_string().as_str() {
                "arrays" => kernel = true,
                "from_y" => from_y = Some(value),
                _ => return Err(syn::Error::new(key.span(), "expected `arrays` or `from_y`")),
            }
        }
        let mut vjps = Vec::new();
        while !input.is_empty() {
            vjps.push(input.parse()?);
            input.parse::<Token![/]>()?;
            input.parse::<Ident>()?;
            input.parse::<Token![:]>()?;
            input.parse::<Expr>()?;
            input.parse::<Token![;]>()?;
        }
        Ok(RuleInvocation {
            name,
            args: args.into_iter().collect(),
            kernel,
            from_y,
            vjps,
        })
    }
}

/// The `rule!` invocations among `items`, parsed.
fn rule_invocations(items: &[Item]) -> impl Iterator<Item = Result<RuleInvocation, String>> + '_ {
    items.iter().filter_map(|item| match item {
        Item::Macro(m) if m.mac.path.is_ident("rule") => {
            Some(m.mac.parse_body::<RuleInvocation>().map_err(|e| {
                format!("cannot read a `rule!` invocation ({e}); has its syntax changed?")
            }))
        }
        _ => None,
    })
}

/// The public functions of a module and their parameter counts (`None`: not visible).
type Fns = BTreeMap<String, Option<usize>>;

/// What a definition provides.
struct Provided {
    fns: Fns,
    /// The arity the definition declares: the `rule!` arguments, or `forward`'s parameters.
    arity: Option<usize>,
    /// Why some functions may be missing from `fns`.
    notes: Vec<String>,
}

/// The arities of the `rule!` macro's `@apply` arms that [`rule_fns`] mirrors, and whether
/// each accepts an `[arrays: Kernel]`.
const MIRRORED_RULE_ARMS: &[(usize, bool)] = &[(1, true), (2, false), (3, false)];

/// The functions `rule!` defines for an invocation, mirroring the macro's arms: `value` and
/// `forward` of the arguments, each `vjp` the invocation names and `jvp0`, `jvp1`, … (the
/// arms name those themselves), the pullbacks taking the arguments, `&y` and `g` or `t`.
fn rule_fns(invocation: &RuleInvocation) -> Provided {
    let n = invocation.args.len();
    let arm = MIRRORED_RULE_ARMS.iter().find(|(arity, _)| *arity == n);
    let matches =
        arm.is_some_and(|&(_, kernel)| kernel || !invocation.kernel) && invocation.vjps.len() == n;
    if !matches {
        let note = format!(
            "no arm of `rule!` takes {n} argument(s), {} partial(s){}: it defines no functions",
            invocation.vjps.len(),
            if invocation.kernel {
                " and an `[arrays: …]` kernel"
            } else {
                ""
            },
        );
        return Provided {
            fns: Fns::new(),
            arity: Some(n),
            notes: vec![note],
        };
    }
    let mut fns = Fns::from([
        ("value".to_string(), Some(n)),
        ("forward".to_string(), Some(n)),
    ]);
    for (k, vjp) in invocation.vjps.iter().enumerate() {
        fns.insert(vjp.to_string(), Some(n + 2));
        fns.insert(format!("jvp{k}"), Some(n + 2));
    }
    if n == 1 {
        fns.insert("forward_into".to_string(), Some(1));
    }
    if let Some(from_y) = &invocation.from_y {
        fns.insert(from_y.to_string(), Some(3));
    }
    Provided {
        fns,
        arity: Some(n),
        notes: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Plain modules

/// The `pub fn`s of a module block, with those of the local macros it invokes.
fn module_fns(module: &Module) -> Provided {
    let mut fns = Fns::new();
    let mut notes = Vec::new();
    for item in &module.items {
        match item {
            Item::Fn(f) if matches!(f.vis, Visibility::Public(_)) => {
                fns.insert(f.sig.ident.to_string(), Some(f.sig.inputs.len()));
            }
            Item::Macro(m) if m.ident.is_none() => match expand_local_macro(&module.file, m) {
                Ok(expanded) => fns.extend(expanded),
                Err(note) => notes.push(note),
            },
            _ => {}
        }
    }
    let arity = fns.get("forward").copied().flatten();
    Provided { fns, arity, notes }
}

/// The `pub fn`s that an invocation of a single-arm `macro_rules!` of `file` defines.
fn expand_local_macro(file: &Path, invocation: &ItemMacro) -> Result<Fns, String> {
    let name = invocation
        .mac
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let cannot =
        |why: &str| format!("the module invokes `{name}!`, which this test cannot expand ({why})");
    let definition = macro_rules_named(&parse_file(file), &name)
        .ok_or_else(|| cannot(&format!("no `macro_rules! {name}` in {}", shown(file))))?;
    let arms = macro_arms(&definition);
    let [(_, body)] = arms.as_slice() else {
        return Err(cannot(&format!("it has {} arms", arms.len())));
    };
    Ok(fns_in_tokens(body.clone()))
}

/// The body of `macro_rules! name` anywhere in `file`.
fn macro_rules_named(file: &syn::File, name: &str) -> Option<TokenStream> {
    struct Finder<'a> {
        name: &'a str,
        found: Option<TokenStream>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_item_macro(&mut self, m: &'ast ItemMacro) {
            if m.mac.path.is_ident("macro_rules")
                && m.ident.as_ref().is_some_and(|i| i == self.name)
            {
                self.found.get_or_insert_with(|| m.mac.tokens.clone());
            }
        }
    }
    let mut finder = Finder { name, found: None };
    finder.visit_file(file);
    finder.found
}

/// A `macro_rules!` body's arms, as (matcher, transcriber).
fn macro_arms(body: &TokenStream) -> Vec<(TokenStream, TokenStream)> {
    let groups: Vec<TokenStream> = body
        .clone()
        .into_iter()
        .filter_map(|tree| match tree {
            TokenTree::Group(g) => Some(g.stream()),
            _ => None,
        })
        .collect();
    groups
        .chunks(2)
        .filter_map(|pair| Some((pair.first()?.clone(), pair.get(1)?.clone())))
        .collect()
}

/// The `pub fn`s of a transcriber: parsed as items with each `$var` made an identifier, or,
/// where that fails, the names after `pub fn` with their parameters unknown.
fn fns_in_tokens(tokens: TokenStream) -> Fns {
    if let Ok(file) = syn::parse2::<syn::File>(without_metavariables(tokens.clone())) {
        return file
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Fn(f) if matches!(f.vis, Visibility::Public(_)) => {
                    Some((f.sig.ident.to_string(), Some(f.sig.inputs.len())))
                }
                _ => None,
            })
            .collect();
    }
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees
        .windows(3)
        .filter_map(|w| match w {
            [TokenTree::Ident(public), TokenTree::Ident(f), TokenTree::Ident(name)]
                if public == "pub" && f == "fn" =>
            {
                Some((name.to_string(), None))
            }
            _ => None,
        })
        .collect()
}

/// `tokens` with every `$var` replaced by the identifier `__var`, at any depth.
fn without_metavariables(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Punct(p)
                if p.as_char() == '$' && matches!(trees.peek(), Some(TokenTree::Ident(_))) =>
            {
                let Some(TokenTree::Ident(var)) = trees.next() else {
                    unreachable!()
                };
                out.push(TokenTree::Ident(Ident::new(
                    &format!("__{var}"),
                    Span::call_site(),
                )));
            }
            TokenTree::Group(g) => {
                let mut group =
                    proc_macro2::Group::new(g.delimiter(), without_metavariables(g.stream()));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            tree => out.push(tree),
        }
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// The checks

fn prim_module() -> Module {
    Module::at(&["prim".to_string()]).unwrap_or_else(|e| panic!("{e}"))
}

fn provided(found: &Found) -> Provided {
    match &found.definition {
        Definition::Rule(invocation) => rule_fns(invocation),
        Definition::Module(module) => module_fns(module),
    }
}

/// What is wrong with one row of the table, if anything.
fn row_problems(prim: Primitive, prim_module: &Module) -> Vec<String> {
    let rule = prim.rule();
    let row = format!(
        "row `{prim:?} => \"{}\"` (arity {})",
        rule.module, rule.arity
    );
    let mut problems = Vec::new();
    for &k in rule.constant_args.iter().filter(|&&k| k >= rule.arity) {
        problems.push(format!("{row}: constant argument {k} is past its arity"));
    }
    let found = match find_definition(prim_module, rule.module) {
        Ok(found) => found,
        Err(e) => {
            problems.push(format!(
                "{row}: no runtime module `prim::{}`: {e}",
                rule.module
            ));
            return problems;
        }
    };
    let Provided { fns, arity, notes } = provided(&found);
    let place = found.describe();
    if matches!(&found.definition, Definition::Module(m) if !m.public) {
        problems.push(format!(
            "{row}: `mod {}` is not `pub` ({place})",
            rule.module
        ));
    }
    if let Some(declared) = arity.filter(|&n| n != rule.arity) {
        problems.push(format!(
            "{row}: the runtime's `{}` takes {declared} argument(s) ({place})",
            rule.module
        ));
    }
    let mut required = vec![("forward".to_string(), rule.arity)];
    for k in (0..rule.arity).filter(|k| !rule.constant_args.contains(k)) {
        required.push((format!("vjp{k}"), rule.arity + 2));
        required.push((format!("jvp{k}"), rule.arity + 2));
    }
    for (function, parameters) in required {
        match fns.get(&function) {
            None => {
                let mut problem = format!("{row}: no `pub fn {function}` in `prim::{}` ({place})", rule.module);
                for note in &notes {
                    let _ = write!(problem, "; {note}");
                }
                problems.push(problem);
            }
            Some(Some(n)) if *n != parameters => problems.push(format!(
                "{row}: `prim::{}::{function}` takes {n} parameters, the generated code passes {parameters} ({place})",
                rule.module
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn every_row_has_its_runtime_functions() {
    let prim = prim_module();
    let problems: Vec<String> = Primitive::ALL
        .iter()
        .flat_map(|&p| row_problems(p, &prim))
        .collect();
    assert!(
        problems.is_empty(),
        "the primitive table (autodiff-core/src/rules.rs) and the runtime disagree:\n  {}",
        problems.join("\n  ")
    );
}

/// The modules `prim` defines or re-exports.
fn runtime_modules(prim: &Module) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = (prim.items.iter())
        .filter_map(|item| match item {
            Item::Mod(m) if matches!(m.vis, Visibility::Public(_)) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect();
    for invocation in rule_invocations(&prim.items) {
        names.insert(
            invocation
                .unwrap_or_else(|e| panic!("{e}"))
                .name
                .to_string(),
        );
    }
    for (_, binding) in reexports(&prim.items) {
        if find_definition(prim, &binding).is_ok() {
            names.insert(binding);
        }
    }
    names
}

#[test]
fn every_runtime_module_has_a_row() {
    let prim = prim_module();
    let rows: BTreeSet<&str> = Primitive::ALL.iter().map(|p| p.rule().module).collect();
    let allowed: BTreeMap<&str, &str> = NOT_PRIMITIVES.iter().copied().collect();
    let modules = runtime_modules(&prim);
    let unnamed: Vec<&String> = modules
        .iter()
        .filter(|m| !rows.contains(m.as_str()) && !allowed.contains_key(m.as_str()))
        .collect();
    for stale in allowed
        .keys()
        .filter(|m| !modules.contains(**m) || rows.contains(*m))
    {
        eprintln!(
            "note: NOT_PRIMITIVES lists `{stale}`, which is no longer an unnamed module of prim"
        );
    }
    assert!(
        unnamed.is_empty(),
        "modules of {} that no row of the table (autodiff-core/src/rules.rs) names: {unnamed:?}; \
         add a row, or list them in NOT_PRIMITIVES with the reason",
        shown(&prim.file)
    );
}

/// The `@apply` arms of the `rule!` macro in `prim.rs`, as (arity, accepts a kernel).
fn rule_macro_arms(prim: &Module) -> BTreeSet<(usize, bool)> {
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: prim.items.clone(),
    };
    let body = macro_rules_named(&file, "rule")
        .unwrap_or_else(|| panic!("no `macro_rules! rule` in {}", shown(&prim.file)));
    let mut arms = BTreeSet::new();
    for (matcher, _) in macro_arms(&body) {
        let trees: Vec<TokenTree> = matcher.into_iter().collect();
        let is_apply = matches!(&trees[..], [TokenTree::Punct(at), TokenTree::Ident(apply), ..]
            if at.as_char() == '@' && apply == "apply");
        if !is_apply {
            continue;
        }
        let group = |delimiter| {
            trees.iter().find_map(|tree| match tree {
                TokenTree::Group(g) if g.delimiter() == delimiter => Some(g.stream()),
                _ => None,
            })
        };
        let dollars = |tokens: TokenStream| {
            tokens
                .into_iter()
                .filter(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '$'))
                .count()
        };
        let args = group(Delimiter::Parenthesis).expect("an @apply arm lists its arguments");
        let kernel = group(Delimiter::Bracket).expect("an @apply arm matches a kernel");
        arms.insert((dollars(args), !kernel.is_empty()));
    }
    arms
}

#[test]
fn rule_macro_arms_are_the_ones_this_test_mirrors() {
    let prim = prim_module();
    let arms = rule_macro_arms(&prim);
    let mirrored: BTreeSet<(usize, bool)> = MIRRORED_RULE_ARMS.iter().copied().collect();
    assert_eq!(
        arms,
        mirrored,
        "the `@apply` arms of `rule!` in {} (arity, accepts `[arrays: …]`) changed: update \
         `rule_fns` and MIRRORED_RULE_ARMS in this test to define what the macro defines",
        shown(&prim.file)
    );
}

/// The reader itself, on the three shapes of module: a plain `pub mod` (here one like the
/// coming `index`, whose argument 1 is constant), a `rule!`, and a module that invokes a local
/// macro.
#[test]
fn the_reader_sees_every_shape_of_module() {
    let source: syn::File = syn::parse_quote! {
        pub mod index {
            pub fn forward<X>(x: X, i: usize) -> X { x }
            pub fn vjp0<X>(x: X, i: usize, y: &X, g: X) -> X { g }
            pub fn jvp0<X>(x: X, i: usize, y: &X, t: X) -> X { t }
            pub fn add_at<X>(x: X, i: usize) {}
            fn helper() {}
        }
        rule! { /// a · b
        mul(a, b) -> y = a * b; vjp0 / d0: b; vjp1 / d1: if a > b { a } else { b }; }
        rule! { exp(x) -> y = x.exp(); [arrays: Exp] [from_y: vjp0_from_y] vjp0 / d0: y; }
        rule! { bad(a, b) -> y = a; [arrays: K] vjp0 / d0: b; vjp1 / d1: a; }
    };
    let module = Module {
        path: vec!["prim".into()],
        file: PathBuf::from("<test source>"),
        child_dir: PathBuf::from("<test source>"),
        items: source.items,
        public: true,
    };
    let fns_of = |name: &str| {
        let found = find_definition(&module, name).unwrap_or_else(|e| panic!("{e}"));
        let Provided { fns, arity, .. } = provided(&found);
        (fns.into_iter().collect::<Vec<_>>(), arity)
    };
    let some = |name: &str, n: usize| (name.to_string(), Some(n));

    assert_eq!(
        fns_of("index"),
        (
            vec![
                some("add_at", 2),
                some("forward", 2),
                some("jvp0", 4),
                some("vjp0", 4)
            ],
            Some(2)
        )
    );
    assert_eq!(
        fns_of("mul"),
        (
            vec![
                some("forward", 2),
                some("jvp0", 4),
                some("jvp1", 4),
                some("value", 2),
                some("vjp0", 4),
                some("vjp1", 4)
            ],
            Some(2)
        )
    );
    assert_eq!(
        fns_of("exp").0,
        vec![
            some("forward", 1),
            some("forward_into", 1),
            some("jvp0", 3),
            some("value", 1),
            some("vjp0", 3),
            some("vjp0_from_y", 3)
        ]
    );
    assert_eq!(
        fns_of("bad"),
        (vec![], Some(2)),
        "no arm takes two arguments and a kernel"
    );
    assert!(find_definition(&module, "missing").is_err());

    let pair_loss: TokenStream = syn::parse_quote! {
        #[track_caller]
        pub fn jvp0<A>(p: A, y: A, out: &A, t: A) -> A { check($op, t); inner(vjp0(p, y, out, one()), t) }
        pub fn jvp1<A>(p: A, y: A, out: &A, t: A) -> A { t }
    };
    assert_eq!(
        fns_in_tokens(pair_loss).into_iter().collect::<Vec<_>>(),
        vec![some("jvp0", 4), some("jvp1", 4)]
    );
}
