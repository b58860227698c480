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

/// Vensim's own XMILE export writes `<dt> TIME_STEP=0.125</dt>`: the name
/// of the variable holding the setting, then its value.
#[test]
fn reads_sim_specs_written_with_the_variable_name() {
    let specs = "<sim_specs><start> INITIAL_TIME=2</start><stop>10</stop><dt> TIME_STEP=0.125</dt></sim_specs>";
    let p = parse_xmile(&doc(specs, "")).unwrap();
    assert_eq!((p.sim_specs.start, p.sim_specs.dt), (2.0, 0.125));
    for bad in ["TIME_STEP=", "=0.5", "TIME_STEP=x"] {
        let specs = format!("<sim_specs><start>0</start><stop>1</stop><dt>{bad}</dt></sim_specs>");
        assert!(matches!(
            parse_xmile(&doc(&specs, "")).unwrap_err(),
            Error::BadSimSpecs { .. }
        ));
    }
}

#[test]
fn rejects_bad_sim_specs() {
    let bad = |s: &str| parse_xmile(&doc(s, "")).unwrap_err();
    // (A missing <dt> is 1, XMILE's default.)
    assert!(matches!(
        bad("<sim_specs><start>0</start></sim_specs>"),
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
    // A reciprocal dt of 0 is named as written, not as the "inf" it makes.
    match bad("<sim_specs><start>0</start><stop>1</stop><dt reciprocal=\"true\">0</dt></sim_specs>")
    {
        Error::BadSimSpecs { message } => {
            assert_eq!(
                message,
                "dt must be a positive number, got 1/0 (reciprocal=\"true\")"
            )
        }
        other => panic!("{other:?}"),
    }
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
            limits: None,
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
            limits: None,
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

/// isee's wire from a module's output to the model holding it: `<connect
/// to=".Converter_1" from="IP1.Intervention_Point"/>` inside the module
/// gives the holder's input placeholder `Converter 1` the module's output
/// (SD4DS's "limits to growth v3" wires four such intervention points).
#[test]
fn a_module_output_wired_into_the_holding_model() {
    let text = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
        <model><variables>
            <aux name="Converter 1" access="input"><units>Dimensionless</units></aux>
            <aux name="Switch Time"><eqn>2</eqn></aux>
            <module name="IP1"><connect to="IP1.Start" from=".Switch_Time"/><connect to=".Converter_1" from="IP1.Intervention_Point"/></module>
            <aux name="Capacity"><eqn>80 * Converter_1</eqn></aux>
        </variables></model>
        <model name="IP1"><variables>
            <aux name="Start" access="input"><eqn>10</eqn></aux>
            <aux name="Intervention Point" access="output"><eqn>IF TIME >= Start THEN 1.5 ELSE 1</eqn></aux>
        </variables></model></xmile>"#;
    let p = parse_xmile(text).unwrap();
    match &p.models[0].variables[2].kind {
        VarKind::Module { connections, .. } => {
            assert_eq!(connections.len(), 1);
            assert_eq!(connections[0].to, "start");
        }
        other => panic!("{other:?}"),
    }
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    assert_eq!(
        r.column("Capacity").unwrap(),
        &[80.0, 80.0, 120.0, 120.0, 120.0]
    );
}

/// A macro as Stella saves it: each parameter is also declared inside the
/// macro as an input placeholder, trailing parameters have defaults
/// (`<parm default="0">`, or the placeholder's equation), and the result
/// is named by a variable's display name (`early out`).
#[test]
fn reads_stella_macros_with_placeholders_and_defaults() {
    let text = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
        <model><variables>
            <aux name="all"><eqn>SCALED(10, 2, 3)</eqn></aux>
            <aux name="two"><eqn>SCALED(10, 2)</eqn></aux>
            <aux name="one"><eqn>SCALED(10)</eqn></aux>
        </variables></model>
        <macro name="SCALED"><eqn>early out</eqn><parm>input</parm><parm>factor</parm><parm default="1">offset</parm>
            <variables>
                <aux name="input" access="input"/>
                <aux name="factor" access="input"><eqn>5</eqn></aux>
                <aux name="offset" access="input"><eqn>0</eqn></aux>
                <aux name="early out"><eqn>input * factor + offset</eqn></aux>
            </variables></macro></xmile>"#;
    let p = parse_xmile(text).unwrap();
    let m = &p.macros[0];
    assert_eq!(m.params, vec!["input", "factor", "offset"]);
    assert_eq!(m.variables.len(), 1);
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    assert_eq!(r.column("all").unwrap()[0], 23.0);
    assert_eq!(r.column("two").unwrap()[0], 21.0);
    // `factor` has no default attribute: its placeholder's equation (5).
    assert_eq!(r.column("one").unwrap()[0], 51.0);
    let none = text.replace("SCALED(10)", "SCALED()");
    let err = crate::CompiledModel::new(&parse_xmile(&none).unwrap(), None).unwrap_err();
    assert!(matches!(err, Error::WrongArgumentCount { .. }), "{err}");
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

/// Runs a project and returns one column.
fn run_column(p: &crate::ir::Project, name: &str) -> Vec<f64> {
    let r = crate::CompiledModel::new(p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    let i = r
        .names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", r.names));
    r.columns[i].clone()
}

const STEPS: &str = "<sim_specs><start>0</start><stop>3</stop><dt>1</dt></sim_specs>";

#[test]
fn self_init_eqn_and_isee_maps_to() {
    let dims = r#"<dimensions><dim name="A"><elem name="a1"/><elem name="a2"/><isee:maps_to>B</isee:maps_to></dim>
        <dim name="B"><elem name="b1"/><elem name="b2"/></dim></dimensions>"#;
    let vars = r#"<aux name="counter"><eqn>PREVIOUS(SELF, 10) + 1</eqn></aux>
        <aux name="arr"><eqn>PREVIOUS(SELF, A) * 2</eqn><dimensions><dim name="A"/></dimensions></aux>
        <aux name="target"><eqn>counter * 2</eqn><init_eqn>-1</init_eqn></aux>
        <stock name="s"><eqn>target</eqn></stock>
        <aux name="from b"><eqn>src[A]</eqn><dimensions><dim name="B"/></dimensions></aux>
        <aux name="src"><eqn>A * 100</eqn><dimensions><dim name="A"/></dimensions></aux>"#;
    let text = doc(STEPS, vars).replace("<model>", &format!("{dims}<model>"));
    let p = parse_xmile(&text).unwrap();
    assert_eq!(run_column(&p, "counter"), vec![11.0, 12.0, 13.0, 14.0]);
    // SELF in an arrayed equation is the element being computed.
    assert_eq!(run_column(&p, "arr[a2]"), vec![4.0, 8.0, 16.0, 32.0]);
    // <init_eqn>: the value while initializing (Vensim ACTIVE INITIAL), the
    // equation afterwards.
    assert_eq!(run_column(&p, "s"), vec![-1.0; 4]);
    assert_eq!(run_column(&p, "target"), vec![22.0, 24.0, 26.0, 28.0]);
    // isee:maps_to pairs A's elements with B's by position.
    assert_eq!(run_column(&p, "from b[b2]"), vec![200.0; 4]);
}

#[test]
fn xmutil_files_are_vensim_models() {
    let xmutil = |vars: &str| {
        r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>Ventana Systems, xmutil</vendor></header>STEPS
<dimensions><dim name="D"><elem name="d1"/><elem name="d2"/></dim></dimensions>
<model><variables>VARS</variables></model></xmile>"#
            .replace("STEPS", STEPS)
            .replace("VARS", vars)
    };
    let p = parse_xmile(&xmutil(
        r#"<aux name="x"><eqn>IF Time = 1 THEN -1e+38 ELSE 5</eqn></aux>
<aux name="is na"><eqn>IF x = -1e+38 THEN 1 ELSE 0</eqn></aux>
<aux name="m"><eqn>VECTOR SELECT(sel[*], vals[*], 0, 2, 0)</eqn></aux>
<aux name="sel"><eqn>1</eqn><dimensions><dim name="D"/></dimensions></aux>
<aux name="vals"><element subscript="d1"><eqn>3</eqn></element><element subscript="d2"><eqn>2</eqn></element><dimensions><dim name="D"/></dimensions></aux>"#,
    ))
    .unwrap();
    assert_eq!(p.dialect, crate::ir::Dialect::Vensim);
    // xmutil's -1e+38 is Vensim's :NA:.
    assert_eq!(run_column(&p, "is na"), vec![0.0, 1.0, 0.0, 0.0]);
    // A multi-word Vensim function name, with its Vensim meaning (2 = min).
    assert_eq!(run_column(&p, "m"), vec![2.0; 4]);

    // Calls xmutil kept in comments come back; one that does not parse
    // stays 0 with a warning.
    let p = parse_xmile(&xmutil(
        r#"<aux name="kept"><eqn>1 + 0{GET_DATA_BETWEEN_TIMES(x,_Time,_0)}</eqn></aux>
<aux name="lost"><eqn>0{NO_SUCH_SYNTAX(((}</eqn></aux>"#,
    ))
    .unwrap();
    assert!(
        p.warnings.iter().any(|w| w.contains("kept as 0")),
        "{:?}",
        p.warnings
    );
    let kept = p.models[0].get("kept").unwrap();
    assert!(
        matches!(&kept.equations, Equations::Single(e) if format!("{:?}", e.expr).contains("get_data_between_times")),
        "{kept:?}"
    );
}

#[test]
fn xmile_builtins_element_references_and_computed_subscripts() {
    let dims = r#"<dimensions><dim name="D"><elem name="a1"/><elem name="a2"/><elem name="a3"/></dim></dimensions>"#;
    let vars = r#"<aux name="x"><eqn>D * 10 + TIME</eqn><dimensions><dim name="D"/></dimensions></aux>
        <aux name="k"><eqn>1 + TIME</eqn></aux>
        <aux name="m"><eqn>MEAN(x[*])</eqn></aux>
        <aux name="m2"><eqn>MEAN(1, 2, 6)</eqn></aux>
        <aux name="v"><eqn>VMAX(x[*]) - VMIN(x[*])</eqn></aux>
        <aux name="h"><eqn>COSH(0) + SINH(0) + TANH(0)</eqn></aux>
        <aux name="md"><eqn>MOD(7, 3) + (7 MOD 3)</eqn></aux>
        <aux name="it"><eqn>INT(-2.5)</eqn></aux>
        <aux name="de"><eqn>x[D.a2]</eqn></aux>
        <aux name="next"><eqn>IF D &lt; 3 THEN x[D + 1] ELSE -1</eqn><dimensions><dim name="D"/></dimensions></aux>
        <aux name="moving"><eqn>x[k]</eqn></aux>"#;
    let text = doc(STEPS, vars).replace("<model>", &format!("{dims}<model>"));
    let p = parse_xmile(&text).unwrap();
    assert_eq!(run_column(&p, "m"), vec![20.0, 21.0, 22.0, 23.0]);
    assert_eq!(run_column(&p, "m2"), vec![3.0; 4]);
    assert_eq!(run_column(&p, "v"), vec![20.0; 4]);
    assert_eq!(run_column(&p, "h"), vec![1.0; 4]);
    assert_eq!(run_column(&p, "md"), vec![2.0; 4]);
    // XMILE INT is the floor; Vensim's INTEGER (and INT in files Vensim
    // wrote) truncates.
    assert_eq!(run_column(&p, "it"), vec![-3.0; 4]);
    assert_eq!(run_column(&p, "de"), vec![20.0, 21.0, 22.0, 23.0]);
    // x[D + 1]: settled while compiling; out of range only where not taken.
    assert_eq!(run_column(&p, "next[a2]"), vec![30.0, 31.0, 32.0, 33.0]);
    assert_eq!(run_column(&p, "next[a3]"), vec![-1.0; 4]);
    // x[k] with k read while running: x[a1], x[a2], x[a3], then outside
    // (XMILE's invalid_index_value, 0 by default).
    assert_eq!(run_column(&p, "moving"), [10.0, 21.0, 32.0, 0.0]);
}

/// isee's `SELF[...]`: a slice of the variable whose equation it is in
/// (`SIZE(SELF[*, contact])` in a COVID-19 generic-structures model).
#[test]
fn self_slices_name_the_variable_itself() {
    let text = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
        <dimensions><dim name="A" size="3"/><dim name="B" size="2"/></dimensions>
        <model><variables>
            <aux name="x"><dimensions><dim name="A"/><dim name="B"/></dimensions><eqn>SIZE(SELF[*, B])</eqn></aux>
        </variables></model></xmile>"#;
    let p = parse_xmile(text).unwrap();
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::RunOptions::default())
        .unwrap();
    assert_eq!(r.column("x[2,1]").unwrap(), &[3.0, 3.0, 3.0]);
}

/// isee's `<data><import>`: the file's values replace the named variables'
/// own, by column headings (a constant, an array's elements in order, a
/// graphical function's y values) or with a time column (a series); a file
/// that is not there leaves the model's values with a warning; a name given
/// the wrong number of values is an error naming the file. Exports are
/// ignored.
#[test]
fn data_imports_replace_values() {
    let dir = std::env::temp_dir().join(format!("simlin-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = |resource: &str| {
        format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" xmlns:isee="http://iseesystems.com/XMILE">
            <header><vendor>isee systems, inc.</vendor></header>
            <sim_specs><start>0</start><stop>10</stop><dt>1</dt></sim_specs>
            <dimensions><dim name="T"><elem name="1"/><elem name="2"/><elem name="3"/></dim></dimensions>
            <data><export resource="r../out.csv" interval="DT"><all/></export>
              <import isee:overwrite="false" resource="{resource}"/></data>
            <model><variables>
              <aux name="rate"><eqn>0.05</eqn></aux>
              <aux name="initial HEI"><dimensions><dim name="T"/></dimensions><eqn>0</eqn></aux>
              <aux name="effect"><eqn>TIME</eqn><gf><xscale min="0" max="10"/><ypts>0,0,0</ypts></gf></aux>
              <aux name="price"><eqn>1</eqn></aux>
              <stock name="s"><eqn>1</eqn></stock>
            </variables></model></xmile>"#
        )
    };
    let load = |csv: &str, resource: &str| {
        std::fs::write(dir.join("parms.csv"), csv).unwrap();
        let path = dir.join("m.stmx");
        std::fs::write(&path, model(resource)).unwrap();
        crate::load_file(&path)
    };
    let single = |p: &crate::ir::Project, name: &str| match &p.models[0]
        .variables
        .iter()
        .find(|v| v.ident == name)
        .unwrap()
        .equations
    {
        Equations::Single(eq) => eq.text.clone(),
        other => format!("{other:?}"),
    };
    // Column headings: a constant, an array's elements, a stock's initial
    // value, a graphical function's y values.
    let p = load(
        "Rate,Initial HEI,s,effect\n0.2,0.952,7,1\n,0.632,,2\n,0.821,,4\n",
        "r../parms.csv",
    )
    .expect("loads");
    assert_eq!(single(&p, "rate"), "0.2");
    assert_eq!(single(&p, "s"), "7");
    let hei = &p.models[0]
        .variables
        .iter()
        .find(|v| v.ident == "initial_hei")
        .unwrap();
    match &hei.equations {
        Equations::PerElement(list) => {
            let got: Vec<String> = list.iter().map(|(_, e, _)| e.text.clone()).collect();
            assert_eq!(got, ["0.952", "0.632", "0.821"]);
        }
        other => panic!("{other:?}"),
    }
    let effect = p.models[0]
        .variables
        .iter()
        .find(|v| v.ident == "effect")
        .unwrap();
    assert_eq!(effect.gf.as_ref().unwrap().ys, [1.0, 2.0, 4.0]);
    // A blank first heading over times: one row is a constant, several a
    // series over time.
    let p = load(",Rate\n0,0.2\n", "r../parms.csv").expect("loads");
    assert_eq!(single(&p, "rate"), "0.2");
    let p = load("Time,price\n0,1\n10,3\n", "r../parms.csv").expect("loads");
    let price = p.models[0]
        .variables
        .iter()
        .find(|v| v.ident == "price")
        .unwrap();
    assert_eq!(price.gf.as_ref().unwrap().ys, [1.0, 3.0]);
    // Not there: the model's own values, and a warning.
    let p = load("", "r../elsewhere/parms.csv").expect("loads");
    assert_eq!(single(&p, "rate"), "0.05");
    assert!(
        p.warnings.iter().any(|w| w.contains("elsewhere/parms.csv")),
        "{:?}",
        p.warnings
    );
    // Two values for a constant.
    let err = load("Rate\n1\n2\n", "r../parms.csv")
        .map(|_| ())
        .expect_err("count");
    assert!(err.to_string().contains("parms.csv"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Vensim's own XMILE export lists sketch groups as empty dimensions
/// (`.Control`) and writes the clock as a variable `Time = INTEG(1,
/// INITIAL TIME)`: both are skipped (TIME is built in).
#[test]
fn vensim_export_groups_and_clock_are_skipped() {
    let xml = r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
        <header><product version="1.0" lang="en">Vensim</product><vendor>Ventana Systems, Inc.</vendor></header>
        <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
        <dimensions><dim name=".Control"></dim></dimensions>
        <model><variables>
          <aux name="Time"><eqn>INTEG( 1, INITIAL_TIME)</eqn></aux>
          <aux name="x"><eqn>Time * 2</eqn></aux>
        </variables></model></xmile>"#;
    let p = parse_xmile(xml).expect("loads");
    assert!(p.dimensions.is_empty());
    let names: Vec<&str> = p.models[0]
        .variables
        .iter()
        .map(|v| v.ident.as_str())
        .collect();
    assert_eq!(names, ["x"]);
    // A dimension with neither elements nor a size is still an error.
    let bad = xml.replace(".Control", "Regions");
    assert!(parse_xmile(&bad).is_err());
}

/// isee's `//` divides like `/` (same precedence) but gives 0 where the
/// divisor is 0, as SAFEDIV does; a Stella model using it matched Stella's
/// own run to 2e-12 (the Kaibab deer model).
#[test]
fn isee_double_slash_is_safe_division() {
    let vars = r#"<aux name="zero"><eqn>TIME - TIME</eqn></aux>
        <aux name="q"><eqn>1 + 6 // 3 * 2</eqn></aux>
        <aux name="by zero"><eqn>TIME // zero</eqn></aux>
        <aux name="plain"><eqn>TIME // (TIME + 1)</eqn></aux>"#;
    let p = parse_xmile(&doc(STEPS, vars)).unwrap();
    assert_eq!(run_column(&p, "q"), vec![5.0; 4]);
    assert_eq!(run_column(&p, "by zero"), vec![0.0; 4]);
    assert_eq!(run_column(&p, "plain"), vec![0.0, 0.5, 2.0 / 3.0, 0.75]);
}

/// isee DERIVN(input, order): a recursive finite difference over DT, 0 for
/// the first `order` DTs (isee help: DERIVN(TIME, 1) = 1, DERIVN(1, 1) = 0,
/// DERIVN(TIME, 0) = TIME, "returns an initial value of 0").
#[test]
fn isee_derivn_is_a_finite_difference_that_starts_at_zero() {
    let vars = r#"<aux name="slope"><eqn>DERIVN(TIME, 1)</eqn></aux>
        <aux name="flat"><eqn>DERIVN(1, 1)</eqn></aux>
        <aux name="same"><eqn>DERIVN(TIME, 0)</eqn></aux>
        <aux name="second"><eqn>DERIVN(TIME * TIME, 2)</eqn></aux>"#;
    let p = parse_xmile(&doc(STEPS, vars)).unwrap();
    assert_eq!(run_column(&p, "slope"), vec![0.0, 1.0, 1.0, 1.0]);
    assert_eq!(run_column(&p, "flat"), vec![0.0; 4]);
    assert_eq!(run_column(&p, "same"), vec![0.0, 1.0, 2.0, 3.0]);
    // t^2: first differences 1, 3, 5; second differences 2 from t = 2.
    assert_eq!(run_column(&p, "second"), vec![0.0, 0.0, 2.0, 2.0]);
}

/// XMILE 1.0's optional forms (helper round 16 against the spec): <dt>
/// defaults to 1 (§3.4); a method list names fallbacks, the first one we
/// run is used (§3.4.1); a file without <sim_specs> takes the root
/// model's (§2.3).
#[test]
fn sim_specs_defaults_fallback_methods_and_the_root_models_specs() {
    let p = parse_xmile(&doc(
        "<sim_specs><start>0</start><stop>3</stop></sim_specs>",
        r#"<aux name="x"><eqn>TIME</eqn></aux>"#,
    ))
    .unwrap();
    assert_eq!(p.sim_specs.dt, 1.0);
    assert_eq!(run_column(&p, "x"), [0.0, 1.0, 2.0, 3.0]);
    for (method, expected) in [
        ("gear, rk4", Method::Rk4),
        ("rk45,euler", Method::Rk4),
        ("bogus, RK2", Method::Rk2),
    ] {
        let specs = format!(
            r#"<sim_specs method="{method}"><start>0</start><stop>1</stop><dt>1</dt></sim_specs>"#
        );
        let p = parse_xmile(&doc(&specs, "")).unwrap();
        assert_eq!(p.sim_specs.method, expected, "{method}");
    }
    assert!(parse_xmile(&doc(
        r#"<sim_specs method="gear"><start>0</start><stop>1</stop></sim_specs>"#,
        ""
    ))
    .is_err());
    let inside = r#"<?xml version="1.0"?><xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>T</name></header><model><sim_specs><start>2</start><stop>4</stop><dt>0.5</dt></sim_specs>
<variables><aux name="x"><eqn>TIME</eqn></aux></variables></model></xmile>"#;
    let p = parse_xmile(inside).unwrap();
    assert_eq!(
        (p.sim_specs.start, p.sim_specs.stop, p.sim_specs.dt),
        (2.0, 4.0, 0.5)
    );
    assert_eq!(run_column(&p, "x").len(), 5);
    // The root model as the engine picks it: named "main" counts too.
    let named = inside.replace("<model>", r#"<model name="main">"#);
    assert_eq!(parse_xmile(&named).unwrap().sim_specs.dt, 0.5);
}

/// XMILE 1.0 §2.6: a <behavior> inside <model> applies to that model (it
/// was read only directly under <xmile>).
#[test]
fn a_models_own_behavior_applies_to_it() {
    let text = r#"<?xml version="1.0"?><xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>T</name><vendor>isee systems, inc.</vendor></header>
<sim_specs><start>0</start><stop>3</stop><dt>1</dt></sim_specs>
<model><behavior><non_negative/></behavior><variables>
  <stock name="S"><eqn>10</eqn><outflow>o</outflow></stock>
  <flow name="o"><eqn>6</eqn></flow>
  <flow name="neg"><eqn>-1</eqn></flow>
  <stock name="T"><eqn>0</eqn><inflow>neg</inflow></stock>
</variables></model></xmile>"#;
    let p = parse_xmile(text).unwrap();
    assert_eq!(run_column(&p, "S"), [10.0, 4.0, 0.0, 0.0]);
    assert_eq!(run_column(&p, "o"), [6.0, 4.0, 0.0, 0.0]);
    assert_eq!(run_column(&p, "neg"), [0.0; 4]);
    assert_eq!(run_column(&p, "T"), [0.0; 4]);
}

/// XMILE 1.0 §4.3: a flow's <multiplier> converts units on the way into
/// its downstream stock: 4 units leave upstream, 3 * 4 arrive (it was
/// ignored). The flow reports its own value.
#[test]
fn a_flow_multiplier_scales_what_the_downstream_stock_receives() {
    let vars = r#"<stock name="Up"><eqn>100</eqn><outflow>f</outflow></stock>
        <flow name="f"><eqn>4</eqn><multiplier>3</multiplier></flow>
        <flow name="g"><eqn>1</eqn></flow>
        <stock name="Down"><eqn>0</eqn><inflow>f</inflow><inflow>g</inflow></stock>"#;
    let p = parse_xmile(&doc(STEPS, vars)).unwrap();
    assert_eq!(run_column(&p, "Up"), [100.0, 96.0, 92.0, 88.0]);
    assert_eq!(run_column(&p, "f"), [4.0; 4]);
    assert_eq!(run_column(&p, "Down"), [0.0, 13.0, 26.0, 39.0]);
    let bad = doc(
        STEPS,
        r#"<flow name="f"><eqn>4</eqn><multiplier>three</multiplier></flow>"#,
    );
    let e = parse_xmile(&bad).unwrap_err().to_string();
    assert!(e.contains("multiplier") && e.contains('f'), "{e}");
    // Where the stock would not take exactly flow * multiplier, refused
    // by name: an isee non-negative stock's outflow caps count its inflows
    // as named; a flow arrayed unlike its stock would be summed.
    let isee = |vars: &str| {
        doc(STEPS, vars).replace(
            "<header><name>T</name>",
            "<header><name>T</name><vendor>isee systems, inc.</vendor>",
        )
    };
    let capped = isee(
        r#"<flow name="f"><eqn>4</eqn><multiplier>0.5</multiplier></flow>
        <stock name="Down"><eqn>0</eqn><inflow>f</inflow><outflow>o</outflow><non_negative/></stock>
        <flow name="o"><eqn>3</eqn></flow>"#,
    );
    let e = parse_xmile(&capped).unwrap_err().to_string();
    assert!(e.contains("non-negative") && e.contains('f'), "{e}");
    let wider = r#"<dimensions><dim name="D" size="2"/></dimensions><model>"#;
    let arrayed = doc(
        STEPS,
        r#"<flow name="f"><dimensions><dim name="D"/></dimensions><eqn>4</eqn><multiplier>3</multiplier></flow>
        <stock name="Down"><eqn>0</eqn><inflow>f</inflow></stock>"#,
    )
    .replace("<model>", wider);
    let e = parse_xmile(&arrayed).unwrap_err().to_string();
    assert!(e.contains("arrayed unlike"), "{e}");
}

/// XMILE 1.0 §4.8's own SMOOTH1 macro: the default of `initial` is the
/// call's `input` (it was looked up in the caller, and refused).
#[test]
fn a_macro_default_may_name_an_earlier_parameter() {
    let text = r#"<?xml version="1.0"?><xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>T</name></header>
<sim_specs><start>0</start><stop>3</stop><dt>1</dt></sim_specs>
<model><variables>
  <aux name="inp"><eqn>10 + STEP(10, 2)</eqn></aux>
  <aux name="m"><eqn>SMOOTH1(inp, 2)</eqn></aux>
  <aux name="given"><eqn>SMOOTH1(inp, 2, 0)</eqn></aux>
  <aux name="ref"><eqn>SMTH1(inp, 2)</eqn></aux>
</variables></model>
<macro name="SMOOTH1"><parm>input</parm><parm>averaging_time</parm><parm default="input">initial</parm>
<eqn>Smooth_of_Input</eqn><variables>
  <stock name="Smooth_of_Input"><eqn>initial</eqn><inflow>change_in_smooth</inflow></stock>
  <flow name="change_in_smooth"><eqn>(input - Smooth_of_Input)/averaging_time</eqn></flow>
</variables></macro></xmile>"#;
    let p = parse_xmile(text).unwrap();
    assert_eq!(run_column(&p, "m"), [10.0, 10.0, 10.0, 15.0]);
    assert_eq!(run_column(&p, "m"), run_column(&p, "ref"));
    assert_eq!(run_column(&p, "given"), [0.0, 5.0, 7.5, 13.75]);
}

/// XMILE 1.0 §4.1.3: a named graphical function may be used by reference
/// (`<gf name="rising"/>` in another variable) and, embedded in a
/// variable, called by its own name like a stand-alone one. Both were
/// refused.
#[test]
fn named_graphical_functions_by_reference_and_by_call() {
    let vars = r#"<gf name="rising"><xscale min="0" max="4"/><ypts>0,10,15,20,25</ypts></gf>
        <aux name="by_ref"><eqn>TIME</eqn><gf name="rising"/></aux>
        <aux name="host"><eqn>TIME</eqn><gf name="inner_gf"><xscale min="0" max="4"/><ypts>0,1,2,3,4</ypts></gf></aux>
        <aux name="caller"><eqn>inner_gf(2.5)</eqn></aux>"#;
    let p = parse_xmile(&doc(STEPS, vars)).unwrap();
    assert_eq!(run_column(&p, "by_ref"), [0.0, 10.0, 15.0, 20.0]);
    assert_eq!(run_column(&p, "host"), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(run_column(&p, "caller"), [2.5; 4]);
    let missing = doc(
        STEPS,
        r#"<aux name="x"><eqn>TIME</eqn><gf name="nowhere"/></aux>"#,
    );
    let e = parse_xmile(&missing).unwrap_err().to_string();
    assert!(e.contains("nowhere") && e.contains('x'), "{e}");
    let twice = doc(
        STEPS,
        r#"<aux name="a"><eqn>TIME</eqn><gf name="g"><xscale min="0" max="1"/><ypts>0,1</ypts></gf></aux>
        <aux name="b"><eqn>TIME</eqn><gf name="g"><xscale min="0" max="1"/><ypts>5,6</ypts></gf></aux>"#,
    );
    let e = parse_xmile(&twice).unwrap_err().to_string();
    assert!(e.contains("two graphical functions"), "{e}");
}

/// A quote inside a name is part of it (a public Stella model names a flow
/// `age up to "adult" (S)` and lists it on its stocks as
/// `"age_up_to_\"adult\"_(S)"`): both spellings are one variable, so the
/// stock drains through the flow.
#[test]
fn names_with_quotes_inside_are_one_variable() {
    let vars = r#"<stock name="Children"><eqn>100</eqn><outflow>"age_up_to_\"adult\""</outflow></stock>
<stock name="Adults"><eqn>0</eqn><inflow>"age_up_to_\"adult\""</inflow></stock>
<flow name='age up to "adult"'><eqn>Children / 10</eqn></flow>
<aux name="share"><eqn>"age_up_to_\"adult\"" / Children</eqn></aux>"#;
    let specs = "<sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>";
    let p = parse_xmile(&doc(specs, vars)).unwrap();
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::vm::RunOptions::default())
        .unwrap();
    assert_eq!(r.column("age_up_to_\"adult\""), Some(&[10.0, 9.0][..]));
    assert_eq!(r.column("children"), Some(&[100.0, 90.0][..]));
    assert_eq!(r.column("adults"), Some(&[0.0, 10.0][..]));
    assert_eq!(r.column("share"), Some(&[0.1, 0.1][..]));
}

/// `SIZE(SELF)` in an arrayed variable counts the whole variable's
/// elements (as bptk_py's Stella test models expect: 4 over four
/// countries); elsewhere `SELF` stays the element being computed.
#[test]
fn size_of_self_is_the_whole_array() {
    let text = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header/>
<sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
<dimensions><dim name="C"><elem name="a"/><elem name="b"/><elem name="c"/><elem name="d"/></dim></dimensions>
<model><variables>
<aux name="n"><dimensions><dim name="C"/></dimensions><eqn>SIZE(SELF)</eqn></aux>
<aux name="k"><dimensions><dim name="C"/></dimensions><eqn>PREVIOUS(SELF, 1) + 1</eqn></aux>
</variables></model></xmile>"#;
    let p = parse_xmile(text).unwrap();
    let r = crate::CompiledModel::new(&p, None)
        .unwrap()
        .run(&crate::vm::RunOptions::default())
        .unwrap();
    assert_eq!(r.column("n[a]"), Some(&[4.0, 4.0, 4.0][..]));
    assert_eq!(r.column("n[d]"), Some(&[4.0, 4.0, 4.0][..]));
    assert_eq!(r.column("k[b]"), Some(&[2.0, 3.0, 4.0][..]));
}
