//! Vensim external data: `GET XLS/DIRECT DATA`, `... CONSTANTS` and
//! `... LOOKUPS`, resolved while the model is imported.
//!
//! Each call is read from its spreadsheet (`.xlsx`/`.xls`/`.ods` via
//! calamine) or delimited text file (`.csv`/`.tab`/`.txt`, where the "tab"
//! argument is the delimiter) and turned into plain values: data and
//! lookups become graphical functions, constants become numbers. A file is
//! opened once per import; [`DataFiles`] caches its numeric cells.
//!
//! Layout, as Vensim documents it: the cell argument names the first cell
//! (or an Excel named range, whose first cell is used). For data and
//! lookups the time/x argument is a row number (values run across that
//! row, one array element per following row) or a column letter (values run
//! down, one element per following column). Constants of a 1-D array run
//! across a row, of a 2-D array the first dimension runs down and the
//! second across; a trailing `*` on the cell transposes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::datasource::Series;
use crate::error::Error;
use crate::ir::{GfKind, GraphicalFunction};

/// Which family of `GET ...` function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtKind {
    Data,
    Constants,
    Lookups,
}

/// How a data variable is evaluated between its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interp {
    #[default]
    Interpolate,
    HoldBackward,
    LookForward,
    /// Values at the data's own times only, `:NA:` elsewhere.
    Raw,
}

/// One parsed `GET XLS/DIRECT ...(...)` call, arguments unquoted.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtCall {
    pub kind: ExtKind,
    pub file: String,
    pub tab: String,
    /// The time/x row or column (data and lookups only).
    pub axis: Option<String>,
    pub cell: String,
    pub interp: Interp,
    /// The call as written, kept as the equation text.
    pub text: String,
}

/// One parsed `GET XLS/DIRECT SUBSCRIPT(...)` call, arguments unquoted.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptCall {
    pub file: String,
    pub tab: String,
    pub first: String,
    pub last: String,
    pub prefix: String,
}

/// Cells of one sheet, addressed by 0-based (row, column): numbers, and
/// the text of text cells (for subscript names).
#[derive(Debug, Default)]
pub(crate) struct Grid {
    cells: HashMap<(u32, u32), f64>,
    texts: HashMap<(u32, u32), String>,
    /// One past the last row and column holding a value.
    pub(crate) rows: u32,
    pub(crate) cols: u32,
}

impl Grid {
    fn insert(&mut self, r: u32, c: u32, v: f64) {
        self.cells.insert((r, c), v);
        self.extend(r, c);
    }

    fn insert_text(&mut self, r: u32, c: u32, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.texts.insert((r, c), text.to_string());
            self.extend(r, c);
        }
    }

    fn extend(&mut self, r: u32, c: u32) {
        self.rows = self.rows.max(r + 1);
        self.cols = self.cols.max(c + 1);
    }

    pub(crate) fn get(&self, r: u32, c: u32) -> Option<f64> {
        self.cells.get(&(r, c)).copied()
    }

    /// The cell as a subscript element name: its text, or its number
    /// without a trailing `.0`; `None` for an empty cell.
    pub(crate) fn label(&self, r: u32, c: u32) -> Option<String> {
        if let Some(t) = self.texts.get(&(r, c)) {
            return Some(t.clone());
        }
        self.get(r, c).map(|v| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            }
        })
    }
}

/// A loaded file: its sheets by name and its defined (named) ranges.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub(crate) sheets: Vec<(String, Grid)>,
    /// (name, formula such as `Sheet1!$B$3:$D$3`).
    names: Vec<(String, String)>,
}

/// Data files of one import, each read at most once.
pub struct DataFiles {
    base: Option<PathBuf>,
    /// `?name` → file, from the settings section (`30:?name=path`).
    aliases: Vec<(String, String)>,
    /// Keyed by path and, for text files, the delimiter. Only looked up.
    cache: RefCell<HashMap<(PathBuf, String), Rc<Book>>>,
    /// The run's data files, for data variables with no equation.
    pub(super) sources: Vec<String>,
    pub(super) sources_read: RefCell<Option<Rc<Series>>>,
}

/// A cell position, 0-based.
type Cell = (u32, u32);

