//! Vensim array functions (VECTOR SELECT, ...) on small `.mdl` models,
//! against values from the SDXorg references' `output.tab`.

use super::tests_vensim::{check, TAB};
use crate::results::Results;
use crate::vm::RunOptions;
use crate::CompiledModel;

/// Compile and run `.mdl` equations with TIME 0..`stop`, DT 1.
pub(super) fn run_mdl(equations: &str, stop: f64) -> Results {
    let text = format!(
        "{{UTF-8}}\n{equations}\nFINAL TIME = {stop}\n~~|\nINITIAL TIME = 0\n~~|\n\
         SAVEPER = TIME STEP\n~~|\nTIME STEP = 1\n~~|\n"
    );
    let project = crate::load_mdl(&text).unwrap();
    CompiledModel::new(&project, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap()
}

const SELECT_INPUTS: &str = "
dim1: (A1-A5) ~~|
dim2: (B1-B4) ~~|
input1[dim1] = -0.5,-1.2,0.3,-1,1 ~~|
input1b[dim1] = 0.5,1.2,0.3,1,1 ~~|
input2[dim2] = 0.5,1.2,0.3,-1 ~~|
input4[dim1,dim2] = 1,2,3,4; 4,3,2,1; 0,-1,2,-1; 0.5,0.4,0.3,0.2; 4,-3,2,-1; ~~|
sel[dim1] = 1,0.3,-1,0.5,1 ~~|
none[dim1] = 0 ~~|
selm[dim1,dim2] = 1,2,3,4; 1,1,1,1; -1,-1,2,3; 1,2,3,4; 1,1,-2,-3; ~~|
percol[dim1,dim2] = -3,0,0,0; 0,0,4,0; 0,0,0,3; 0,1,0,0; 0,-1,0,0; ~~|
";

/// SDXorg `vector_select`: actions 0..=4 weight by the selection, 6..=10
/// do not, 5 is the product of `expression ^ selection`; slices over
/// different dimensions pair as a cartesian product; `d!` beside a plain
/// `d` the element fixes is a separate range; nothing selected gives the
/// missing value.
#[test]
fn vector_select_matches_reference() {
    let eqs = format!(
        "{SELECT_INPUTS}
a = VECTOR SELECT(sel[dim1!], input1[dim1!], -12345, Time, 0) ~~|
a0 = VECTOR SELECT(sel[dim1!], input1[dim1!], -12345, Time+6, 0) ~~|
a1 = VECTOR SELECT(sel[dim1!], input1b[dim1!], -12345, 5, 0) ~~|
a2 = VECTOR SELECT(sel[dim1!], input2[dim2!], -12345, Time, 0) ~~|
c = VECTOR SELECT(none[dim1!], input1[dim1!], -12345, Time, 0) ~~|
f2[dim2] = VECTOR SELECT(selm[dim1!,dim2], input2[dim2!], -12345, Time, 0) ~~|
h4[dim1,dim2] = VECTOR SELECT(percol[dim1!,dim2], input4[dim1,dim2!], -12345, Time, 0) ~~|
"
    );
    let r = run_mdl(&eqs, 4.0);
    let at = |vals: [f64; 5]| -> Vec<(f64, f64)> {
        vals.iter()
            .enumerate()
            .map(|(t, v)| (t as f64, *v))
            .collect()
    };
    check(&r, "a", TAB, &at([-0.66, 0.027, -0.5, 1.0, -0.132]));
    check(&r, "a0", TAB, &at([-1.4, -0.18, -1.2, 1.0, -0.28]));
    check(&r, "a1", TAB, &[(0.0, 1.76037)]);
    check(&r, "a2", TAB, &at([1.8, -9.56594e-08, -1.2, 1.2, 0.09]));
    check(&r, "c", TAB, &at([-12345.0; 5]));
    check(&r, "f2[B4]", TAB, &at([9.0, -81248.0, -4.0, 4.8, 0.45]));
    check(&r, "h4[A4,B3]", TAB, &at([5.6, 3.072, 0.8, 2.0, 1.4]));
}

/// SDXorg `invert_matrix`: 2x2 and 3x3 inverses, with a leading dimension
/// the element fixes.
#[test]
fn invert_matrix_matches_reference() {
    let eqs = "
c: E, F ~~|
d: A, B ~~|
d1: A, B ~~|
dim1: h, m, l ~~|
dim2: h, m, l ~~|
m2[E,d,d1] = 3, 3.5; 3.2, 3.6; ~~|
m2[F,d,d1] = 0.6, -0.7; -0.2, 0.4; ~~|
m2i[c,d,d1] = INVERT MATRIX(m2[c,d,d1], 2) ~~|
m3[A,dim1,dim2] = 3, 0, 2; 2, 0, -2; 0, 1, 1; ~~|
m3[B,dim1,dim2] = 1, 0, 5; 2, 1, 5; 3, 4, 0; ~~|
m3i[d,dim1,dim2] = INVERT MATRIX(m3[d,dim1,dim2], 3) ~~|
";
    let r = run_mdl(eqs, 1.0);
    let expect = [
        ("m2i[E,A,A]", -8.99999),
        ("m2i[E,A,B]", 8.74999),
        ("m2i[E,B,A]", 7.99999),
        ("m2i[F,B,B]", 6.0),
        ("m3i[A,h,h]", 0.2),
        ("m3i[A,m,l]", 1.0),
        ("m3i[A,l,m]", -0.3),
        ("m3i[B,h,h]", -4.0),
        ("m3i[B,h,m]", 4.0),
        ("m3i[B,m,l]", 1.0),
        ("m3i[B,l,m]", -0.8),
    ];
    for (name, v) in expect {
        check(&r, name, TAB, &[(0.0, v), (1.0, v)]);
    }
}

/// Vensim inverts the argument variable's whole matrix: `m[d, d]`, as
/// SDEverywhere's `invertmatrixio` model writes it (a 42-sector
/// input-output table, `INVERT MATRIX(T[Source, Source], ELMCOUNT(ISIC))`),
/// is `m` over its own two dimensions, not its diagonal.
#[test]
fn invert_matrix_of_repeated_dimension_reads_the_whole_matrix() {
    let eqs = "
dim1: h, m, l ~~|
dim2: h, m, l ~~|
m3[dim1,dim2] = 3, 0, 2; 2, 0, -2; 0, 1, 1; ~~|
whole[dim1,dim2] = INVERT MATRIX(m3[dim1,dim1], ELMCOUNT(dim1)) ~~|
";
    let r = run_mdl(eqs, 0.0);
    for (name, v) in [
        ("whole[h,h]", 0.2),
        ("whole[h,m]", 0.2),
        ("whole[m,l]", 1.0),
        ("whole[l,m]", -0.3),
    ] {
        check(&r, name, TAB, &[(0.0, v)]);
    }
}

/// A singular matrix has no inverse: NaN rather than a panic.
#[test]
fn singular_matrix_inverts_to_nan() {
    use crate::compile::vector_fns::invert_matrix_element;
    assert!(invert_matrix_element(&[0.0, 0.0, 1.0, 2.0, 2.0, 4.0]).is_nan());
    assert!(invert_matrix_element(&[0.0, 0.0, 1.0, 2.0, 3.0]).is_nan());
    assert_eq!(invert_matrix_element(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]), 1.0);
}

