//! Native Vensim `.mdl` reader: model text → [`crate::ir::Project`] with
//! [`Dialect::Vensim`], without a detour through XMILE.
//!
//! `equations` splits the file into records (skipping the sketch),
//! `lexer` + `parser` turn equation text into [`crate::syntax::ast::Expr`],
//! `convert` classifies each record (stock, lookup, subscript range, ...),
//! `build` joins records into dimensions, variables and sim specs, and
//! `rewrite` specialises expressions per element, and `settings` reads
//! the integration type and file aliases from the settings block at the end.
//! Every problem is an [`Error`] with line and column; nothing panics on
//! malformed input.

mod build;
mod convert;
mod datasource;
mod equations;
pub mod external;
mod lexer;
mod parser;
mod rewrite;
mod settings;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::ir::{Dialect, Equation, Macro, Model, Project};
use crate::syntax::ast::{Expr, Span};
use crate::syntax::ident::canonicalize;
pub use convert::external_call;
use convert::{classify, Def, VarRecord};
use equations::{equations_end, split, Item, Lines};
use lexer::{lex, Tok};

/// The file being read, for turning offsets into positions.
pub struct Ctx<'a> {
    pub text: &'a str,
    lines: Lines,
    /// Non-fatal problems, for `Project::warnings`.
    warnings: std::cell::RefCell<Vec<String>>,
    /// External data files (`GET XLS DATA` ...), relative to the model's folder.
    pub data: external::DataFiles,
}

impl Ctx<'_> {
    /// Record a non-fatal problem at `offset`.
    pub fn warn(&self, offset: usize, message: impl std::fmt::Display) {
        let (line, _) = self.pos(offset);
        self.warnings
            .borrow_mut()
            .push(format!("line {line}: {message}"));
    }

    pub fn pos(&self, offset: usize) -> (u32, u32) {
        self.lines.pos(self.text, offset)
    }

    /// An [`Error::MdlSyntax`] at `offset` in the equation of `variable`.
    pub fn syntax(&self, offset: usize, variable: &str, message: impl Into<String>) -> Error {
        let (line, col) = self.pos(offset);
        Error::MdlSyntax {
            line,
            col,
            variable: variable.to_string(),
            message: message.into(),
        }
    }
}

struct MacroDef {
    name: String,
    params: Vec<String>,
    /// Additional outputs (`NAME(inputs : outputs)`), canonical.
    outputs: Vec<String>,
    defs: Vec<Def>,
    /// Offset of the `:MACRO:` line.
    offset: usize,
}

/// Parse one Vensim expression on its own (no record around it): a call
/// another tool kept in Vensim syntax (see `syntax::xmile::xmutil`).
pub fn parse_vensim_expr(text: &str) -> std::result::Result<Expr, String> {
    let toks = lex(text, 0).map_err(|(_, m)| m)?;
    let mut p = parser::Parser::new(&toks, 0, text.len());
    p.parse_all().map_err(|e| e.message)
}

/// Parse Vensim `.mdl` text into a project; external data functions then
/// fail with [`Error::DataFile`] (there is no folder to read files from).
pub fn parse_mdl(text: &str) -> Result<Project> {
    parse_mdl_with_base(text, None)
}

/// Parse Vensim `.mdl` text, reading external data files (`GET XLS DATA`
/// ...) relative to `base`, the folder of the model file.
pub fn parse_mdl_with_base(text: &str, base: Option<&std::path::Path>) -> Result<Project> {
    parse_mdl_with(text, base, None)
}

