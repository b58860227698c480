//! Every way the engine can refuse a model or a run, as one typed enum.
//!
//! Each variant is one cause, so the Python layer can map it to exactly one
//! `ErrorCode` without string matching. Variants carry the variable name and
//! the source position where the stage that raises them knows it.

use thiserror::Error;

/// Where in a source file a problem sits (1-based line and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Which stage of the pipeline an error belongs to; the Python layer picks the
/// exception class from this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStage {
    Import,
    Compile,
    Runtime,
}

#[derive(Clone, Debug, PartialEq, Error)]
pub enum Error {
    // ---- import: reading files and parsing ----
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("unsupported file format '{extension}' (expected .xmile, .stmx, .itmx, .xml or .mdl)")]
    UnsupportedFormat { extension: String },
    #[error("malformed XML at line {}, column {}: {message}", pos.line, pos.col)]
    MalformedXml { message: String, pos: Pos },
    #[error("not an XMILE document: {message}")]
    NotXmile { message: String },
    #[error("invalid sim_specs: {message}")]
    BadSimSpecs { message: String },
    #[error("syntax error in equation of '{variable}' at offset {offset}: {message}")]
    EquationSyntax {
        variable: String,
        message: String,
        offset: usize,
        line: Option<u32>,
    },
    #[error("invalid graphical function for '{variable}': {message}")]
    BadGraphicalFunction { variable: String, message: String },
    #[error("duplicate variable '{variable}' in model '{model}'")]
    DuplicateVariable { model: String, variable: String },
    #[error(
        "Vensim syntax error at line {line}, column {col}{}: {message}",
        in_variable(variable)
    )]
    MdlSyntax {
        line: u32,
        col: u32,
        variable: String,
        message: String,
    },
    #[error("external data for '{variable}' from '{file}': {message}")]
    DataFile {
        variable: String,
        file: String,
        message: String,
    },
    #[error("no model named '{name}' in project")]
    UnknownModel { name: String },

    // ---- compile: names, arity, structure ----
    #[error("unknown variable '{reference}' referenced in '{variable}'")]
    UnknownVariable { variable: String, reference: String },
    #[error("unknown function '{function}' in '{variable}'")]
    UnknownFunction { variable: String, function: String },
    #[error("'{function}' in '{variable}' takes {expected} argument(s), got {got}")]
    WrongArgumentCount {
        variable: String,
        function: String,
        expected: String,
        got: usize,
    },
    #[error("circular dependency: {}", cycle.join(" -> "))]
    CircularDependency { cycle: Vec<String> },
    #[error("unsupported construct in '{variable}': {construct}")]
    Unsupported { variable: String, construct: String },
    #[error("'{variable}' has no equation")]
    MissingEquation { variable: String },
    #[error("bad module '{variable}': {message}")]
    BadModule { variable: String, message: String },
    #[error("bad subscript in '{variable}': {message}")]
    BadSubscript { variable: String, message: String },

    // ---- runtime / run configuration ----
    #[error("cannot override '{variable}': {message}")]
    BadOverride { variable: String, message: String },
    #[error("no variable named '{variable}' in the results")]
    UnknownOutput { variable: String },
    #[error("invalid time specification: {message}")]
    BadTimeSpec { message: String },
    #[error("simulation failed at time {time}: {message}")]
    Simulation { time: f64, message: String },
    #[error("out of memory: cannot allocate {what} ({bytes} bytes)")]
    OutOfMemory { what: String, bytes: u128 },

    // ---- sweeps ----
    #[error("parameter column '{column}'{}: {message}", at_row(*row))]
    BadParameter {
        column: String,
        row: Option<usize>,
        message: String,
    },
    #[error("run {row} failed: '{variable}' became NaN or infinite at time {time}")]
    RunFailed {
        row: usize,
        variable: String,
        time: f64,
    },
    #[error("invalid sweep: {message}")]
    BadSweep { message: String },
    #[error("the sweep was cancelled")]
    Cancelled,
}

fn at_row(row: Option<usize>) -> String {
    row.map(|r| format!(", row {r}")).unwrap_or_default()
}