/// Where the time/x values are.
enum Axis {
    Row(u32),
    Col(u32),
}

impl DataFiles {
    /// Data files relative to `base`; a file argument `'?name'` reads the
    /// path `aliases` gives for `?name` (matched ignoring ASCII case).
    /// `sources` are the run's data files (see [`super::datasource`]).
    pub fn new(
        base: Option<&Path>,
        aliases: Vec<(String, String)>,
        sources: Vec<String>,
    ) -> DataFiles {
        DataFiles {
            base: base.map(Path::to_path_buf),
            aliases,
            cache: RefCell::new(HashMap::new()),
            sources,
            sources_read: RefCell::new(None),
        }
    }

    /// Resolve `call` for a variable whose left-hand side covers
    /// `shape` elements per position (1 for a single element); values come
    /// back in row-major order, last position fastest.
    pub fn resolve(
        &self,
        variable: &str,
        call: &ExtCall,
        shape: &[usize],
    ) -> Result<Resolved, Error> {
        let err = |message: String| Error::DataFile {
            variable: variable.to_string(),
            file: call.file.clone(),
            message,
        };
        let file = self.file_name(&call.file).map_err(err)?;
        let book = self.book(file, &call.tab).map_err(err)?;
        let delimited = is_delimited(file);
        let sheet_name = if delimited { "" } else { call.tab.as_str() };
        let (cell, transpose, sheet) = locate(&book, sheet_name, &call.cell).map_err(&err)?;
        let grid =
            sheet_grid(&book, &sheet).ok_or_else(|| err(format!("no sheet named '{sheet}'")))?;
        let varying: Vec<(usize, usize)> = shape
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 1)
            .map(|(i, &n)| (i, n))
            .collect();
        let total: usize = shape.iter().product();
        match call.kind {
            ExtKind::Constants => {
                if varying.len() > 2 {
                    return Err(err(format!(
                        "constants for {} subscript ranges at once (at most 2 are supported)",
                        varying.len()
                    )));
                }
                let mut vals = Vec::with_capacity(total);
                for k in 0..total {
                    let idx = unravel(k, shape);
                    let (a, b) = match varying.as_slice() {
                        [] => (0, 0),
                        [(p, _)] => (0, idx[*p]),
                        [(p, _), (q, _), ..] => (idx[*p], idx[*q]),
                    };
                    // Default: first range down the rows, second across.
                    let (dr, dc) = if transpose { (b, a) } else { (a, b) };
                    let (r, c) = (cell.0 + dr as u32, cell.1 + dc as u32);
                    let v = grid.get(r, c).ok_or_else(|| {
                        err(format!(
                            "cell {}{} is empty or not a number",
                            a1(r, c),
                            of_sheet(&sheet)
                        ))
                    })?;
                    vals.push(v);
                }
                Ok(Resolved::Numbers(vals))
            }
            ExtKind::Data | ExtKind::Lookups => {
                if varying.len() > 1 {
                    return Err(err(format!(
                        "data for {} subscript ranges at once (at most 1 is supported)",
                        varying.len()
                    )));
                }
                let axis_text = call.axis.as_deref().unwrap_or("");
                let axis = parse_axis(&book, &sheet, axis_text).map_err(&err)?;
                let mut out = Vec::with_capacity(total);
                for k in 0..total {
                    let e = varying.first().map_or(0, |(p, _)| unravel(k, shape)[*p]) as u32;
                    let gf = series(grid, &axis, cell, e, call.interp).ok_or_else(|| {
                        err(format!(
                            "no data points at {}{}",
                            call.cell,
                            of_sheet(&sheet)
                        ))
                    })?;
                    out.push(gf);
                }
                Ok(Resolved::Tables(out))
            }
        }
    }

    /// `GET XLS/DIRECT SUBSCRIPT(file, tab, first, last, prefix)`: the
    /// element names of subscript range `range`, `prefix` + the text of
    /// each non-empty cell from `first` to `last`, row by row. `last` may
    /// be a cell, a row number or a column letter (bounding only that way),
    /// or empty (to the end of the sheet); `first` may also be a named
    /// range, which then gives both corners
    /// (<https://vensim.com/documentation/fn_get_direct_subscript.html>).
    pub fn subscript(&self, range: &str, call: &SubscriptCall) -> Result<Vec<String>, Error> {
        let err = |message: String| Error::DataFile {
            variable: range.to_string(),
            file: call.file.clone(),
            message,
        };
        let file = self.file_name(&call.file).map_err(err)?;
        let book = self.book(file, &call.tab).map_err(err)?;
        let sheet_name = if is_delimited(file) {
            ""
        } else {
            call.tab.as_str()
        };
        let first = call.first.trim();
        let (start, end_cell, sheet) = match parse_a1(first) {
            Some(c) => (c, None, sheet_name.to_string()),
            None => match named(&book, sheet_name, first) {
                Some((sh, a, b)) => (a, Some(b), sh),
                None => {
                    return Err(err(format!(
                        "'{first}' is neither a cell reference nor a named range"
                    )))
                }
            },
        };
        let grid =
            sheet_grid(&book, &sheet).ok_or_else(|| err(format!("no sheet named '{sheet}'")))?;
        let last = call.last.trim();
        let (mut row_end, mut col_end) = (grid.rows, grid.cols);
        if let Some((r, c)) = end_cell {
            (row_end, col_end) = (r + 1, c + 1);
        } else if let Some((r, c)) = parse_a1(last) {
            (row_end, col_end) = (r + 1, c + 1);
        } else if !last.is_empty() && last.chars().all(|c| c.is_ascii_digit()) {
            row_end = last
                .parse::<u32>()
                .map_err(|_| err(format!("bad last cell '{last}'")))?;
        } else if let Some(c) = col_index(last) {
            col_end = c + 1;
        } else if !last.is_empty() {
            return Err(err(format!(
                "last cell '{last}' is neither a cell, a row number nor a column letter"
            )));
        }
        let mut names = Vec::new();
        for r in start.0..row_end.min(grid.rows) {
            for c in start.1..col_end.min(grid.cols) {
                if let Some(label) = grid.label(r, c) {
                    names.push(format!("{}{label}", call.prefix));
                }
            }
        }
        if names.is_empty() {
            return Err(err(format!(
                "no subscript names from {first} to {}{}",
                if last.is_empty() { "the end" } else { last },
                of_sheet(&sheet)
            )));
        }
        Ok(names)
    }

    /// The file `file` names: itself, or for `?name` the file its alias
    /// in the settings section points to (Vensim: "use '?Tag' to indirectly
    /// reference a file and resolve the reference in Model>Settings>XLS
    /// Files", <https://vensim.com/documentation/fn_get_direct_subscript.html>).
    fn file_name<'a>(&'a self, file: &'a str) -> Result<&'a str, String> {
        if !file.trim_start().starts_with('?') {
            return Ok(file);
        }
        let name = file.trim();
        self.aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|(_, path)| path.as_str())
            .ok_or_else(|| {
                format!(
                    "indirect file reference '{name}' has no alias in the settings section \
                     (a line '30:{name}=FILE')"
                )
            })
    }

    /// Where `file` is: itself if absolute, else relative to the model's
    /// folder (`None` when the model was not loaded from a file).
    pub(super) fn resolve_path(&self, file: &str) -> Option<PathBuf> {
        // Vensim writes Windows separators in paths relative to the model.
        let file = Path::new(file);
        if file.is_absolute() {
            return Some(file.to_path_buf());
        }
        let file = file.to_string_lossy().replace('\\', "/");
        self.base.as_ref().map(|b| b.join(file))
    }

    fn path_of(&self, file: &str) -> Result<PathBuf, String> {
        self.resolve_path(file).ok_or_else(|| {
            "the model was not loaded from a file, so there is no folder to find data files in"
                .to_string()
        })
    }

    /// The whole text of `file` (UTF-8, else Latin-1 byte for byte).
    pub(super) fn read_text(&self, file: &str) -> Result<String, String> {
        let path = self.path_of(file)?;
        check_data_file(&path)?;
        let bytes = std::fs::read(path).map_err(|e| format!("cannot open: {e}"))?;
        Ok(match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
        })
    }

    pub(super) fn book(&self, file: &str, tab: &str) -> Result<Rc<Book>, String> {
        let path = self.path_of(file)?;
        let delim = if is_delimited(file) {
            tab.to_string()
        } else {
            String::new()
        };
        let key = (path.clone(), delim.clone());
        if let Some(b) = self.cache.borrow().get(&key) {
            return Ok(b.clone());
        }
        let book = Rc::new(if is_delimited(file) {
            read_delimited(&path, &delim)?
        } else {
            read_workbook(&path)?
        });
        self.cache.borrow_mut().insert(key, book.clone());
        Ok(book)
    }
}