/// Like [`parse_mdl_with_base`], with `data_files` (paths, absolute or
/// relative to `base`) as the run's data source for data variables with no
/// equation, in place of the one the model's settings name.
pub fn parse_mdl_with(
    text: &str,
    base: Option<&std::path::Path>,
    data_files: Option<&[String]>,
) -> Result<Project> {
    // A byte-order mark (as Windows editors save UTF-8) is no part of the
    // model: left in, it would read as the first variable's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let end = equations_end(text);
    let settings = settings::read(text, end);
    let sources = match data_files {
        Some(files) => files.to_vec(),
        None => settings.data_sources,
    };
    let ctx = Ctx {
        text,
        lines: Lines::new(text),
        warnings: Default::default(),
        data: external::DataFiles::new(base, settings.aliases, sources),
    };
    if let Some(i) = text.find('\0') {
        return Err(ctx.syntax(i, "", "binary data: this is not a Vensim .mdl text file"));
    }
    let head = text.trim_start();
    if head.starts_with('<') {
        return Err(ctx.syntax(
            text.len() - head.len(),
            "",
            "this looks like XML (an XMILE file?), not a Vensim .mdl model",
        ));
    }
    let items = split(text, end).map_err(|(o, m)| ctx.syntax(o, "", m))?;
    let mut main = Vec::new();
    let mut macros: Vec<MacroDef> = Vec::new();
    let mut current: Option<MacroDef> = None;
    let mut called: Vec<convert::MacroOutput> = Vec::new();
    for item in items {
        match item {
            Item::MacroStart(header, offset) => {
                if current.is_some() {
                    return Err(ctx.syntax(offset, "", ":MACRO: inside another macro"));
                }
                current = Some(macro_header(&ctx, &header, offset)?);
            }
            Item::MacroEnd(offset) => match current.take() {
                Some(m) => macros.push(m),
                None => return Err(ctx.syntax(offset, "", ":END OF MACRO: without :MACRO:")),
            },
            Item::Record(rec) => {
                let def = classify(&ctx, &rec)?;
                let extra = output_defs(&def);
                if let Def::Var(v) = &def {
                    called.extend(v.outputs.iter().cloned());
                }
                let defs = match current.as_mut() {
                    Some(m) => &mut m.defs,
                    None => &mut main,
                };
                defs.push(def);
                defs.extend(extra);
            }
        }
    }
    if let Some(m) = current {
        return Err(ctx.syntax(
            text.len(),
            &m.name,
            format!("macro '{}' has no :END OF MACRO:", m.name),
        ));
    }
    for (ident, source) in BUILTIN_MACROS {
        let defined = macros.iter().any(|m| canonicalize(&m.name) == *ident);
        if !defined && called.iter().any(|o| o.call == *ident) {
            macros.push(builtin_macro(source)?);
        }
    }
    if !main.iter().any(|d| matches!(d, Def::Var(_))) {
        return Err(ctx.syntax(0, "", "no equations found: not a Vensim .mdl model"));
    }
    let dimensions = build::dimensions(&ctx, &main)?;
    let variables = build::variables(&ctx, &dimensions, var_records(main))?;
    let mut sim_specs = build::sim_specs(&variables)?;
    if let Some(method) = settings.method {
        sim_specs.method = method;
    }
    let mut project = Project {
        sim_specs,
        dialect: Dialect::Vensim,
        ..Project::default()
    };
    for m in macros {
        let ident = canonicalize(&m.name);
        let vars = build::variables(&ctx, &dimensions, var_records(m.defs))?;
        // Each additional output is read through a macro of its own: the
        // same body, with that output as its value (Vensim: "The output
        // arguments are variables that are defined inside of the macro",
        // https://vensim.com/documentation/22145.html). A call naming
        // outputs instantiates the body once per value it reads; the
        // copies see the same inputs, so they evolve alike.
        for (k, out) in m.outputs.iter().enumerate() {
            if !vars.iter().any(|v| &v.ident == out) {
                return Err(ctx.syntax(
                    m.offset,
                    &m.name,
                    format!("macro output '{out}' is not defined inside the macro"),
                ));
            }
            project.macros.push(Macro {
                eqn: Equation {
                    text: out.clone(),
                    expr: Expr::Var(out.clone(), Span::default()),
                },
                name: format!("{} (output {out})", m.name),
                ident: output_macro(&ident, k),
                params: m.params.clone(),
                defaults: Vec::new(),
                variables: vars.clone(),
            });
        }
        project.macros.push(Macro {
            eqn: Equation {
                text: m.name.clone(),
                expr: Expr::Var(ident.clone(), Span::default()),
            },
            name: m.name,
            ident,
            params: m.params,
            defaults: Vec::new(),
            variables: vars,
        });
    }
    check_outputs(&ctx, &project, &called)?;
    project.dimensions = dimensions;
    project.warnings = ctx.warnings.take();
    project.models.push(Model {
        variables,
        ..Model::default()
    });
    Ok(project)
}

/// Vensim functions with additional outputs, which are macros in all but
/// name: their documented equations, read as a `:MACRO:` of the model
/// would be when a call names their outputs and the model defines no macro
/// of that name.
const BUILTIN_MACROS: [(&str, &str); 1] = [(
    "delayp",
    // DELAYP(input, delay time : pipeline): a DELAY3 whose pipeline is its
    // three levels' sum (https://vensim.com/documentation/fn_delayp.html).
    ":MACRO: DELAYP(input, delay time : pipeline)
DELAYP = LV3 / DL ~~|
pipeline = LV1 + LV2 + LV3 ~~|
LV3 = INTEG(RT2 - DELAYP, DL * input) ~~|
RT2 = LV2 / DL ~~|
LV2 = INTEG(RT1 - RT2, LV3) ~~|
RT1 = LV1 / DL ~~|
LV1 = INTEG(input - RT1, LV3) ~~|
DL = delay time / 3 ~~|
:END OF MACRO:
",
)];

