//! isee conveyors and their leakage flows: reading `<conveyor>` and
//! `<leak>`, and writing a conveyor as its pipeline (outflow, leakage and
//! contents as equations over the recorded inflow).

use roxmltree::Node;

use super::outflow_caps::flow_term;
use super::variables::{display_name, flag, Reader};
use crate::error::{Error, Result};
use crate::ir::{Equation, Equations, VarKind, Variable};
use crate::syntax::xmile::child;

/// A conveyor's transit time (`<len>`) and whether its leakage is
/// exponential (`exponential_leak`).
pub(super) struct Belt {
    len: Equation,
    exponential: bool,
}

/// A leakage flow (`<leak/>`): its zone, as fractions of the belt from the
/// entry (`leak_start`, `leak_end`), and its fraction when written in the
/// tag (`<leak>0.1</leak>`) rather than as the flow's equation.
pub(super) struct Leak {
    start: f64,
    end: f64,
    fraction: Option<Equation>,
}

/// An option of `<conveyor>` given as an attribute (as isee writes them)
/// or a child element.
fn option_on(n: Node<'_, '_>, option: &str) -> bool {
    match n.attribute(option) {
        Some(v) => v.trim().eq_ignore_ascii_case("true") || v.trim() == "1",
        None => child(n, option).is_some_and(flag),
    }
}

/// A stock's `<conveyor>`, or `None` for a plain stock. Conveyor options
/// this reader does not simulate are refused by name, rather than the
/// stock being run as a plain stock (a wrong answer with no warning); so
/// are queues.
pub(super) fn conveyor_of(r: &Reader, stock: Node<'_, '_>) -> Result<Option<Belt>> {
    let name = display_name(stock.attribute("name").unwrap_or(""));
    let refuse = |what: &str| Error::Unsupported {
        variable: name.clone(),
        construct: what.to_string(),
    };
    for special in ["queue", "oven"] {
        if child(stock, special).is_some_and(flag) {
            return Err(refuse(&format!("an isee {special} (<{special}> stock)")));
        }
    }
    let Some(conveyor) = child(stock, "conveyor").filter(|c| flag(*c)) else {
        return Ok(None);
    };
    for option in ["capacity", "in_limit", "sample", "arrest"] {
        if child(conveyor, option).is_some() {
            return Err(refuse(&format!("a conveyor's <{option}>")));
        }
    }
    for option in ["discrete", "batch_integrity"] {
        if option_on(conveyor, option) {
            return Err(refuse(&format!("a {} conveyor", option.replace('_', " "))));
        }
    }
    let len = match child(conveyor, "len") {
        Some(l) => r.equation(&name, l)?,
        None => None,
    };
    let len = len.ok_or_else(|| refuse("a conveyor without its transit time (<len>)"))?;
    Ok(Some(Belt {
        len,
        exponential: option_on(conveyor, "exponential_leak"),
    }))
}

/// A flow's leakage tag, or `None` for a flow that is not a leakage.
/// Leaking whole units only (`<leak_integers/>`) is refused by name.
pub(super) fn leak_of(r: &Reader, flow: Node<'_, '_>) -> Result<Option<Leak>> {
    let Some(tag) = child(flow, "leak").filter(|l| flag(*l)) else {
        return Ok(None);
    };
    let name = display_name(flow.attribute("name").unwrap_or(""));
    if child(flow, "leak_integers").is_some_and(flag) {
        return Err(Error::Unsupported {
            variable: name,
            construct: "a conveyor leakage of whole units (<leak_integers/>)".into(),
        });
    }
    let at = |attr: &str, default: f64| {
        flow.attribute(attr)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(default)
    };
    let written = tag.text().map(str::trim).unwrap_or("");
    let fraction = if written.is_empty() || written.eq_ignore_ascii_case("true") {
        None
    } else {
        r.equation(&name, tag)?
    };
    Ok(Some(Leak {
        start: at("leak_start", 0.0),
        end: at("leak_end", 1.0),
        fraction,
    }))
}