/// What a call resolved to.
pub enum Resolved {
    Numbers(Vec<f64>),
    Tables(Vec<GraphicalFunction>),
}

fn is_delimited(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [".csv", ".tab", ".txt", ".dat"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Index `k` of a row-major product over `shape` → one index per position.
fn unravel(mut k: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for p in (0..shape.len()).rev() {
        let n = shape[p].max(1);
        idx[p] = k % n;
        k /= n;
    }
    idx
}

/// The points of element `e` (its offset from the first cell across the
/// series direction) as a graphical function of time/x.
fn series(
    grid: &Grid,
    axis: &Axis,
    first: Cell,
    e: u32,
    interp: Interp,
) -> Option<GraphicalFunction> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    // Points whose time/x or data cell is blank are skipped (Vensim
    // interpolates across them), up to the end of the sheet's data.
    let len = match *axis {
        Axis::Row(_) => grid.cols.saturating_sub(first.1),
        Axis::Col(_) => grid.rows.saturating_sub(first.0),
    };
    for step in 0..len {
        let (x, y) = match *axis {
            Axis::Row(tr) => {
                let c = first.1 + step;
                (grid.get(tr, c), grid.get(first.0 + e, c))
            }
            Axis::Col(tc) => {
                let r = first.0 + step;
                (grid.get(r, tc), grid.get(r, first.1 + e))
            }
        };
        if let (Some(x), Some(y)) = (x, y) {
            xs.push(x);
            ys.push(y);
        }
    }
    if xs.is_empty() {
        return None;
    }
    Some(table(xs, ys, interp))
}

/// A graphical function with Vensim's data semantics for `interp`.
pub fn table(xs: Vec<f64>, ys: Vec<f64>, interp: Interp) -> GraphicalFunction {
    match interp {
        Interp::Interpolate => GraphicalFunction {
            kind: GfKind::Continuous,
            xs,
            ys,
        },
        Interp::HoldBackward => GraphicalFunction {
            kind: GfKind::Discrete,
            xs,
            ys,
        },
        Interp::Raw => GraphicalFunction {
            kind: GfKind::Raw,
            xs,
            ys,
        },
        Interp::LookForward => {
            // Value of the next point at or after t: step up just past
            // each point.
            let mut nx = Vec::with_capacity(xs.len());
            for (i, x) in xs.iter().enumerate() {
                if i == 0 {
                    nx.push(*x);
                } else {
                    nx.push(xs[i - 1].next_up().min(*x));
                }
            }
            GraphicalFunction {
                kind: GfKind::Discrete,
                xs: nx,
                ys,
            }
        }
    }
}

fn sheet_grid<'b>(book: &'b Book, sheet: &str) -> Option<&'b Grid> {
    if sheet.is_empty() {
        return book.sheets.first().map(|(_, g)| g);
    }
    book.sheets
        .iter()
        .find(|(n, _)| n == sheet)
        .or_else(|| {
            book.sheets
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(sheet))
        })
        .map(|(_, g)| g)
}

