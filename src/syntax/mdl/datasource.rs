//! Data variables with no equation, fed from the run's data files.
//!
//! In Vensim a data variable may be declared without any equation
//! (`demand[region] :INTERPOLATE:` followed by `~ units ~ comment |`); a
//! simulation then takes its values from the datasets named as the run's
//! data source (Model > Simulation Control, or `vensim -d`), matched by
//! variable and element name. A `.mdl` file records that choice in its
//! settings block as line `13:` (the only suite model with data variables,
//! `data_from_other_model`, has `13:data.vdf`); callers may also give the
//! files themselves (`load_file_with`, `simlin.load(..., data_files=...)`),
//! which replaces the settings' list.
//!
//! Supported files: Vensim's tab-delimited export (`.tab`), `.csv`, and
//! spreadsheets (first sheet), with `Time` in the first cell and either one
//! variable per column (times down the first column) or one per row (times
//! across the first row); and Vensim's `.dat` text format (a line with the
//! variable's name, then one `time value` line per point). A `.vdf` dataset
//! is Vensim's binary format, which cannot be read: a `.tab`, `.csv` or
//! `.dat` export with the same name beside it is read instead.
//!
//! Blank cells are points without data, skipped as Vensim skips them. The
//! keyword after the name says how values between points are read (see
//! [`super::external::table`]); `:RAW:` data is Vensim's `:NA:` between
//! its points.

use std::collections::HashMap;
use std::rc::Rc;

use super::external::{table, DataFiles, Grid, Interp};
use crate::error::Error;
use crate::ir::{GfKind, GraphicalFunction, VENSIM_NA};
use crate::syntax::dat::parse_dat;
use crate::syntax::ident::canonicalize;

/// One series' times and values.
type Points = (Vec<f64>, Vec<f64>);

/// The points of every series in the data files, by [`series_key`].
#[derive(Debug, Default)]
pub struct Series {
    /// The files read, as named (for messages).
    files: Vec<String>,
    points: HashMap<String, Points>,
}

/// `name[e1,e2]` in canonical spelling, the key a data column is matched
/// by: `"Var 3dim[A, d,a]"` and `var_3dim[a,D,A]` are the same series.
pub fn series_key(name: &str, elements: &[String]) -> String {
    if elements.is_empty() {
        return canonicalize(name);
    }
    let elements: Vec<String> = elements.iter().map(|e| canonicalize(e)).collect();
    format!("{}[{}]", canonicalize(name), elements.join(","))
}

/// A column or row label (`var 3dim[A,D,A]`) as a [`series_key`].
fn label_key(label: &str) -> String {
    match label.split_once('[') {
        Some((name, subs)) => {
            let subs = subs.trim_end().trim_end_matches(']');
            let elements: Vec<String> = subs.split(',').map(str::to_string).collect();
            series_key(name, &elements)
        }
        None => series_key(label, &[]),
    }
}

impl DataFiles {
    /// One table of TIME per element of data variable `variable` (display
    /// name), `elements` giving each element's names in row-major order
    /// (one empty list for a scalar), and the elements that have no series.
    ///
    /// As in Vensim, an element the data files do not mention is `:NA:`
    /// throughout (models test for it with `x = :NA:`); a variable none of
    /// whose elements has data is an error, since that is almost always a
    /// wrong file or name.
    pub fn data_variable(
        &self,
        variable: &str,
        elements: &[Vec<String>],
        interp: Interp,
    ) -> Result<(Vec<GraphicalFunction>, Vec<String>), Error> {
        let series = self.series(variable)?;
        let shown = |e: &[String]| {
            if e.is_empty() {
                variable.to_string()
            } else {
                format!("{variable}[{}]", e.join(","))
            }
        };
        let mut missing = Vec::new();
        let mut gfs = Vec::with_capacity(elements.len());
        for e in elements {
            match series.points.get(&series_key(variable, e)) {
                Some((xs, ys)) => gfs.push(table(xs.clone(), ys.clone(), interp)),
                None => {
                    missing.push(shown(e));
                    gfs.push(GraphicalFunction {
                        kind: GfKind::Continuous,
                        xs: vec![0.0],
                        ys: vec![VENSIM_NA],
                    });
                }
            }
        }
        if missing.len() == elements.len() {
            return Err(Error::DataFile {
                variable: variable.to_string(),
                file: series.files.join(", "),
                message: format!("no data for '{}' in the data files", missing[0]),
            });
        }
        Ok((gfs, missing))
    }

