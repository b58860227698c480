//! The settings section at the end of a `.mdl` file.
//!
//! After the sketch (`\\\---///` ... `///---\\\`) and any custom graphs,
//! Vensim writes its model settings as one block that opens with a line
//! `:L<%^E!@` (often with a DEL byte after `:L`). Each following line is
//! `CODE:VALUE`. Two codes matter for simulation:
//!
//! * `15:a,b,c,METHOD,e,f` — the integration type chosen in Model >
//!   Settings: the fourth number is `0` Euler, `1` RK4 auto, `2`
//!   difference (an Euler step), `3` RK2 auto, `4` RK2 fixed, `5` RK4 fixed
//!   (the encoding other readers of Vensim files, such as xmutil, use).
//!   Auto variants adapt the step within TIME STEP
//!   (<https://vensim.com/documentation/rungekutta.html>); here they run
//!   as the fixed-step method of the same order.
//! * `13:file[,file...]` — the run's data source: the datasets data
//!   variables with no equation are read from (Model > Simulation Control >
//!   Data). No Vensim page documents the code; the SDXorg
//!   `data_from_other_model` case, the suite's only model with such
//!   variables, has `13:data.vdf` and no other file-naming line but the
//!   output list `1:`.
//! * `30:?name=path` — a file alias: a data function whose file argument is
//!   `'?name'` reads `path` ("use '?Tag' to indirectly reference a file",
//!   <https://vensim.com/documentation/fn_get_direct_subscript.html>).
//!
//! Anything else is ignored. A missing or malformed block leaves the
//! defaults (Euler, no aliases); reading it never fails.

use crate::ir::Method;

/// What the settings block says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The integration type, if the block names one.
    pub method: Option<Method>,
    /// `(?name, path)` file aliases, in file order.
    pub aliases: Vec<(String, String)>,
    /// The run's data files (line `13:`), in order.
    pub data_sources: Vec<String>,
}

/// Read the settings block of `text` (the whole file); `from` is where the
/// equations end, so an equation can never be mistaken for the block.
pub fn read(text: &str, from: usize) -> Settings {
    let mut settings = Settings::default();
    let Some(tail) = text.get(from..) else {
        return settings;
    };
    let mut lines = tail.lines();
    if !lines.any(is_marker) {
        return settings;
    }
    for line in lines {
        let Some((code, value)) = line.split_once(':') else {
            continue;
        };
        match code.trim() {
            "15" => {
                if let Some(m) = value.split(',').nth(3).and_then(method) {
                    settings.method = Some(m);
                }
            }
            "13" => settings.data_sources.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string),
            ),
            "30" => {
                if let Some((name, path)) = value.split_once('=') {
                    let (name, path) = (name.trim(), path.trim());
                    if name.starts_with('?') && !path.is_empty() {
                        settings.aliases.push((name.to_string(), path.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    settings
}

/// `:L<%^E!@`, with or without the DEL byte after `:L`.
fn is_marker(line: &str) -> bool {
    let line = line.trim();
    line.strip_prefix(":L")
        .map(|rest| rest.trim_start_matches('\u{7f}'))
        .is_some_and(|rest| rest.starts_with("<%^E!@"))
}

/// The integration type code (fourth field of line 15).
fn method(code: &str) -> Option<Method> {
    match code.trim().parse::<i64>().ok()? {
        0 | 2 => Some(Method::Euler),
        1 | 5 => Some(Method::Rk4),
        3 | 4 => Some(Method::Rk2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lines: &str) -> String {
        format!("x = 1 ~~|\n\\\\\\---/// Sketch\nV300\n///---\\\\\\\n:L\u{7f}<%^E!@\n{lines}")
    }

    #[test]
    fn integration_type_codes() {
        for (code, m) in [
            ("0", Method::Euler),
            ("1", Method::Rk4),
            ("2", Method::Euler),
            ("3", Method::Rk2),
            ("4", Method::Rk2),
            ("5", Method::Rk4),
        ] {
            let text = block(&format!("1:Current.vdf\n15:0,0,0,{code},0,0\n19:100,0\n"));
            assert_eq!(read(&text, 0).method, Some(m), "code {code}");
        }
        // Unknown code, short line, no line 15: nothing is claimed.
        assert_eq!(read(&block("15:0,0,0,9,0,0\n"), 0).method, None);
        assert_eq!(read(&block("15:0,0\n"), 0).method, None);
        assert_eq!(read(&block("19:100,0\n"), 0).method, None);
    }

    #[test]
    fn marker_is_required() {
        // A `15:` line outside the settings block is not a setting.
        let text = "x = 1 ~~|\n\\\\\\---/// Sketch\n15:0,0,0,1,0,0\n";
        assert_eq!(read(text, 0), Settings::default());
        // The marker without the DEL byte is accepted too.
        let text = "x = 1 ~~|\n:L<%^E!@\n15:0,0,0,5,0,0\n";
        assert_eq!(read(text, 0).method, Some(Method::Rk4));
    }

    #[test]
    fn data_sources() {
        let s = read(
            &block("1:output.vdf\n1:data.vdf\n9:output\n13:data.vdf\n"),
            0,
        );
        assert_eq!(s.data_sources, vec!["data.vdf".to_string()]);
        let s = read(&block("13:a.vdf, b.tab\n"), 0);
        assert_eq!(
            s.data_sources,
            vec!["a.vdf".to_string(), "b.tab".to_string()]
        );
        assert!(read(&block("1:Current.vdf\n"), 0).data_sources.is_empty());
    }

    #[test]
    fn file_aliases() {
        let s = read(
            &block("30:?data=inputs/data.xlsx\n30:?Other = other.csv\n30:bad=x\n30:?empty=\n"),
            0,
        );
        assert_eq!(
            s.aliases,
            vec![
                ("?data".to_string(), "inputs/data.xlsx".to_string()),
                ("?Other".to_string(), "other.csv".to_string()),
            ]
        );
    }
}
