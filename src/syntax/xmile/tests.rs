//! XMILE reader tests on small inline documents.

use super::parse_xmile;
use crate::error::Error;
use crate::ir::{Equations, GfKind, Method, VarKind};

fn doc(specs: &str, vars: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>T</name></header>{specs}<model><variables>{vars}</variables></model></xmile>"#
    )
}

const SPECS: &str = "<sim_specs method=\"RK4\" time_units=\"Months\"><start>1</start><stop>13</stop><dt reciprocal=\"true\">4</dt><savestep>0.5</savestep></sim_specs>";

#[test]
fn reads_sim_specs() {
    let p = parse_xmile(&doc(SPECS, "")).unwrap();
    assert_eq!(p.name, "T");
    assert_eq!(p.sim_specs.start, 1.0);
    assert_eq!(p.sim_specs.dt, 0.25);
    assert_eq!(p.sim_specs.save_step, Some(0.5));
    assert_eq!(p.sim_specs.method, Method::Rk4);
    assert_eq!(p.sim_specs.time_units.as_deref(), Some("Months"));
}

#[test]
fn rejects_bad_sim_specs() {
    let bad = |s: &str| parse_xmile(&doc(s, "")).unwrap_err();
    assert!(matches!(
        bad("<sim_specs><start>0</start><stop>1</stop></sim_specs>"),
        Error::BadSimSpecs { .. }
    ));
    assert!(matches!(
        bad("<sim_specs><start>x</start><stop>1</stop><dt>1</dt></sim_specs>"),
        Error::BadSimSpecs { .. }
    ));
    assert!(matches!(
        bad("<sim_specs><start>0</start><stop>1</stop><dt>0</dt></sim_specs>"),
        Error::BadSimSpecs { .. }
    ));
    assert!(matches!(
        bad("<sim_specs method=\"magic\"><start>0</start><stop>1</stop><dt>1</dt></sim_specs>"),
        Error::BadSimSpecs { .. }
    ));
}

#[test]
fn reads_stocks_flows_and_non_negative_defaults() {
    let vars = r#"<stock name="Teacup Temperature"><eqn>180</eqn><outflow>Heat_Loss</outflow><non_negative/></stock>
        <flow name="Heat Loss"><eqn>1</eqn></flow>
        <stock name="Other"><eqn>1</eqn><inflow>Heat_Loss</inflow><non_negative> FALSE </non_negative></stock>"#;
    let p = parse_xmile(&doc(SPECS, vars)).unwrap();
    let m = &p.models[0];
    assert_eq!(m.variables[0].ident, "teacup_temperature");
    assert_eq!(
        m.variables[0].kind,
        VarKind::Stock {
            inflows: vec![],
            outflows: vec!["heat_loss".into()],
            non_negative: true,
            net_rate: None
        }
    );
    assert_eq!(
        m.variables[1].kind,
        VarKind::Flow {
            non_negative: false
        }
    );
    assert!(matches!(
        m.variables[2].kind,
        VarKind::Stock {
            non_negative: false,
            ..
        }
    ));
    // <behavior> makes flows non-negative unless they say otherwise.
    let with_behavior = doc(SPECS, r#"<flow name="f"><eqn>1</eqn></flow>"#).replace(
        "<model>",
        "<behavior><flow><non_negative/></flow></behavior><model>",
    );
    let p = parse_xmile(&with_behavior).unwrap();
    assert_eq!(
        p.models[0].variables[0].kind,
        VarKind::Flow { non_negative: true }
    );
}