/// `B2` → (1, 1); `$B$2` also accepted.
pub fn parse_a1(s: &str) -> Option<Cell> {
    let s = s.trim().replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    let col = col_index(letters)?;
    let row: u32 = digits.parse().ok()?;
    row.checked_sub(1).map(|r| (r, col))
}

fn col_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    let mut n: u32 = 0;
    for c in letters.chars() {
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    Some(n - 1)
}

/// " of 'sheet'" after a cell in a message; nothing for a CSV file, whose
/// one sheet has no name (the message names the file already).
fn of_sheet(sheet: &str) -> String {
    if sheet.is_empty() {
        String::new()
    } else {
        format!(" of '{sheet}'")
    }
}

fn a1(r: u32, c: u32) -> String {
    let mut letters = String::new();
    let mut n = c + 1;
    while n > 0 {
        let m = (n - 1) % 26;
        letters.insert(0, char::from(b'A' + m as u8));
        n = (n - 1) / 26;
    }
    format!("{letters}{}", r + 1)
}

/// A named range `name` → (sheet, first cell, last cell), preferring one
/// defined on `sheet`.
fn named(book: &Book, sheet: &str, name: &str) -> Option<(String, Cell, Cell)> {
    let mut found = None;
    for (n, formula) in &book.names {
        if !n.eq_ignore_ascii_case(name) {
            continue;
        }
        let Some((sh, range)) = formula.rsplit_once('!') else {
            continue;
        };
        let sh = sh.trim_start_matches('=').trim_matches('\'').to_string();
        let (a, b) = range.split_once(':').unwrap_or((range, range));
        let (Some(a), Some(b)) = (parse_a1(a), parse_a1(b)) else {
            continue;
        };
        let here = sh.eq_ignore_ascii_case(sheet);
        if found.is_none() || here {
            found = Some((sh, a, b));
        }
        if here {
            break;
        }
    }
    found
}

