//! Array expansion on small XMILE models: element ranges `a:b`.

use crate::results::Results;
use crate::vm::RunOptions;
use crate::{CompiledModel, Error};

/// XMILE with dimensions D (d1..d5) and N (size 4, elements 1..4), and
/// `vars` as the model's variables; TIME 0..1, DT 1.
fn xmile(vars: &str) -> String {
    format!(
        r#"<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs>
<dimensions>
<dim name="D"><elem name="d1"/><elem name="d2"/><elem name="d3"/><elem name="d4"/><elem name="d5"/></dim>
<dim name="N" size="4"/>
</dimensions>
<model><variables>
<aux name="x"><dimensions><dim name="D"/></dimensions>
<element subscript="d1"><eqn>1</eqn></element><element subscript="d2"><eqn>10</eqn></element>
<element subscript="d3"><eqn>100</eqn></element><element subscript="d4"><eqn>1000</eqn></element>
<element subscript="d5"><eqn>10000</eqn></element></aux>
<aux name="m"><dimensions><dim name="D"/><dim name="N"/></dimensions><eqn>1</eqn></aux>
{vars}
</variables></model></xmile>"#
    )
}

fn compile(vars: &str) -> crate::Result<CompiledModel> {
    let project = crate::load_xmile(&xmile(vars))?;
    CompiledModel::new(&project, None)
}

