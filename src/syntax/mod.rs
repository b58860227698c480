//! Stage 1, syntax: source text → AST and IR, never panicking.
//!
//! `ident` canonicalises names, `lexer` + `parser` turn equation text into
//! [`ast::Expr`], and `xmile` reads XMILE XML into the [`crate::ir`] types,
//! parsing every equation on the way; `mdl` reads Vensim `.mdl` text
//! straight into the same IR. Problems come back as typed
//! [`crate::Error`]s with positions, never as panics.

pub mod ast;
pub mod dat;
pub mod ident;
pub mod lexer;
pub mod mdl;
pub mod parser;
pub mod xmile;

pub use parser::{parse_equation, ParseError};

/// A file's extension in lower case (`""` without one): how the readers
/// choose a format.
pub fn lower_extension(path: impl AsRef<std::path::Path>) -> String {
    path.as_ref()
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}