    /// The data files' series, read on first use.
    fn series(&self, variable: &str) -> Result<Rc<Series>, Error> {
        if let Some(s) = self.sources_read.borrow().as_ref() {
            return Ok(s.clone());
        }
        if self.sources.is_empty() {
            return Err(Error::DataFile {
                variable: variable.to_string(),
                file: String::new(),
                message: "a data variable with no equation needs a data file: name one in the \
                          model's simulation settings, or pass data_files"
                    .into(),
            });
        }
        let mut series = Series::default();
        for source in &self.sources {
            let err = |message: String| Error::DataFile {
                variable: variable.to_string(),
                file: source.clone(),
                message,
            };
            let file = self.readable_source(source).map_err(err)?;
            let points = if extension(&file) == "dat" {
                let text = self.read_text(&file).map_err(err)?;
                dat_series(&text).map_err(err)?
            } else {
                let delim = if extension(&file) == "tab" { "\t" } else { "," };
                let book = self.book(&file, delim).map_err(err)?;
                let grid = book
                    .sheets
                    .first()
                    .map(|(_, g)| g)
                    .ok_or_else(|| err("the file has no data".into()))?;
                grid_series(grid).map_err(err)?
            };
            // The first file that has a series wins, as in Vensim's list.
            for (k, v) in points {
                series.points.entry(k).or_insert(v);
            }
            series.files.push(file);
        }
        let series = Rc::new(series);
        *self.sources_read.borrow_mut() = Some(series.clone());
        Ok(series)
    }

    /// `source`, or for a binary `.vdf`/`.vdfx` dataset its text export
    /// with the same name (`.tab`, `.csv` or `.dat`) if one exists.
    fn readable_source(&self, source: &str) -> Result<String, String> {
        let ext = extension(source);
        if ext != "vdf" && ext != "vdfx" {
            return Ok(source.to_string());
        }
        let stem = &source[..source.len() - ext.len() - 1];
        let candidates: Vec<String> = ["tab", "csv", "dat"]
            .iter()
            .map(|e| format!("{stem}.{e}"))
            .collect();
        candidates
            .iter()
            .find(|c| self.resolve_path(c).is_some_and(|p| p.is_file()))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "'{source}' is a Vensim binary dataset, which cannot be read; export it \
                     as {} beside the model",
                    candidates.join(", ")
                )
            })
    }
}

fn extension(file: &str) -> String {
    crate::syntax::lower_extension(file)
}

/// Series of a grid with `Time` in its first cell, one per column (times
/// down the first column) or, when the first row holds numbers after
/// `Time`, one per row (times across the first row).
fn grid_series(grid: &Grid) -> Result<Vec<(String, Points)>, String> {
    let corner = grid.label(0, 0).unwrap_or_default();
    if !corner.trim().eq_ignore_ascii_case("time") {
        return Err(format!(
            "the first cell is '{corner}', not 'Time' (a data file has times in its first row or column)"
        ));
    }
    let across = grid.get(0, 1).is_some();
    let (n_series, n_points) = if across {
        (grid.rows, grid.cols)
    } else {
        (grid.cols, grid.rows)
    };
    let mut out = Vec::new();
    for s in 1..n_series {
        let at = |p: u32| if across { (s, p) } else { (p, s) };
        let time = |p: u32| if across { (0, p) } else { (p, 0) };
        let (r, c) = at(0);
        let Some(label) = grid.label(r, c) else {
            continue;
        };
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for p in 1..n_points {
            let (tr, tc) = time(p);
            let (vr, vc) = at(p);
            if let (Some(t), Some(v)) = (grid.get(tr, tc), grid.get(vr, vc)) {
                xs.push(t);
                ys.push(v);
            }
        }
        if !xs.is_empty() {
            out.push((label_key(&label), (xs, ys)));
        }
    }
    Ok(out)
}