fn run(vars: &str) -> Results {
    compile(vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .run(&RunOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn value(r: &Results, name: &str) -> f64 {
    r.column(name).unwrap_or_else(|| panic!("no column {name}"))[0]
}

#[test]
fn reductions_over_element_and_position_ranges() {
    let r = run(r#"
<aux name="by_name"><eqn>SUM(x[d2:d4])</eqn></aux>
<aux name="by_position"><eqn>SUM(x[2:4])</eqn></aux>
<aux name="one"><eqn>SUM(x[d3:d3])</eqn></aux>
<aux name="mean_head"><eqn>MEAN(x[1:2])</eqn></aux>
<aux name="max_tail"><eqn>MAX(x[d4:d5])</eqn></aux>
<aux name="size_mid"><eqn>SIZE(x[2:4])</eqn></aux>
<aux name="weighted"><eqn>SUM(x[d1:d2] * 2)</eqn></aux>
<aux name="plain"><eqn>x[d2] + SUM(x[d1:d2])</eqn></aux>
"#);
    assert_eq!(value(&r, "by_name"), 1110.0);
    assert_eq!(value(&r, "by_position"), 1110.0);
    assert_eq!(value(&r, "one"), 100.0);
    assert_eq!(value(&r, "mean_head"), 5.5);
    assert_eq!(value(&r, "max_tail"), 10000.0);
    assert_eq!(value(&r, "size_mid"), 3.0);
    assert_eq!(value(&r, "weighted"), 22.0);
    assert_eq!(value(&r, "plain"), 21.0);
}

/// A range over one dimension of a 2-D array, with the other fixed by the
/// element being computed or by a wildcard.
#[test]
fn ranges_in_two_dimensions() {
    let r = run(r#"
<aux name="rowsum"><dimensions><dim name="D"/></dimensions><eqn>SUM(m[D, 1:3])</eqn></aux>
<aux name="block"><eqn>SUM(m[d2:d3, 2:4])</eqn></aux>
<aux name="cross"><eqn>SUM(m[*, 4:4])</eqn></aux>
<aux name="inside"><dimensions><dim name="D"/></dimensions><eqn>x[D] + SUM(x[d1:d2])</eqn></aux>
"#);
    assert_eq!(value(&r, "rowsum[d4]"), 3.0);
    assert_eq!(value(&r, "block"), 6.0);
    assert_eq!(value(&r, "cross"), 5.0);
    // The range's dimension is rebound inside the SUM, whatever the outer
    // element (d5 lies outside the range).
    assert_eq!(value(&r, "inside[d5]"), 10011.0);
    assert_eq!(value(&r, "inside[d1]"), 12.0);
}

#[test]
fn bad_ranges_are_typed_errors() {
    for (eqn, says) in [
        ("SUM(x[d4:d2])", "backwards"),
        ("SUM(x[0:2])", "not a position"),
        ("SUM(x[2:6])", "not a position"),
        ("SUM(x[d1:e9])", "not an element"),
        ("SUM(x[1.5:2])", "not a position"),
    ] {
        let vars = format!(r#"<aux name="y"><eqn>{eqn}</eqn></aux>"#);
        match compile(&vars) {
            Err(e @ Error::BadSubscript { .. }) => {
                assert!(e.to_string().contains(says), "{eqn}: {e}")
            }
            Err(e) => panic!("{eqn}: expected BadSubscript, got {e:?}"),
            Ok(_) => panic!("{eqn}: compiled"),
        }
    }
    // A range selects several elements: not one value outside a reduction.
    let vars = r#"<aux name="y"><eqn>x[2:3]</eqn></aux>"#;
    assert!(matches!(compile(vars), Err(Error::BadSubscript { .. })));
}

/// A stepwise run reads and sets whole arrayed variables; a bad item
/// leaves every value as it was.
#[test]
fn sim_gets_and_sets_whole_arrays() {
    use crate::vm::{Override, Sim};
    let vars = r#"
<aux name="k"><dimensions><dim name="D"/></dimensions><eqn>2</eqn></aux>
<aux name="twice"><dimensions><dim name="D"/></dimensions><eqn>k * 2</eqn></aux>
<aux name="clock"><dimensions><dim name="D"/></dimensions><eqn>TIME</eqn></aux>
<stock name="s"><dimensions><dim name="N"/></dimensions><eqn>1</eqn><inflow>f</inflow></stock>
<flow name="f"><dimensions><dim name="N"/></dimensions><eqn>1</eqn></flow>
"#;
    let model = std::sync::Arc::new(compile(vars).unwrap());
    let mut sim = Sim::new(model, &RunOptions::default()).unwrap();
    assert_eq!(sim.get_array("k").unwrap(), (vec![5], vec![2.0; 5]));
    assert_eq!(sim.shape("s"), Some(vec![4]));
    assert_eq!(sim.shape("k[d1]"), None);

    sim.set_values(&[("k".into(), Override::Array(vec![1.0, 2.0, 3.0, 4.0, 5.0]))])
        .unwrap();
    assert_eq!(
        sim.get_array("twice").unwrap().1,
        vec![2.0, 4.0, 6.0, 8.0, 10.0]
    );
    sim.set_value("s", 7.0).unwrap();
    assert_eq!(sim.get_array("s").unwrap().1, vec![7.0; 4]);

    for bad in [
        vec![
            ("k".to_string(), Override::Value(0.0)),
            ("k".to_string(), Override::Array(vec![1.0, 2.0])),
        ],
        vec![
            ("k".to_string(), Override::Value(0.0)),
            ("clock".to_string(), Override::Value(3.0)),
        ],
        vec![("k".to_string(), Override::Table(vec![(0.0, 1.0)]))],
    ] {
        let err = sim.set_values(&bad).unwrap_err();
        assert!(matches!(err, Error::BadOverride { .. }), "{err:?}");
        assert_eq!(sim.get_array("k").unwrap().1, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    }
    assert!(matches!(
        sim.get_array("nothing"),
        Err(Error::UnknownOutput { .. })
    ));
    sim.run_to_end().unwrap();
    assert_eq!(sim.get_array("s").unwrap().1, vec![8.0; 4]);
}

#[test]
fn a_dimension_name_is_the_element_position() {
    let r = run(
        r#"<aux name="pos"><dimensions><dim name="D"/></dimensions><eqn>100 + D</eqn></aux>
<aux name="grid"><dimensions><dim name="D"/><dim name="N"/></dimensions><eqn>10 * D + N</eqn></aux>
<aux name="total"><eqn>SUM(pos[*])</eqn></aux>"#,
    );
    assert_eq!(value(&r, "pos[d1]"), 101.0);
    assert_eq!(value(&r, "pos[d5]"), 105.0);
    assert_eq!(value(&r, "grid[d3,3]"), 33.0);
    assert_eq!(value(&r, "total"), 515.0);
    // Outside an arrayed equation a dimension has no single element.
    let e = compile(r#"<aux name="bad"><eqn>D * 2</eqn></aux>"#).expect_err("scalar use");
    assert!(e.to_string().contains("'d'"), "{e}");
}