const ALLOCATE_INPUTS: &str = "
branch: Boston, Dayton, Fresno ~~|
pprofile: ptype, ppriority, pwidth, pextra ~~|
demand[branch] = 500, 300, 750 ~~|
available = 20 * Time ~~|
p1[branch,pprofile] = 1,5,2,0; 1,7,4,0; 1,3,4,0; ~~|
p2[branch,pprofile] = 2,5,2,0; 2,7,4,0; 2,3,4,0; ~~|
p3[branch,pprofile] = 3,5,1,0; 3,7,2,0; 3,3,2,0; ~~|
p4[branch,pprofile] = 4,5,1,0; 4,7,2,0; 4,3,2,0; ~~|
";

/// SDXorg `allocate_available` (TIME STEP 4): rectangular (full width) and
/// triangular (base = width) profiles to the reference's precision; normal
/// (sd = width) and Laplace (scale = width) within 0.1%, since Vensim's
/// search for the common priority stops short (its shares add up to the
/// supply only within about 1e-5).
#[test]
fn allocate_available_matches_reference() {
    let eqs = format!(
        "{ALLOCATE_INPUTS}
a1[branch] = ALLOCATE AVAILABLE(demand[branch], p1[branch,ptype], available) ~~|
a2[branch] = ALLOCATE AVAILABLE(demand[branch], p2[branch,ptype], available) ~~|
a3[branch] = ALLOCATE AVAILABLE(demand[branch], p3[branch,ptype], available) ~~|
a4[branch] = ALLOCATE AVAILABLE(demand[branch], p4[branch,ptype], available) ~~|
"
    );
    let text = format!(
        "{{UTF-8}}\n{eqs}\nFINAL TIME = 100\n~~|\nINITIAL TIME = 0\n~~|\n\
         SAVEPER = TIME STEP\n~~|\nTIME STEP = 4\n~~|\n"
    );
    let project = crate::load_mdl(&text).unwrap();
    let r = CompiledModel::new(&project, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    check(&r, "a1[Boston]", TAB, &[(12.0, 11.5385), (28.0, 255.714)]);
    check(&r, "a1[Dayton]", TAB, &[(4.0, 80.0), (16.0, 246.923)]);
    check(&r, "a1[Fresno]", TAB, &[(28.0, 4.28571), (100.0, 750.0)]);
    check(&r, "a2[Boston]", 1e-4, &[(16.0, 34.7498), (44.0, 498.798)]);
    check(&r, "a2[Fresno]", 1e-4, &[(40.0, 36.0615)]);
    check(&r, "a3[Dayton]", 1e-3, &[(4.0, 76.7926), (24.0, 234.227)]);
    check(&r, "a3[Fresno]", 1e-3, &[(40.0, 175.768)]);
    check(&r, "a4[Boston]", 1e-3, &[(20.0, 99.9995), (48.0, 429.507)]);
    check(&r, "a4[Fresno]", 1e-3, &[(4.0, 19.0223)]);
}

/// SDXorg `allocate_by_priority` (TIME STEP 0.25): a rectangular profile
/// of full width `width` around each priority; the request dimension is
/// the request's last subscript, others follow the element computed.
#[test]
fn allocate_by_priority_matches_reference() {
    let eqs = "
dim: A, B, C ~~|
dim2: A, B, C, D, E ~~|
demands1[dim] = 10, 6, 3 ~~|
priorities1[dim] = 2, 4, 3 ~~|
a1[dim] = ALLOCATE BY PRIORITY(demands1[dim], priorities1[dim], ELMCOUNT(dim), 3, Time) ~~|
demands2D[dim,dim2] = 6, 3, 3, 3, 1; 8, 1, 3, 4, 0; 0.6, 0, 3, 3, 1; ~~|
priorities2D[dim,dim2] = 1,10,2,1,0; 5,3,0,1.5,4; 7,-2,3,4,0.5; ~~|
widths[dim] = 2, 3, 3 ~~|
supply[A] = Time ~~|
supply[B] = 10 + Time ~~|
supply[C] = Time / 2 + 1 ~~|
a2D[dim,dim2] = ALLOCATE BY PRIORITY(demands2D[dim,dim2], priorities2D[dim,dim2], ELMCOUNT(dim2), widths[dim], supply[dim]) ~~|
";
    let text = format!(
        "{{UTF-8}}\n{eqs}\nFINAL TIME = 20\n~~|\nINITIAL TIME = 0\n~~|\n\
         SAVEPER = TIME STEP\n~~|\nTIME STEP = 0.25\n~~|\n"
    );
    let project = crate::load_mdl(&text).unwrap();
    let r = CompiledModel::new(&project, None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    check(&r, "a1[A]", TAB, &[(5.25, 0.131579), (11.5, 3.46154)]);
    check(&r, "a1[B]", TAB, &[(2.25, 2.16667), (11.5, 6.0)]);
    check(&r, "a1[C]", TAB, &[(2.25, 0.0833333), (12.0, 2.15385)]);
    check(&r, "a2D[A,C]", TAB, &[(4.75, 1.5625)]);
    check(&r, "a2D[C,C]", TAB, &[(10.25, 2.51875)]);
    check(&r, "a2D[C,E]", TAB, &[(11.75, 0.275)]);
}

/// SDXorg `vector_order` at t=0 (its revenues come from GET DIRECT DATA,
/// so the values are written out): 0-based sort order, 1-based rank,
/// reorder by the sort order, over a dimension mapped to a sorted one and
/// along the last subscript of a 2-d vector.
#[test]
fn vector_order_functions_match_reference() {
    let eqs = "
company: (company1-company5) -> scompany ~~|
scompany: (sort1-sort5) -> company ~~|
region: A, B ~~|
revenue[company] = -25, 18, 27, -2, 2 ~~|
order[scompany] = VECTOR SORT ORDER(revenue[company], 1) ~~|
order_neg[scompany] = VECTOR SORT ORDER(revenue[company], 0) ~~|
rank[company] = VECTOR RANK(revenue[company], 1) ~~|
rank_neg[company] = VECTOR RANK(revenue[company], 0) ~~|
order_minus[scompany] = VECTOR SORT ORDER(revenue[company], -1) ~~|
rank_minus[company] = VECTOR RANK(revenue[company], -0.5) ~~|
rank_half[company] = VECTOR RANK(revenue[company], 0.5) ~~|
sorted[scompany] = VECTOR REORDER(revenue[company], order[scompany]) ~~|
m[region,company] = 3, 1, 2, 5, 4; 1, 1, 0, 9, 7; ~~|
m_rank[region,company] = VECTOR RANK(m[region,company], 1) ~~|
next[company] = VECTOR ELM MAP(revenue[company1], 1) ~~|
";
    let r = run_mdl(eqs, 0.0);
    let col = |prefix: &str, elems: &[&str], want: &[f64]| {
        for (e, w) in elems.iter().zip(want) {
            check(&r, &format!("{prefix}[{e}]"), TAB, &[(0.0, *w)]);
        }
    };
    let sorts = ["sort1", "sort2", "sort3", "sort4", "sort5"];
    let cos = ["company1", "company2", "company3", "company4", "company5"];
    col("order", &sorts, &[0.0, 3.0, 4.0, 1.0, 2.0]);
    col("order_neg", &sorts, &[2.0, 1.0, 4.0, 3.0, 0.0]);
    col("rank", &cos, &[1.0, 4.0, 5.0, 2.0, 3.0]);
    col("rank_neg", &cos, &[5.0, 2.0, 1.0, 4.0, 3.0]);
    // Vensim: a direction greater than 0 sorts ascending, any other
    // (negative too) descending.
    col("order_minus", &sorts, &[2.0, 1.0, 4.0, 3.0, 0.0]);
    col("rank_minus", &cos, &[5.0, 2.0, 1.0, 4.0, 3.0]);
    col("rank_half", &cos, &[1.0, 4.0, 5.0, 2.0, 3.0]);
    col("sorted", &sorts, &[-25.0, -2.0, 2.0, 18.0, 27.0]);
    col(
        "m_rank",
        &["B,company1", "B,company2", "B,company3"],
        &[2.0, 3.0, 1.0],
    );
    check(&r, "next[company3]", TAB, &[(0.0, 18.0)]);
}

/// VECTOR LOOKUP reads its table from a (possibly changing) array along
/// the last subscript: y values at evenly spaced x from xmin to xmax.
#[test]
fn vector_lookup_reads_a_table_from_an_array() {
    let eqs = "
s: (s1-s3) ~~|
r: (r1-r2) ~~|
lv[s] = 0, 2, 3 ~~|
tab[r, s] = 0, 2, 3; 10, 20, 40 ~~|
grow[s] = lv[s] * Time ~~|
y = VECTOR LOOKUP(lv[s1], Time / 2, 0, 2, 0) ~~|
extra = VECTOR LOOKUP(lv[s1], Time - 1, 0, 2, 3) ~~|
area = VECTOR LOOKUP(lv[s1], Time / 2, 0, 2, 1) ~~|
inv = VECTOR LOOKUP(lv[s1], Time / 2, 0, 2, 5) ~~|
rows[r] = VECTOR LOOKUP(tab[r, s1], 1.5, 0, 2, 0) ~~|
moving = VECTOR LOOKUP(grow[s1], 1, 0, 2, 0) ~~|
";
    let r = run_mdl(eqs, 4.0);
    let series = |v: [f64; 5]| -> Vec<(f64, f64)> {
        v.iter().enumerate().map(|(t, x)| (t as f64, *x)).collect()
    };
    check(&r, "y", TAB, &series([0.0, 1.0, 2.0, 2.5, 3.0]));
    check(&r, "extra", TAB, &series([-2.0, 0.0, 2.0, 3.0, 4.0]));
    check(&r, "area", TAB, &series([0.0, 0.25, 1.0, 2.125, 3.5]));
    check(&r, "inv", TAB, &series([0.0, 0.25, 0.5, 0.75, 1.0]));
    check(&r, "rows[r1]", TAB, &series([2.5; 5]));
    check(&r, "rows[r2]", TAB, &series([30.0; 5]));
    // The table is the array's current value: 2 * Time at x = 1.
    check(&r, "moving", TAB, &series([0.0, 2.0, 4.0, 6.0, 8.0]));
}

/// Vensim reads VECTOR LOOKUP's vector from the element given: anything
/// but the first element is a typed error, as is a scalar argument.
#[test]
fn vector_lookup_rejects_a_vector_not_starting_at_its_first_element() {
    let compile = |eq: &str| {
        let text = format!(
            "{{UTF-8}}\ns: (s1-s3) ~~|\nlv[s] = 0, 2, 3 ~~|\nk = 1 ~~|\n{eq} ~~|\n\
             FINAL TIME = 1\n~~|\nINITIAL TIME = 0\n~~|\nSAVEPER = 1\n~~|\nTIME STEP = 1\n~~|\n"
        );
        let project = crate::load_mdl(&text).expect("parses");
        CompiledModel::new(&project, None).map(|_| ())
    };
    assert!(compile("y = VECTOR LOOKUP(lv[s1], 1, 0, 2, 0)").is_ok());
    for bad in [
        "y = VECTOR LOOKUP(lv[s2], 1, 0, 2, 0)",
        "y = VECTOR LOOKUP(k, 1, 0, 2, 0)",
        "y = VECTOR LOOKUP(lv[s1], 1, 0, 2)",
    ] {
        let err = compile(bad).expect_err(bad);
        assert!(
            matches!(
                err,
                crate::Error::BadSubscript { .. } | crate::Error::WrongArgumentCount { .. }
            ),
            "{bad}: {err:?}"
        );
    }
    let err = compile("y = VECTOR LOOKUP(lv[s2], 1, 0, 2, 0)").expect_err("s2");
    assert!(err.to_string().contains("first element"), "{err}");
}

/// Array builtins read the whole vector per element, as one call's
/// arguments: vectors and matrices past the old 255-argument limit work,
/// and past the new bound the error names the variable.
#[test]
fn array_builtins_take_long_vectors_and_larger_matrices() {
    let n = 400;
    let eqs = format!(
        "e: (e1-e{n}) ~~|
v[e] = MODULO(e * 37, {p}) ~~|
order[e] = VECTOR SORT ORDER(v[e], 1) ~~|
rank[e] = VECTOR RANK(v[e], 1) ~~|
r: (r1-r20) ~~|
c: (c1-c20) ~~|
a[r, c] = IF THEN ELSE(r = c, 4, 1 / (r + c)) ~~|
ai[r, c] = INVERT MATRIX(a[r, c], 20) ~~|
",
        p = n + 1
    );
    let r = run_mdl(&eqs, 0.0);
    let col = |name: &str| -> f64 {
        let i = r.names.iter().position(|x| x == name).unwrap();
        r.columns[i][0]
    };
    let v: Vec<f64> = (1..=n).map(|k| col(&format!("v[e{k}]"))).collect();
    // Sort order: offsets of the elements in ascending order of value.
    let sorted: Vec<f64> = (1..=n)
        .map(|k| v[col(&format!("order[e{k}]")) as usize])
        .collect();
    let mut want = v.clone();
    want.sort_by(f64::total_cmp);
    assert_eq!(sorted, want);
    // Distinct values: ranks are 1..=n, each once.
    let mut ranks: Vec<usize> = (1..=n)
        .map(|k| col(&format!("rank[e{k}]")) as usize)
        .collect();
    ranks.sort_unstable();
    assert_eq!(ranks, (1..=n).collect::<Vec<_>>());
    // A times its inverse is the identity.
    for (i, j) in [(1, 1), (1, 2), (7, 13), (20, 20), (20, 3)] {
        let dot: f64 = (1..=20)
            .map(|k| col(&format!("a[r{i},c{k}]")) * col(&format!("ai[r{k},c{j}]")))
            .sum();
        let id = if i == j { 1.0 } else { 0.0 };
        assert!((dot - id).abs() < 1e-12, "({i},{j}): {dot}");
    }
}

#[test]
fn array_builtins_past_the_argument_bound_are_typed_errors() {
    use crate::compile::program::MAX_CALL_ARGS;
    let n = MAX_CALL_ARGS;
    let text = format!(
        "{{UTF-8}}\ne: (e1-e{n}) ~~|\nv[e] = e ~~|\norder[e] = VECTOR SORT ORDER(v[e], 1) ~~|\n\
         s: (s1-s33) ~~|\nt: (t1-t33) ~~|\n"
    );
    let project = crate::load_mdl(&text).unwrap();
    match CompiledModel::new(&project, None) {
        Err(crate::Error::BadSubscript { variable, message }) => {
            assert!(variable.starts_with("order["), "{variable}");
            assert!(message.contains(&n.to_string()), "{message}");
        }
        other => panic!("expected BadSubscript, got {:?}", other.map(|_| ())),
    }
    let text = "{UTF-8}\ns: (s1-s46) ~~|\nt: (t1-t46) ~~|\nm[s, t] = 1 ~~|\n\
                mi[s, t] = INVERT MATRIX(m[s, t], 46) ~~|\n";
    let project = crate::load_mdl(text).unwrap();
    match CompiledModel::new(&project, None) {
        Err(crate::Error::BadSubscript { variable, message }) => {
            assert!(variable.starts_with("mi["), "{variable}");
            assert!(message.contains("45"), "{message}");
        }
        other => panic!("expected BadSubscript, got {:?}", other.map(|_| ())),
    }
}

/// isee ALLOCATE(available, r, requests, priorities, width, type) is
/// Vensim's ALLOCATE AVAILABLE with the profile given argument by argument
/// (SDEverywhere's `allocate` model is written both ways): for every
/// profile type, integer or not, over a supply ramping from 0 to 10, the
/// Stella form gives the Vensim form's shipments up to Vensim's own
/// details (its search stops within 1e-6 of the total request, its normal
/// curve is an approximation), and uses up the supply exactly.
#[test]
fn isee_allocate_is_allocate_available_with_the_profile_spread_out() {
    for ptype in [0, 1, 2, 3, 4, 5, 11] {
        let mdl = format!(
            "{{UTF-8}}
region: Boston, Dayton, Fresno ~~|
XPriority: ptype, ppriority, pwidth, pextra ~~|
demand[region] = 3, 2, 4 ~~|
priority[region] = 1, 2, 3 ~~|
pv[region, ptype] = {ptype} ~~|
pv[region, ppriority] = priority[region] ~~|
pv[region, pwidth] = 1.5 ~~|
pv[region, pextra] = 2 ~~|
supply = TIME ~~|
shipments[region] = ALLOCATE AVAILABLE(demand[region], pv[region, ptype], supply) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 10 ~~|
TIME STEP = 0.5 ~~|
"
        );
        let xml = format!(
            r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
            <sim_specs><start>0</start><stop>10</stop><dt>0.5</dt></sim_specs>
            <dimensions><dim name="region"><elem name="Boston"/><elem name="Dayton"/><elem name="Fresno"/></dim>
              <dim name="XPriority"><elem name="ptype"/><elem name="ppriority"/><elem name="pwidth"/><elem name="pextra"/></dim></dimensions>
            <model><variables>
              <aux name="demand"><dimensions><dim name="region"/></dimensions>
                <element subscript="Boston"><eqn>3</eqn></element><element subscript="Dayton"><eqn>2</eqn></element><element subscript="Fresno"><eqn>4</eqn></element></aux>
              <aux name="pv"><dimensions><dim name="region"/><dim name="XPriority"/></dimensions>
                <element subscript="Boston, ptype"><eqn>{ptype}</eqn></element><element subscript="Boston, ppriority"><eqn>1</eqn></element>
                <element subscript="Boston, pwidth"><eqn>1.5</eqn></element><element subscript="Boston, pextra"><eqn>2</eqn></element>
                <element subscript="Dayton, ptype"><eqn>{ptype}</eqn></element><element subscript="Dayton, ppriority"><eqn>2</eqn></element>
                <element subscript="Dayton, pwidth"><eqn>1.5</eqn></element><element subscript="Dayton, pextra"><eqn>2</eqn></element>
                <element subscript="Fresno, ptype"><eqn>{ptype}</eqn></element><element subscript="Fresno, ppriority"><eqn>3</eqn></element>
                <element subscript="Fresno, pwidth"><eqn>1.5</eqn></element><element subscript="Fresno, pextra"><eqn>2</eqn></element></aux>
              <aux name="supply"><eqn>TIME</eqn></aux>
              <aux name="shipments"><dimensions><dim name="region"/></dimensions>
                <eqn>ALLOCATE(supply, region, demand, pv[*, ppriority], pv[region, pwidth], pv[region, ptype], pv[region, pextra])</eqn></aux>
            </variables></model></xmile>"#
        );
        let run = |p: crate::Project| {
            CompiledModel::new(&p, None)
                .unwrap()
                .run(&RunOptions::default())
                .unwrap()
        };
        let vensim = run(crate::load_mdl(&mdl).unwrap());
        let stella = run(crate::load_xmile(&xml).unwrap());
        // The normal approximation's error reaches 1e-5 of a request.
        let tolerance = if ptype == 3 { 1e-4 } else { 1e-5 };
        let mut used = [0.0; 21];
        for e in ["Boston", "Dayton", "Fresno"] {
            let name = format!("shipments[{e}]");
            let (v, s) = (vensim.column(&name).unwrap(), stella.column(&name).unwrap());
            let close = v
                .iter()
                .zip(s)
                .all(|(a, b)| a.to_bits() == b.to_bits() || (a - b).abs() <= tolerance);
            assert!(close, "type {ptype}, {name}: {v:?} vs {s:?}");
            used.iter_mut().zip(s).for_each(|(u, x)| *u += x);
        }
        if [1, 2, 3, 4].contains(&ptype) {
            // Supply 0.5 * step, short of the total request 9 until t = 9.
            for (step, u) in used.iter().enumerate().take(18) {
                let supply = step as f64 * 0.5;
                assert!(
                    (u - supply).abs() <= 1e-12 * 9.0,
                    "type {ptype}: {u} vs {supply}"
                );
            }
        }
        // Not all zero: the supply is shared out.
        let last = vensim.column("shipments[Boston]").unwrap();
        assert!(last.iter().any(|&x| x > 0.0), "type {ptype}");
    }
}

/// Stella's own run of SDEverywhere's `allocate.stmx` (normal profiles of
/// width 1 at priorities 1, 2, 3; requests 3, 2, 4; a supply ramping from
/// 0 to 10 over 12 months, DT 0.125), from Stella's CSV export: isee's
/// ALLOCATE uses the exact normal curve and shares out the whole supply.
/// (Vensim's approximate curve gives Boston 1.1536e-4 at t = 0.125.)
#[test]
fn isee_allocate_matches_stellas_run() {
    let xml = r#"<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"><header><vendor>isee systems, inc.</vendor></header>
        <sim_specs><start>0</start><stop>12</stop><dt>0.125</dt></sim_specs>
        <dimensions><dim name="region"><elem name="Boston"/><elem name="Dayton"/><elem name="Fresno"/></dim></dimensions>
        <model><variables>
          <aux name="demand"><dimensions><dim name="region"/></dimensions>
            <element subscript="Boston"><eqn>3</eqn></element><element subscript="Dayton"><eqn>2</eqn></element><element subscript="Fresno"><eqn>4</eqn></element></aux>
          <aux name="priority"><dimensions><dim name="region"/></dimensions>
            <element subscript="Boston"><eqn>1</eqn></element><element subscript="Dayton"><eqn>2</eqn></element><element subscript="Fresno"><eqn>3</eqn></element></aux>
          <aux name="supply"><eqn>10 * (TIME - STARTTIME) / (STOPTIME - STARTTIME)</eqn></aux>
          <aux name="shipments"><dimensions><dim name="region"/></dimensions>
            <eqn>ALLOCATE(supply, region, demand, priority[*], 1, 3)</eqn></aux>
        </variables></model></xmile>"#;
    let r = CompiledModel::new(&crate::load_xmile(xml).unwrap(), None)
        .unwrap()
        .run(&RunOptions::default())
        .unwrap();
    // (time, Boston, Dayton, Fresno) as Stella exported them.
    let stella = [
        (0.125, 0.000114333364374, 0.00311679534585, 0.100935541148),
        (0.25, 0.000400459788846, 0.00815936977946, 0.199773498545),
        (1.0, 0.00611191557863, 0.0611613703937, 0.766059967657),
        (3.0, 0.0768714945179, 0.342417161263, 2.08071132041),
        (6.0, 0.523821731178, 1.05093898755, 3.42523929389),
        (10.0, 2.40649689121, 1.93559733419, 3.99123915105),
        (10.75, 2.95969525188, 1.99868828181, 3.99994968981),
        (12.0, 3.0, 2.0, 4.0),
    ];
    for (t, boston, dayton, fresno) in stella {
        let i = r.times.iter().position(|&x| x == t).unwrap();
        for (e, want) in [("Boston", boston), ("Dayton", dayton), ("Fresno", fresno)] {
            let got = r.column(&format!("shipments[{e}]")).unwrap()[i];
            // Stella's export carries single-precision noise (its totals
            // miss the supply by up to 3e-8 relative).
            assert!(
                (got - want).abs() <= 1e-6 * want.abs() + 1e-12,
                "{e} at {t}: {got} vs Stella {want}"
            );
        }
    }
}

/// SDEverywhere's `allocate_price` model (two demanders, three suppliers,
/// one market per curve type) against Vensim's run of it at the whole
/// times: FIND MARKET PRICE clears each market, SUPPLY AT PRICE and DEMAND
/// AT PRICE read the curves at that price; fixed quantities (type 0)
/// ignore the price. With no demand (t = 0) the price is the low end of
/// the search (0.5 rectangular, -4 normal, -9 exponential). Six digits in
/// the reference, and Vensim stops its search within about 1e-6 of the
/// supply: compared to 1e-4 relative, the scoring rule.
#[test]
fn market_price_functions_match_vensim() {
    let eqs = "
pprofile : ptype, ppriority, pwidth, pextra ~~|
priority curve: fixed, rectangular, triangular, normal, exponential ~~|
demander : (d1-d2) ~~|
supplier : (s1-s3) ~~|
dpv[priority curve,demander,ptype] = 0,0; 1,1; 2,2; 3,3; 4,4; ~~|
dpv[priority curve,demander,ppriority] = 1,2; 1,2; 1,2; 1,2; 1,2; ~~|
dpv[priority curve,demander,pwidth] = 1 ~~|
dpv[priority curve,demander,pextra] = 0 ~~|
demand satiation[priority curve,demander] = Time / 12 * reference demand[demander] ~~|
reference demand[demander] = 500, 300 ~~|
spv[priority curve,supplier,ptype] = 0,0,0; 1,1,1; 2,2,2; 3,3,3; 4,4,4; ~~|
spv[priority curve,supplier,ppriority] = 1,2,3; 1,2,3; 1,2,3; 1,2,3; 1,2,3; ~~|
spv[priority curve,supplier,pwidth] = 1 ~~|
spv[priority curve,supplier,pextra] = 0 ~~|
supply capacity[priority curve,supplier] = 200,300,450; 200,300,450; 200,300,450; 200,300,450; 200,300,450; ~~|
market price[priority curve] = FIND MARKET PRICE(demand satiation[priority curve,d1],
  dpv[priority curve,d1,ptype], supply capacity[priority curve,s1], spv[priority curve,s1,ptype]) ~~|
amount supplied[priority curve,supplier] = SUPPLY AT PRICE(supply capacity[priority curve,supplier],
  spv[priority curve,supplier,ptype], market price[priority curve]) ~~|
amount demanded[priority curve,demander] = DEMAND AT PRICE(demand satiation[priority curve,demander],
  dpv[priority curve,demander,ptype], market price[priority curve]) ~~|
";
    let r = run_mdl(eqs, 12.0);
    let at = |vals: [f64; 6]| -> Vec<(f64, f64)> {
        [0.0, 1.0, 3.0, 6.0, 9.0, 12.0]
            .into_iter()
            .zip(vals)
            .collect()
    };
    const TOL: f64 = 1e-4;
    let expect: [(&str, [f64; 6]); 9] = [
        (
            "market_price[rectangular]",
            [0.5, 0.775862, 1.11538, 1.38889, 1.54762, 1.66667],
        ),
        (
            "market_price[normal]",
            [-4.0, 0.22617, 0.862828, 1.28018, 1.52322, 1.69346],
        ),
        (
            "market_price[exponential]",
            [-9.0, -0.152467, 0.730247, 1.18737, 1.47381, 1.67861],
        ),
        (
            "amount_supplied[triangular,s1]",
            [0.0, 55.172, 123.077, 177.778, 200.0, 200.0],
        ),
        (
            "amount_supplied[rectangular,s2]",
            [0.0, 0.0, 0.0, 0.0, 14.286, 50.0001],
        ),
        (
            "amount_supplied[exponential,s3]",
            [0.00138245, 9.61797, 23.251, 36.7255, 48.9064, 60.0217],
        ),
        (
            "amount_demanded[normal,d2]",
            [0.0, 24.0488, 65.4207, 114.626, 153.727, 186.12],
        ),
        (
            "amount_demanded[fixed,d1]",
            [0.0, 41.6667, 125.0, 250.0, 375.0, 500.0],
        ),
        ("amount_supplied[fixed,s3]", [450.0; 6]),
    ];
    for (name, vals) in expect {
        check(&r, name, TOL, &at(vals));
    }
    // A market of fixed quantities has no price that clears it.
    assert!(r
        .column("market_price[fixed]")
        .is_some_and(|c| c.iter().all(|v| v.is_nan())));
}

/// The market functions name the variable when an argument cannot be
/// read as Vensim requires.
#[test]
fn market_price_functions_reject_unsubscripted_arguments() {
    let mdl = "{UTF-8}
pprofile : ptype, ppriority, pwidth, pextra ~~|
d : d1, d2 ~~|
q[d] = 1, 2 ~~|
pv[d, pprofile] = 1 ~~|
m = FIND MARKET PRICE(7, pv[d1, ptype], q[d1], pv[d1, ptype]) ~~|
s[d] = SUPPLY AT PRICE(q[d], 3, 1) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 1 ~~|
TIME STEP = 1 ~~|
";
    let project = crate::load_mdl(mdl).unwrap();
    let err = CompiledModel::new(&project, None)
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        (err.contains("'m'") && err.contains("FIND MARKET PRICE"))
            || (err.contains("'s'") && err.contains("SUPPLY AT PRICE")),
        "{err}"
    );
}

/// Vensim's two-step allocation, MARKETP then ALLOC P (the example of
/// fn_marketp), gives ALLOCATE BY PRIORITY's shares at every step, from no
/// supply to more than every request.
#[test]
fn marketp_with_alloc_p_is_allocate_by_priority() {
    let eqs = "
branch: Boston, Dayton, Fresno ~~|
demand[branch] = 500, 300, 750 ~~|
priority[branch] = 1, 2, 3 ~~|
supply = Time * 100 ~~|
abp[branch] = ALLOCATE BY PRIORITY(demand[branch], priority[branch], ELMCOUNT(branch), 2, supply) ~~|
mp = MARKETP(demand[Boston], priority[Boston], ELMCOUNT(branch), 2, supply) ~~|
ap[branch] = ALLOC P(demand[branch], priority[branch], 2, mp) ~~|
";
    let r = run_mdl(eqs, 20.0);
    for b in ["Boston", "Dayton", "Fresno"] {
        let want = r.column(&format!("abp[{b}]")).expect("abp");
        let got = r.column(&format!("ap[{b}]")).expect("ap");
        assert_eq!(want, got, "{b}");
    }
    // Short at t = 10 (1,000 of 1,550): Fresno, the highest priority, is
    // served in full first.
    let fresno = r.column("ap[Fresno]").expect("ap");
    assert_eq!(fresno[10], 750.0);
    assert!(r.column("ap[Boston]").expect("ap")[10] < 500.0);
}

/// The VECTOR ELM MAP help page's example across three subscripts: the
/// offset `(sub-1)*ELMCOUNT(tub)*ELMCOUNT(gub) + (tub-1)*ELMCOUNT(gub) +
/// (gub-1)` from `v[s1,t1,g1]` reaches every element row-major, so `v2`
/// equals `v` (it read NaN wherever the offset left the last subscript).
/// An offset past the variable is `:NA:`.
#[test]
fn vector_elm_map_moves_across_all_subscripts() {
    let r = run_mdl(
        "sub: s1, s2 ~~|
tub: t1, t2, t3 ~~|
gub: g1, g2 ~~|
v[sub, tub, gub] = 111, 112; 121, 122; 131, 132; 211, 212; 221, 222; 231, 232 ~~|
v2[sub, tub, gub] = VECTOR ELM MAP(v[s1, t1, g1], (sub - 1) * ELMCOUNT(tub) * ELMCOUNT(gub) + (tub - 1) * ELMCOUNT(gub) + (gub - 1)) ~~|
m[sub, tub] = 1, 2, 3; 4, 5, 6 ~~|
next row = VECTOR ELM MAP(m[s1, t2], 2) ~~|
past = VECTOR ELM MAP(m[s2, t3], 1) ~~|
",
        0.0,
    );
    for s in 1..=2 {
        for t in 1..=3 {
            for g in 1..=2 {
                let name = format!("v2[s{s},t{t},g{g}]");
                let want = (100 * s + 10 * t + g) as f64;
                assert_eq!(r.column(&name).unwrap()[0], want, "{name}");
            }
        }
    }
    assert_eq!(r.column("next row").unwrap()[0], 4.0);
    assert_eq!(r.column("past").unwrap()[0], crate::ir::VENSIM_NA);
}