/// The first cell of `spec` (A1 reference or named range), whether it is
/// transposed (`*`), and the sheet it is on.
fn locate(book: &Book, sheet: &str, spec: &str) -> Result<(Cell, bool, String), String> {
    let spec = spec.trim();
    let (spec, transpose) = match spec.strip_suffix('*') {
        Some(s) => (s.trim(), true),
        None => (spec, false),
    };
    if let Some(c) = parse_a1(spec) {
        return Ok((c, transpose, sheet.to_string()));
    }
    match named(book, sheet, spec) {
        Some((sh, a, _)) => Ok((a, transpose, sh)),
        None => Err(format!(
            "'{spec}' is neither a cell reference nor a named range"
        )),
    }
}

/// The time/x argument: a row number, a column letter or a named range.
fn parse_axis(book: &Book, sheet: &str, s: &str) -> Result<Axis, String> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let r: u32 = s.parse().map_err(|_| format!("bad row number '{s}'"))?;
        return r
            .checked_sub(1)
            .map(Axis::Row)
            .ok_or_else(|| format!("bad row number '{s}'"));
    }
    if let Some(c) = col_index(s) {
        return Ok(Axis::Col(c));
    }
    match named(book, sheet, s) {
        Some((_, a, b)) if a.0 == b.0 && a.1 != b.1 => Ok(Axis::Row(a.0)),
        Some((_, a, _)) => Ok(Axis::Col(a.1)),
        None => Err(format!(
            "time/x argument '{s}' is neither a row number, a column letter nor a named range"
        )),
    }
}

/// Largest data file read (a model's data is far smaller; this bounds what
/// a hostile or mistaken path, such as a device, can make the import read).
pub const MAX_DATA_FILE_BYTES: u64 = 1 << 30;

/// A data file must be a regular file of at most [`MAX_DATA_FILE_BYTES`].
fn check_data_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_DATA_FILE_BYTES {
        return Err(format!(
            "{} bytes is more than the {MAX_DATA_FILE_BYTES} a data file may have",
            meta.len()
        ));
    }
    Ok(())
}

/// A spreadsheet or delimited text file (`.csv`, `.tab`, `.txt` by their
/// extension), its sheets as grids.
pub(crate) fn read_book(path: &Path) -> Result<Book, String> {
    match crate::syntax::lower_extension(path).as_str() {
        "csv" | "txt" => read_delimited(path, ","),
        "tab" | "tsv" => read_delimited(path, "\t"),
        _ => read_workbook(path),
    }
}

fn read_workbook(path: &Path) -> Result<Book, String> {
    use calamine::{open_workbook_auto, Data, Reader};
    check_data_file(path)?;
    let mut wb = open_workbook_auto(path).map_err(|e| format!("cannot open: {e}"))?;
    let names = wb.defined_names().to_vec();
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| format!("cannot read sheet '{name}': {e}"))?;
        let mut grid = Grid::default();
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (i, row) in range.rows().enumerate() {
            for (j, d) in row.iter().enumerate() {
                let v = match d {
                    Data::Float(f) => Some(*f),
                    Data::Int(n) => Some(*n as f64),
                    Data::String(s) => {
                        grid.insert_text(r0 + i as u32, c0 + j as u32, s);
                        s.trim().parse::<f64>().ok()
                    }
                    Data::Bool(b) => Some(f64::from(u8::from(*b))),
                    _ => None,
                };
                if let Some(v) = v {
                    grid.insert(r0 + i as u32, c0 + j as u32, v);
                }
            }
        }
        sheets.push((name, grid));
    }
    Ok(Book { sheets, names })
}