impl Error {
    pub fn stage(&self) -> ErrorStage {
        use Error::*;
        match self {
            Io { .. }
            | UnsupportedFormat { .. }
            | MalformedXml { .. }
            | NotXmile { .. }
            | BadSimSpecs { .. }
            | EquationSyntax { .. }
            | BadGraphicalFunction { .. }
            | DuplicateVariable { .. }
            | UnknownModel { .. }
            | DataFile { .. }
            | MdlSyntax { .. } => ErrorStage::Import,
            UnknownVariable { .. }
            | UnknownFunction { .. }
            | WrongArgumentCount { .. }
            | CircularDependency { .. }
            | Unsupported { .. }
            | MissingEquation { .. }
            | BadModule { .. }
            | BadSubscript { .. } => ErrorStage::Compile,
            BadOverride { .. }
            | UnknownOutput { .. }
            | BadTimeSpec { .. }
            | Simulation { .. }
            | OutOfMemory { .. }
            | BadParameter { .. }
            | RunFailed { .. }
            | BadSweep { .. }
            | Cancelled => ErrorStage::Runtime,
        }
    }

    /// A stable, distinct machine-readable code per cause (mirrored by the
    /// Python `ErrorCode` enum).
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            Io { .. } => "IO",
            UnsupportedFormat { .. } => "UNSUPPORTED_FORMAT",
            MalformedXml { .. } => "MALFORMED_XML",
            NotXmile { .. } => "NOT_XMILE",
            BadSimSpecs { .. } => "BAD_SIM_SPECS",
            EquationSyntax { .. } => "EQUATION_SYNTAX",
            BadGraphicalFunction { .. } => "BAD_GRAPHICAL_FUNCTION",
            DuplicateVariable { .. } => "DUPLICATE_VARIABLE",
            UnknownModel { .. } => "UNKNOWN_MODEL",
            MdlSyntax { .. } => "MDL_SYNTAX",
            DataFile { .. } => "DATA_FILE",
            UnknownVariable { .. } => "UNKNOWN_VARIABLE",
            UnknownFunction { .. } => "UNKNOWN_FUNCTION",
            WrongArgumentCount { .. } => "WRONG_ARGUMENT_COUNT",
            CircularDependency { .. } => "CIRCULAR_DEPENDENCY",
            Unsupported { .. } => "UNSUPPORTED",
            MissingEquation { .. } => "MISSING_EQUATION",
            BadModule { .. } => "BAD_MODULE",
            BadSubscript { .. } => "BAD_SUBSCRIPT",
            BadOverride { .. } => "BAD_OVERRIDE",
            UnknownOutput { .. } => "UNKNOWN_OUTPUT",
            BadTimeSpec { .. } => "BAD_TIME_SPEC",
            Simulation { .. } => "SIMULATION",
            OutOfMemory { .. } => "OUT_OF_MEMORY",
            BadParameter { .. } => "BAD_PARAMETER",
            RunFailed { .. } => "RUN_FAILED",
            BadSweep { .. } => "BAD_SWEEP",
            Cancelled => "CANCELLED",
        }
    }

    /// The variable the error is about, where there is one.
    pub fn variable(&self) -> Option<&str> {
        use Error::*;
        match self {
            EquationSyntax { variable, .. }
            | BadGraphicalFunction { variable, .. }
            | DuplicateVariable { variable, .. }
            | UnknownVariable { variable, .. }
            | UnknownFunction { variable, .. }
            | WrongArgumentCount { variable, .. }
            | Unsupported { variable, .. }
            | MissingEquation { variable, .. }
            | BadModule { variable, .. }
            | BadSubscript { variable, .. }
            | BadOverride { variable, .. }
            | DataFile { variable, .. }
            | RunFailed { variable, .. }
            | UnknownOutput { variable } => Some(variable),
            BadParameter { column, .. } => Some(column),
            MdlSyntax { variable, .. } if !variable.is_empty() => Some(variable),
            CircularDependency { cycle } => cycle.first().map(String::as_str),
            _ => None,
        }
    }

    /// Source line, where known.
    pub fn line(&self) -> Option<u32> {
        match self {
            Error::MalformedXml { pos, .. } => Some(pos.line),
            Error::EquationSyntax { line, .. } => *line,
            Error::MdlSyntax { line, .. } => Some(*line),
            _ => None,
        }
    }
}

fn in_variable(v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!(" in '{v}'")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