/// Make conveyor `stock` compute its outflow and leakages, as isee defines
/// a conveyor: a belt of `n = round(len / DT)` slats (at least one) moving
/// one slat per DT, so what enters leaves `n` steps later, less what its
/// leakage flows took on the way (see [`crate::compile::conveyor`]); the
/// initial contents lie on the belt as isee's steady state would have them
/// (without leakage: evenly, so they leave at `initial / (n DT)` per time
/// unit during the first `n` steps). The flows' own equations (isee
/// ignores the outflow's; a leakage's is its fraction) become that
/// pipeline, the one Vensim's DELAY FIXED is (`conveyor_delay`: the transit
/// time is read at the initial time), and `conveyor_leak`. A leakage
/// fraction is read at every step; conservation is exact while it is
/// constant. Several exponential leakages, arrayed conveyors with
/// per-element initial values and conveyors with several outflows that are
/// not leakages are refused by name.
pub(super) fn convey(
    vars: &mut [Variable],
    stock: &str,
    belt: &Belt,
    leaks: &std::collections::HashMap<String, Leak>,
    spreads: &std::collections::HashSet<String>,
) -> Result<()> {
    use crate::syntax::ast::{bin, call, var, BinaryOp, Expr};
    let Some(s) = vars.iter().find(|v| v.ident == stock) else {
        return Ok(());
    };
    let name = s.name.clone();
    let refuse = |what: String| Error::Unsupported {
        variable: name.clone(),
        construct: what,
    };
    let VarKind::Stock {
        inflows, outflows, ..
    } = &s.kind
    else {
        return Ok(());
    };
    if let Some(spread) = inflows.iter().find(|f| spreads.contains(*f)) {
        return Err(refuse(format!(
            "an inflow spread along a conveyor (flow '{spread}', isee:spreadflow)"
        )));
    }
    let (leaking, ends): (Vec<&String>, Vec<&String>) =
        outflows.iter().partition(|f| leaks.contains_key(*f));
    let out =
        match ends.as_slice() {
            [] if leaking.is_empty() => return Ok(()),
            [] => return Err(refuse(
                "a conveyor whose outflows are all leakages (no outflow at the end of the belt)"
                    .into(),
            )),
            [one] => (*one).clone(),
            _ => return Err(refuse("a conveyor with several outflows".into())),
        };
    if belt.exponential && leaking.len() > 1 {
        return Err(refuse(
            "a conveyor with several exponential leakages".into(),
        ));
    }
    let Equations::Single(initial) = &s.equations else {
        return Err(refuse(
            "a conveyor whose elements have their own initial values".into(),
        ));
    };
    let len = &belt.len;
    // Each leakage: (flow, fraction, start, end).
    let mut leakages = Vec::new();
    for f in &leaking {
        let leak = &leaks[*f];
        let own = vars.iter().find(|v| &v.ident == *f).map(|v| &v.equations);
        let fraction = match (&leak.fraction, own) {
            (Some(eq), _) => eq.expr.clone(),
            (None, Some(Equations::Single(eq))) => eq.expr.clone(),
            (None, Some(Equations::PerElement(_))) => {
                return Err(refuse(format!(
                    "a conveyor leakage whose elements have their own fractions (flow '{f}')"
                )))
            }
            (None, _) => {
                return Err(refuse(format!(
                    "a conveyor leakage without its fraction (flow '{f}')"
                )))
            }
        };
        // isee's fractions lie in 0..1 (together at most 1 for linear
        // leakage); outside, the leak's non-negative floor and the outflow
        // would no longer add up to what entered.
        let fraction = call(
            "min",
            vec![Expr::Num(1.0), call("max", vec![Expr::Num(0.0), fraction])],
        );
        leakages.push(((*f).clone(), fraction, leak.start, leak.end));
    }
    let dims = s.dims.clone();
    let entering = inflows
        .iter()
        .map(|f| flow_term(vars, &dims, f))
        .reduce(|a, b| bin(BinaryOp::Add, a, b))
        .unwrap_or(Expr::Num(0.0));
    let spread = if leakages.is_empty() {
        // n DT: the transit time the belt really has.
        let slats = call(
            "max",
            vec![
                Expr::Num(1.0),
                call(
                    "round",
                    vec![bin(BinaryOp::Div, len.expr.clone(), var("dt"))],
                ),
            ],
        );
        let transit = bin(BinaryOp::Mul, slats, var("dt"));
        bin(BinaryOp::Div, initial.expr.clone(), transit)
    } else {
        let mut args = vec![
            initial.expr.clone(),
            len.expr.clone(),
            var("dt"),
            Expr::Num(f64::from(u8::from(belt.exponential))),
        ];
        for (_, f, start, end) in &leakages {
            args.extend([f.clone(), Expr::Num(*start), Expr::Num(*end)]);
        }
        call("conveyor_spread", args)
    };
    let leak_call = |f: &Expr, start: f64, end: f64, mode: f64| {
        call(
            "conveyor_leak",
            vec![
                entering.clone(),
                len.expr.clone(),
                spread.clone(),
                Expr::Num(start),
                Expr::Num(end),
                f.clone(),
                Expr::Num(mode),
            ],
        )
    };
    let delayed = call(
        "conveyor_delay",
        vec![entering.clone(), len.expr.clone(), spread.clone()],
    );
    let expr = match leakages.as_slice() {
        [] => delayed,
        [(_, f, start, end)] if belt.exponential => {
            bin(BinaryOp::Mul, delayed, leak_call(f, *start, *end, 2.0))
        }
        _ => {
            let lost = leakages
                .iter()
                .map(|(_, f, ..)| f.clone())
                .reduce(|a, b| bin(BinaryOp::Add, a, b))
                .unwrap_or(Expr::Num(0.0));
            let kept = call(
                "max",
                vec![Expr::Num(0.0), bin(BinaryOp::Sub, Expr::Num(1.0), lost)],
            );
            bin(BinaryOp::Mul, kept, delayed)
        }
    };
    let entering_text = if inflows.is_empty() {
        "0".to_string()
    } else {
        inflows.join(" + ")
    };
    let text = format!(
        "conveyor {name}: the inflow {entering_text} transit time later (transit {})",
        len.text,
    );
    let mode = if belt.exponential { 1.0 } else { 0.0 };
    let mut set: Vec<(String, Equation)> = leakages
        .iter()
        .map(|(flow, f, start, end)| {
            let text = format!("leakage of conveyor {name}: {entering_text} on the belt");
            (
                flow.clone(),
                Equation {
                    text,
                    expr: leak_call(f, *start, *end, mode),
                },
            )
        })
        .collect();
    set.push((out, Equation { text, expr }));
    for (flow, eq) in set {
        if let Some(f) = vars.iter_mut().find(|v| v.ident == flow) {
            f.equations = Equations::Single(eq);
        }
    }
    Ok(())
}