/// Series of a Vensim `.dat` file ([`crate::syntax::dat`]); `:NA:` points
/// are points without data, skipped like blank cells.
fn dat_series(text: &str) -> Result<Vec<(String, Points)>, String> {
    let series = parse_dat(text).map_err(|e| e.to_string())?;
    Ok(series
        .into_iter()
        .filter_map(|s| {
            let (xs, ys): (Vec<f64>, Vec<f64>) = s
                .times
                .iter()
                .zip(&s.values)
                .filter_map(|(&t, v)| v.map(|v| (t, v)))
                .unzip();
            (!xs.is_empty()).then(|| (label_key(&s.name), (xs, ys)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_spaces_and_underscores() {
        assert_eq!(label_key("Var 3dim[A, d,a]"), "var_3dim[a,d,a]");
        assert_eq!(
            series_key("var_3dim", &["a".into(), "D".into(), "A".into()]),
            "var_3dim[a,d,a]"
        );
        assert_eq!(label_key("\"Population\""), "population");
    }

    #[test]
    fn dat_files_list_points_under_each_name() {
        let s = dat_series("demand\n0 1\n1\t2.5\n\nprice[A]\n0 3\n1 :NA:\nempty\n").unwrap();
        assert_eq!(
            s,
            vec![
                ("demand".to_string(), (vec![0.0, 1.0], vec![1.0, 2.5])),
                ("price[a]".to_string(), (vec![0.0], vec![3.0])),
            ]
        );
        let e = dat_series("demand\n0 1\n1 x\n").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
    }
}

/// Whole models fed from data files on disk.
#[cfg(test)]
mod file_tests {
    use crate::error::Error;
    use crate::syntax::mdl::external::tests::folder;
    use crate::syntax::mdl::{parse_mdl_with, parse_mdl_with_base};
    use crate::vm::RunOptions;
    use crate::{CompiledModel, Results};

    /// Data variables of every interpolation kind, one arrayed; the run's
    /// data source is `13:` in the settings block.
    fn model(source: &str) -> String {
        format!(
            "{{UTF-8}}
R: north, south ~~|
level :INTERPOLATE: ~~|
held[R] :HOLD BACKWARD: ~~|
ahead :LOOK FORWARD: ~~|
raw :RAW: ~~|
total = level + held[north] + held[south] ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 0.5 ~~|
SAVEPER = TIME STEP ~~|
\\\\\\---/// Sketch
///---\\\\\\
:L\u{7f}<%^E!@
9:output
13:{source}
"
        )
    }

    const BY_COLUMN: &str = "Time\tlevel\theld[north]\tHeld[South]\tahead\traw\n\
                             0\t0\t1\t10\t5\t7\n2\t2\t\t20\t6\t8\n4\t8\t3\t30\t7\t9\n";

    fn run(text: &str, dir: &std::path::Path, files: Option<&[String]>) -> Results {
        let p = parse_mdl_with(text, Some(dir), files).expect("loads");
        CompiledModel::new(&p, None)
            .expect("compiles")
            .run(&RunOptions::default())
            .expect("runs")
    }

    fn column(r: &Results, name: &str) -> Vec<f64> {
        let i = r.names.iter().position(|n| n == name).expect("column");
        r.columns[i].clone()
    }

    fn check(r: &Results) {
        assert_eq!(
            column(r, "level"),
            vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.5, 5.0, 6.5, 8.0]
        );
        // held[north] has no point at 2: it holds 1 until 4.
        assert_eq!(
            column(r, "held[north]"),
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0]
        );
        assert_eq!(
            column(r, "ahead"),
            vec![5.0, 6.0, 6.0, 6.0, 6.0, 7.0, 7.0, 7.0, 7.0]
        );
        let na = crate::ir::VENSIM_NA;
        assert_eq!(
            column(r, "raw"),
            vec![7.0, na, na, na, 8.0, na, na, na, 9.0]
        );
        assert_eq!(column(r, "total")[4], 2.0 + 1.0 + 20.0);
    }

    #[test]
    fn tab_by_column_named_in_the_settings() {
        let dir = folder("ds-col", &[("data.tab", BY_COLUMN)]);
        check(&run(&model("data.tab"), &dir, None));
    }

    /// Vensim's own data-equation example, `production ahead :LOOK
    /// FORWARD: := planned production raw`: the copy takes the source's
    /// points under its own keyword (the keyword was ignored). A source that
    /// is not a data variable keeps the equation as written.
    #[test]
    fn data_equations_copy_points_under_their_own_keyword() {
        let text = "{UTF-8}
R: north, south ~~|
planned ~~|
held[R] ~~|
ahead :LOOK FORWARD: := planned ~~|
back :HOLD BACKWARD: := planned ~~|
exact :RAW: := planned ~~|
held back[R] :HOLD BACKWARD: := held[R] ~~|
computed = TIME ~~|
other :HOLD BACKWARD: := computed ~~|
stepped :HOLD BACKWARD: ~~|
lin :INTERPOLATE: := stepped ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 8 ~~|
TIME STEP = 1 ~~|
SAVEPER = TIME STEP ~~|
";
        // `computed` is in the file too (as in a `.vdf` export of a run),
        // but the model computes it: its copy keeps the model's values.
        let data = "Time\tplanned\theld[north]\theld[south]\tcomputed\tstepped\n\
                    0\t5\t1\t10\t100\t5\n2\t8\t2\t20\t100\t8\n6\t1\t3\t30\t100\t1\n";
        let dir = folder("ds-copy", &[("planned.tab", data)]);
        let files = ["planned.tab".to_string()];
        let r = run(text, &dir, Some(&files));
        assert_eq!(
            column(&r, "planned"),
            vec![5.0, 6.5, 8.0, 6.25, 4.5, 2.75, 1.0, 1.0, 1.0]
        );
        assert_eq!(
            column(&r, "ahead"),
            vec![5.0, 8.0, 8.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(
            column(&r, "back"),
            vec![5.0, 5.0, 8.0, 8.0, 8.0, 8.0, 1.0, 1.0, 1.0]
        );
        let na = crate::ir::VENSIM_NA;
        assert_eq!(
            column(&r, "exact"),
            vec![5.0, na, 8.0, na, na, na, 1.0, na, na]
        );
        assert_eq!(
            column(&r, "held back[south]"),
            vec![10.0, 10.0, 20.0, 20.0, 20.0, 20.0, 30.0, 30.0, 30.0]
        );
        assert_eq!(column(&r, "other"), column(&r, "computed"));
        // An explicit :INTERPOLATE: is a keyword too (also the default).
        assert_eq!(column(&r, "stepped")[1], 5.0);
        assert_eq!(column(&r, "lin"), column(&r, "planned"));
    }

    #[test]
    fn vdf_is_read_from_its_export_and_rows_work_too() {
        // One series per row, times across; named as the binary dataset.
        let by_row = "Time,0,2,4\nlevel,0,2,8\nheld[north],1,,3\nheld[south],10,20,30\n\
                      ahead,5,6,7\nraw,7,8,9\n";
        let dir = folder("ds-row", &[("run.csv", by_row)]);
        check(&run(&model("run.vdf"), &dir, None));
    }

    #[test]
    fn dat_files_and_explicit_files_replace_the_settings() {
        let dat = "level\n0 0\n2 2\n4 8\nheld[north]\n0 1\n4 3\nheld[south]\n0 10\n2 20\n\
                   4 30\nahead\n0 5\n2 6\n4 7\nraw\n0 7\n2 8\n4 9\n";
        let dir = folder("ds-dat", &[("in.dat", dat)]);
        let files = ["in.dat".to_string()];
        check(&run(&model("missing.vdf"), &dir, Some(&files)));
    }

    #[test]
    fn earlier_files_win_and_later_files_fill_in() {
        let first = "Time\tlevel\n0\t0\n2\t2\n4\t8\n";
        let second = "Time\tlevel\theld[north]\theld[south]\tahead\traw\n\
                      0\t99\t1\t10\t5\t7\n2\t99\t\t20\t6\t8\n4\t99\t3\t30\t7\t9\n";
        let dir = folder("ds-two", &[("a.tab", first), ("b.tab", second)]);
        check(&run(&model("a.tab,b.tab"), &dir, None));
    }

    fn import_error(text: &str, dir: &std::path::Path) -> (String, String, String) {
        match parse_mdl_with_base(text, Some(dir)) {
            Err(Error::DataFile {
                variable,
                file,
                message,
            }) => (variable, file, message),
            other => panic!("expected a DataFile error, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn an_element_without_data_is_na_with_a_warning() {
        let dat = "level\n0 0\nheld[north]\n0 1\nahead\n0 5\nraw\n0 7\n";
        let dir = folder("ds-na", &[("in.dat", dat)]);
        let p = parse_mdl_with(&model("in.dat"), Some(&dir), None).expect("loads");
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("held[south]") && w.contains(":NA:")),
            "{:?}",
            p.warnings
        );
        let r = CompiledModel::new(&p, None)
            .unwrap()
            .run(&RunOptions::default())
            .unwrap();
        assert!(column(&r, "held[south]")
            .iter()
            .all(|&v| v == crate::ir::VENSIM_NA));
        assert_eq!(column(&r, "held[north]")[0], 1.0);
    }

    #[test]
    fn missing_data_is_an_import_error_naming_variable_and_file() {
        let dir = folder("ds-err", &[("part.tab", "Time\tlevel\n0\t1\n")]);
        let (v, f, m) = import_error(&model("part.tab"), &dir);
        assert_eq!(v, "held");
        assert!(f.ends_with("part.tab"), "{f}");
        assert!(m.contains("held[north]"), "{m}");
        let (_, f, m) = import_error(&model("gone.vdf"), &dir);
        assert_eq!(f, "gone.vdf");
        assert!(m.contains("gone.tab"), "{m}");
        let (_, f, m) = import_error(&model("gone.tab"), &dir);
        assert_eq!(f, "gone.tab");
        assert!(m.contains("cannot open"), "{m}");
        let (_, _, m) = import_error(&model(""), &dir);
        assert!(m.contains("needs a data file"), "{m}");
        let bad = folder("ds-bad", &[("x.tab", "Year\tlevel\n0\t1\n")]);
        let (_, _, m) = import_error(&model("x.tab"), &bad);
        assert!(m.contains("not 'Time'"), "{m}");
    }
}