/// One of [`BUILTIN_MACROS`], read from its own text.
fn builtin_macro(source: &str) -> Result<MacroDef> {
    let ctx = Ctx {
        text: source,
        lines: Lines::new(source),
        warnings: Default::default(),
        data: external::DataFiles::new(None, Vec::new(), Vec::new()),
    };
    let mut def: Option<MacroDef> = None;
    for item in split(source, source.len()).map_err(|(o, m)| ctx.syntax(o, "", m))? {
        match item {
            Item::MacroStart(header, offset) => def = Some(macro_header(&ctx, &header, offset)?),
            Item::Record(rec) => {
                if let Some(d) = def.as_mut() {
                    d.defs.push(classify(&ctx, &rec)?);
                }
            }
            Item::MacroEnd(_) => {}
        }
    }
    def.ok_or_else(|| ctx.syntax(0, "", "a built-in macro without :MACRO:"))
}

fn var_records(defs: Vec<Def>) -> Vec<VarRecord> {
    defs.into_iter()
        .filter_map(|d| match d {
            Def::Var(v) => Some(*v),
            _ => None,
        })
        .collect()
}

/// The identifier of the macro reading output `k` of macro `ident`; `:`
/// never occurs in a canonical name, so it cannot clash with one.
fn output_macro(ident: &str, k: usize) -> String {
    format!("{ident}:{k}")
}

/// The variables a record's macro outputs define (`y = M(x : z)` defines
/// `z`, with the left-hand side's subscripts): `z = M:0(x)`.
fn output_defs(def: &Def) -> Vec<Def> {
    let Def::Var(v) = def else {
        return Vec::new();
    };
    v.outputs
        .iter()
        .map(|o| {
            let text = format!("output {} of {}", o.index + 1, o.call);
            Def::Var(Box::new(VarRecord {
                name: o.name.clone(),
                ident: canonicalize(&o.name),
                subs: v.subs.clone(),
                except: v.except.clone(),
                body: convert::Body::Expr(
                    Equation {
                        text,
                        expr: Expr::Call(
                            output_macro(&o.call, o.index),
                            o.args.clone(),
                            Span::default(),
                        ),
                    },
                    None,
                ),
                units: None,
                doc: None,
                line: v.line,
                offset: o.offset,
                outputs: Vec::new(),
            }))
        })
        .collect()
}

/// Every call naming outputs must call a macro with that many outputs.
fn check_outputs(ctx: &Ctx, project: &Project, called: &[convert::MacroOutput]) -> Result<()> {
    for o in called {
        let want = output_macro(&o.call, o.index);
        if project.macros.iter().any(|m| m.ident == want) {
            continue;
        }
        let have = (0..)
            .take_while(|&k| {
                project
                    .macros
                    .iter()
                    .any(|m| m.ident == output_macro(&o.call, k))
            })
            .count();
        let message = if project.macros.iter().any(|m| m.ident == o.call) {
            format!(
                "macro '{}' has {have} additional output(s), but this call names at least {}",
                o.call,
                o.index + 1
            )
        } else {
            format!(
                "'{}' is not a macro: only macro calls name outputs (NAME(inputs : outputs))",
                o.call
            )
        };
        return Err(ctx.syntax(o.offset, &o.name, message));
    }
    Ok(())
}

/// `NAME(in1, in2)` or `NAME(in1, in2 : out1, out2)`.
fn macro_header(ctx: &Ctx, header: &str, offset: usize) -> Result<MacroDef> {
    let base = offset + ":MACRO:".len() + 1;
    let toks = lex(header, base).map_err(|(o, m)| ctx.syntax(o, "", m))?;
    let mut it = toks.iter();
    let name = match it.next().map(|t| &t.tok) {
        Some(Tok::Name(n) | Tok::Quoted(n)) => n.clone(),
        _ => return Err(ctx.syntax(offset, "", "expected a macro name after :MACRO:")),
    };
    let bad = || {
        ctx.syntax(
            offset,
            &name,
            "malformed :MACRO: header, expected NAME(inputs)",
        )
    };
    if it.next().map(|t| &t.tok) != Some(&Tok::LParen) {
        return Err(bad());
    }
    let mut params = Vec::new();
    let mut outputs = Vec::new();
    loop {
        match it.next().map(|t| &t.tok) {
            Some(Tok::Name(n) | Tok::Quoted(n)) => params.push(canonicalize(n)),
            Some(Tok::RParen) if params.is_empty() => break,
            _ => return Err(bad()),
        }
        match it.next().map(|t| &t.tok) {
            Some(Tok::Comma) => {}
            Some(Tok::RParen) => break,
            Some(Tok::Colon) => {
                loop {
                    match it.next().map(|t| &t.tok) {
                        Some(Tok::Name(n) | Tok::Quoted(n)) => outputs.push(canonicalize(n)),
                        _ => return Err(bad()),
                    }
                    match it.next().map(|t| &t.tok) {
                        Some(Tok::Comma) => {}
                        Some(Tok::RParen) => break,
                        _ => return Err(bad()),
                    }
                }
                break;
            }
            _ => return Err(bad()),
        }
    }
    Ok(MacroDef {
        name,
        params,
        outputs,
        defs: Vec::new(),
        offset,
    })
}