fn read_delimited(path: &Path, delim: &str) -> Result<Book, String> {
    let d = match delim {
        "" => b',',
        "\\t" | "\t" | "tab" => b'\t',
        s if s.len() == 1 => s.as_bytes()[0],
        s => return Err(format!("delimiter '{s}' must be one character")),
    };
    check_data_file(path)?;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(d)
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut grid = Grid::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("cannot read: {e}"))?;
        for (j, field) in rec.iter().enumerate() {
            match field.trim().parse::<f64>() {
                Ok(v) => grid.insert(i as u32, j as u32, v),
                Err(_) => grid.insert_text(i as u32, j as u32, field),
            }
        }
    }
    Ok(Book {
        sheets: vec![(String::new(), grid)],
        names: Vec::new(),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ir::{Equations, Project, Variable};
    use crate::syntax::ast::Expr;
    use crate::syntax::mdl::parse_mdl_with_base;

    const TAIL: &str = "
INITIAL TIME = 0 ~ Month ~ |
FINAL TIME = 4 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
";

    /// A fresh folder under the system temp dir holding `files`.
    pub(in crate::syntax::mdl) fn folder(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("simlin-extdata-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write data file");
        }
        dir
    }

    fn var<'p>(p: &'p Project, ident: &str) -> &'p Variable {
        p.models[0]
            .variables
            .iter()
            .find(|v| v.ident == ident)
            .unwrap_or_else(|| panic!("no variable {ident}"))
    }

    fn nums(v: &Variable) -> Vec<f64> {
        match &v.equations {
            Equations::Single(eq) => match eq.expr {
                Expr::Num(x) => vec![x],
                ref e => panic!("not a number: {e:?}"),
            },
            Equations::PerElement(es) => es
                .iter()
                .map(|(_, eq, _)| match eq.expr {
                    Expr::Num(x) => x,
                    ref e => panic!("not a number: {e:?}"),
                })
                .collect(),
            e => panic!("no equations: {e:?}"),
        }
    }

    const CSV: &str = "time,a,b\n0,1,10\n2,3,30\n4,5,50\n";

    #[test]
    fn csv_data_constants_and_lookups() {
        let dir = folder("csv", &[("d.csv", CSV)]);
        let mdl = format!(
            "D: a, b ~~|
data := GET DIRECT DATA('d.csv', ',', 'A', 'B2') ~~|
hold :HOLD BACKWARD: := GET DIRECT DATA('d.csv', ',', 'A', 'C2') ~~|
arr[D] := GET DIRECT DATA('d.csv', ',', 'A', 'B2') ~~|
k[D] = GET DIRECT CONSTANTS('d.csv', ',', 'B3') ~~|
kd[D] = GET DIRECT CONSTANTS('d.csv', ',', 'B3*') ~~|
tab(GET DIRECT LOOKUPS('d.csv', ',', 'A', 'C2')) ~~|
{TAIL}"
        );
        let p = parse_mdl_with_base(&mdl, Some(&dir)).expect("loads");
        let data = var(&p, "data");
        let gf = data.gf.as_ref().expect("data table");
        assert_eq!(
            (gf.xs.clone(), gf.ys.clone()),
            (vec![0.0, 2.0, 4.0], vec![1.0, 3.0, 5.0])
        );
        assert_eq!(gf.kind, GfKind::Continuous);
        assert!(
            matches!(&data.equations, Equations::Single(eq) if eq.expr == Expr::Var("time".into(), Default::default()))
        );
        assert_eq!(
            var(&p, "hold").gf.as_ref().map(|g| g.kind),
            Some(GfKind::Discrete)
        );
        match &var(&p, "arr").equations {
            Equations::PerElement(es) => {
                let ys: Vec<Vec<f64>> = es
                    .iter()
                    .map(|(_, _, g)| g.as_ref().map_or(vec![], |g| g.ys.clone()))
                    .collect();
                assert_eq!(ys, vec![vec![1.0, 3.0, 5.0], vec![10.0, 30.0, 50.0]]);
            }
            e => panic!("not per element: {e:?}"),
        }
        // Across the row from B3, and down the column with `*`.
        assert_eq!(nums(var(&p, "k")), vec![3.0, 30.0]);
        assert_eq!(nums(var(&p, "kd")), vec![3.0, 5.0]);
        let tab = var(&p, "tab").gf.as_ref().expect("lookup");
        assert_eq!(
            (tab.xs.clone(), tab.ys.clone()),
            (vec![0.0, 2.0, 4.0], vec![10.0, 30.0, 50.0])
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn indirect_file_names_from_the_settings_block() {
        let dir = folder("alias", &[("real data.csv", CSV)]);
        let settings =
            "\\\\\\---/// Sketch\n///---\\\\\\\n:L\u{7f}<%^E!@\n30:?Data=real data.csv\n";
        let mdl = format!(
            "x := GET DIRECT DATA('?data', ',', 'A', 'B2') ~~|
k = GET DIRECT CONSTANTS('?DATA', ',', 'C3') ~~|
{TAIL}{settings}"
        );
        let p = parse_mdl_with_base(&mdl, Some(&dir)).expect("loads");
        let gf = var(&p, "x").gf.as_ref().expect("data table");
        assert_eq!(gf.ys, vec![1.0, 3.0, 5.0]);
        assert_eq!(nums(var(&p, "k")), vec![30.0]);
        // An alias the settings block does not define is a typed error.
        let mdl = format!("x := GET DIRECT DATA('?other', ',', 'A', 'B2') ~~|\n{TAIL}{settings}");
        let err = parse_mdl_with_base(&mdl, Some(&dir)).expect_err("no alias");
        assert_eq!(err.code(), "DATA_FILE");
        assert!(err.to_string().contains("30:?other="), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn subscript_ranges_from_a_file() {
        let names = "name,north,south,,east\nid,1,2,,3\nx,4.5,,6,\n";
        let dir = folder("subs", &[("n.csv", names)]);
        let dims = |eqs: &str| -> Result<Vec<(String, Vec<String>)>, Error> {
            let mdl = format!("{eqs}\nv = 1 ~~|\n{TAIL}");
            let p = parse_mdl_with_base(&mdl, Some(&dir))?;
            Ok(p.dimensions
                .iter()
                .map(|d| (d.name.clone(), d.elements.clone()))
                .collect())
        };
        let one = |eq: &str| dims(eq).map(|d| d.into_iter().next().map(|(_, e)| e));
        // No last cell: to the end of the sheet, across then down; blank
        // cells are skipped.
        let all = ["north", "south", "east", "1", "2", "3", "4.5", "6"];
        assert_eq!(
            one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'B1', '', '') ~~|").expect("reads"),
            Some(all.iter().map(|s| s.to_string()).collect())
        );
        // A block read across then down; numbers keep no trailing `.0`.
        assert_eq!(
            one("R: GET XLS SUBSCRIPT('n.csv', ',', 'B2', 'D3', 'p') ~~|").expect("reads"),
            Some(vec!["p1".into(), "p2".into(), "p4.5".into(), "p6".into()])
        );
        // Last cell as a column letter (to the sheet's last row) or a row.
        assert_eq!(
            one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'A2', 'A', '') ~~|").expect("reads"),
            Some(vec!["id".into(), "x".into()])
        );
        assert_eq!(
            one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'D2', '2', 'e') ~~|").expect("reads"),
            Some(vec!["e3".into()])
        );
        // A mapping may follow; other ranges can use the elements.
        let d = dims(
            "R: GET DIRECT SUBSCRIPT('n.csv', ',', 'B2', 'C2', 'k') -> S ~~|
S: s1, s2 ~~|
T: R, t9 ~~|",
        )
        .expect("reads");
        let t = d.iter().find(|(n, _)| n == "T").map(|(_, e)| e.clone());
        assert_eq!(t, Some(vec!["k1".into(), "k2".into(), "t9".into()]));
        // Errors are typed and name the range.
        let err = one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'Z9', '', '') ~~|")
            .expect_err("nothing there");
        assert_eq!((err.code(), err.variable()), ("DATA_FILE", Some("R")));
        let err = one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'B1') ~~|").expect_err("3 args");
        assert!(err.to_string().contains("5 arguments"), "{err}");
        let err = one("R: GET DIRECT SUBSCRIPT('n.csv', ',', 'B1', '', '') + 1 ~~|")
            .expect_err("trailing tokens");
        assert_eq!(err.code(), "MDL_SYNTAX");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn blank_cells_are_skipped() {
        // Time across row 1 with a blank time cell; data row 2 with a blank.
        let dir = folder("blank", &[("b.csv", "0,1,,3,4\n5,,7,8,9\n")]);
        let mdl = format!("x := GET DIRECT DATA('b.csv', ',', '1', 'A2') ~~|\n{TAIL}");
        let p = parse_mdl_with_base(&mdl, Some(&dir)).expect("loads");
        let gf = var(&p, "x").gf.as_ref().expect("table");
        assert_eq!(gf.xs, vec![0.0, 3.0, 4.0]);
        assert_eq!(gf.ys, vec![5.0, 8.0, 9.0]);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A constant read from a text cell is an error, as in Vensim
    /// (SDEverywhere's directconst_invalidcell); the message names the cell,
    /// and for a CSV file no sheet (it has one, unnamed).
    #[test]
    fn a_text_constant_names_its_cell() {
        let dir = folder("textconst", &[("c.csv", ",,\n,1,2\n,3,TEXT\n")]);
        let mdl = format!(
            "B: b1, b2 ~~|\nC: c1, c2 ~~|\n\
             c[B, C] = GET DIRECT CONSTANTS('c.csv', ',', 'B2') ~~|\n{TAIL}"
        );
        let err = parse_mdl_with_base(&mdl, Some(&dir)).expect_err("a text cell");
        assert_eq!(err.code(), "DATA_FILE");
        assert_eq!(err.variable(), Some("c"));
        let text = err.to_string();
        assert!(
            text.contains("'c.csv'") && text.contains("cell C3 is empty or not a number"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn look_forward_steps_to_the_next_point() {
        let gf = table(vec![0.0, 2.0], vec![1.0, 3.0], Interp::LookForward);
        let at = |x| crate::vm::table::lookup(&gf, x);
        assert_eq!((at(0.0), at(1.0), at(2.0), at(3.0)), (1.0, 3.0, 3.0, 3.0));
    }

    #[test]
    fn missing_file_names_file_and_variable() {
        let dir = folder("missing", &[]);
        let mdl = format!("x := GET XLS DATA('nope.xlsx', 'Sheet1', '1', 'B2') ~~|\n{TAIL}");
        let err = parse_mdl_with_base(&mdl, Some(&dir)).expect_err("no such file");
        assert_eq!(err.code(), "DATA_FILE");
        assert_eq!(err.variable(), Some("x"));
        assert!(
            matches!(&err, Error::DataFile { file, .. } if file == "nope.xlsx"),
            "{err}"
        );
        // Without a folder the same model fails the same way.
        let err = crate::load_mdl(&mdl).expect_err("no folder");
        assert_eq!(err.code(), "DATA_FILE");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn xlsx_from_the_suite() {
        let path = crate::testsuite::default_root()
            .join("tests/get_xls_cellrange/test_get_xls_cellrange.mdl");
        let p = crate::load_file(&path).expect("loads");
        // Named ranges: a time row and a value row on sheet 'Global'.
        let gf = var(&p, "data1").gf.as_ref().expect("data table");
        let xs: Vec<f64> = (0..6).map(f64::from).collect();
        assert_eq!(gf.xs, xs);
        assert_eq!(gf.ys, vec![11.0, 21.0, 31.0, 41.0, 51.0, 61.0]);
        let lookup = var(&p, "lookup2").gf.as_ref().expect("lookup table");
        assert_eq!(lookup.ys, vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
        assert_eq!(&nums(var(&p, "value1"))[..3], &[11.0, 21.0, 31.0]);
        assert_eq!(&nums(var(&p, "valuev"))[..3], &[1.0, 2.0, 3.0]);
    }
}