#[test]
fn reads_graphical_functions() {
    let vars = r#"<aux name="a"><eqn>TIME</eqn><gf type="discrete"><xscale min="0" max="10"/><ypts>1,2,3</ypts></gf></aux>
        <gf name="table"><xpts sep=";">0;1;5</xpts><ypts>0,1,2</ypts></gf>"#;
    let p = parse_xmile(&doc(SPECS, vars)).unwrap();
    let a = &p.models[0].variables[0];
    let gf = a.gf.as_ref().unwrap();
    assert_eq!(gf.kind, GfKind::Discrete);
    assert_eq!(gf.xs, vec![0.0, 5.0, 10.0]);
    let t = &p.models[0].variables[1];
    assert_eq!(t.equations, Equations::None);
    assert_eq!(t.gf.as_ref().unwrap().xs, vec![0.0, 1.0, 5.0]);
    let bad = |g: &str| {
        parse_xmile(&doc(
            SPECS,
            &format!("<aux name=\"b\"><eqn>1</eqn>{g}</aux>"),
        ))
        .unwrap_err()
    };
    assert!(matches!(
        bad("<gf><xpts>0,1</xpts><ypts>1</ypts></gf>"),
        Error::BadGraphicalFunction { .. }
    ));
    assert!(matches!(
        bad("<gf><xpts>1,0</xpts><ypts>1,2</ypts></gf>"),
        Error::BadGraphicalFunction { .. }
    ));
    assert!(matches!(
        bad("<gf><xpts>0,z</xpts><ypts>1,2</ypts></gf>"),
        Error::BadGraphicalFunction { .. }
    ));
}

#[test]
fn reads_arrays() {
    let dims = "<dimensions><dim name=\"Region\"><elem name=\"North\"/><elem name=\"South\"/></dim><dim name=\"N\" size=\"3\"/></dimensions>";
    let vars = r#"<aux name="a"><dimensions><dim name="Region"/></dimensions><eqn>1</eqn></aux>
        <aux name="b"><dimensions><dim name="Region"/></dimensions><element subscript="North"><eqn>1</eqn></element><element subscript="South"><eqn>2</eqn></element></aux>"#;
    let text = doc(&format!("{SPECS}{dims}"), vars);
    let p = parse_xmile(&text).unwrap();
    assert_eq!(p.dimensions[0].elements, vec!["North", "South"]);
    assert_eq!(p.dimensions[1].elements, vec!["1", "2", "3"]);
    assert!(p.dimensions[1].indexed);
    assert_eq!(p.models[0].variables[0].dims, vec!["region"]);
    match &p.models[0].variables[1].equations {
        Equations::PerElement(list) => {
            assert_eq!(list.len(), 2);
            assert_eq!(list[1].0, vec!["South"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reads_modules_and_macros() {
    let text = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
        <model><variables><module name="hares"><connect to="hares.area" from=".area"/><connect to="lynxes" from="lynxes.lynxes"/></module><aux name="area"><eqn>1</eqn></aux></variables></model>
        <model name="hares"><variables><aux name="area"><eqn>0</eqn></aux></variables></model>
        <macro name="Double"><parm>x</parm><eqn>x * 2</eqn></macro></xmile>"#;
    let p = parse_xmile(text).unwrap();
    match &p.models[0].variables[0].kind {
        VarKind::Module { model, connections } => {
            assert_eq!(model, "hares");
            assert_eq!(connections[0].to, "area");
            assert_eq!(connections[0].from, "area");
            assert_eq!(connections[1].from, "lynxes.lynxes");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.macros[0].ident, "double");
    assert_eq!(p.macros[0].params, vec!["x"]);
}

#[test]
fn malformed_documents_are_typed_errors() {
    match parse_xmile("<xmile>\n<model>\n</xmile>").unwrap_err() {
        Error::MalformedXml { pos, .. } => assert_eq!(pos.line, 3),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_xmile("<html/>").unwrap_err(),
        Error::NotXmile { .. }
    ));
    let entity = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xmile>&e;</xmile>"#;
    assert!(matches!(
        parse_xmile(entity).unwrap_err(),
        Error::MalformedXml { .. }
    ));
    match parse_xmile(&doc(SPECS, "<aux name=\"bad\">\n<eqn>1 +</eqn></aux>")).unwrap_err() {
        Error::EquationSyntax { variable, line, .. } => {
            assert_eq!(variable, "bad");
            assert_eq!(line, Some(3));
        }
        other => panic!("{other:?}"),
    }
}
