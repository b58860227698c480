//! A generated, large arrayed XMILE model, shared by the `arrays` bench and
//! the `large_arrays` test (each includes this file with `#[path]`).
//!
//! An SIRS epidemic over `n` regions: per region four stocks (susceptible,
//! infected, recovered, cumulative cases), four flows (infection, recovery,
//! waning, reporting) and a few auxes, all apply-to-all over dimension
//! `Region`, except the initial infected and population, one equation per element.
//! Regions are coupled through `SUM(infected[*])`: each region's force of
//! infection mixes its own prevalence with the global one, so every region
//! depends on every other at every step.

/// Stocks per region.
#[allow(dead_code)]
pub const STOCKS: [&str; 4] = ["susceptible", "infected", "recovered", "cumulative_cases"];

/// The element name of region `i` (0-based).
pub fn region(i: usize) -> String {
    format!("r{}", i + 1)
}

/// XMILE text of the model with `n` regions, simulated from 0 to `stop`
/// with time step `dt` (Euler).
pub fn arrayed_xmile(n: usize, stop: f64, dt: f64) -> String {
    let mut elems = String::with_capacity(n * 24);
    let mut initial = String::with_capacity(n * 64);
    let mut population = String::with_capacity(n * 64);
    for i in 0..n {
        elems.push_str(&format!("<elem name=\"{}\"/>", region(i)));
        // A few seeded regions; the rest start almost clean.
        let seed = if i % 97 == 0 {
            10.0
        } else {
            (i % 7) as f64 * 0.1
        };
        initial.push_str(&format!(
            "<element subscript=\"{}\"><eqn>{seed}</eqn></element>",
            region(i)
        ));
        population.push_str(&format!(
            "<element subscript=\"{}\"><eqn>{}</eqn></element>",
            region(i),
            1000 + 10 * (i % 50)
        ));
    }
    let r = "<dimensions><dim name=\"Region\"/></dimensions>";
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><name>arrayed_sirs</name></header>
<sim_specs method="Euler"><start>0</start><stop>{stop}</stop><dt>{dt}</dt></sim_specs>
<dimensions><dim name="Region">{elems}</dim></dimensions>
<model><variables>
<stock name="susceptible">{r}<eqn>population_0 - initial_infected</eqn><inflow>waning</inflow><outflow>infection</outflow></stock>
<stock name="infected">{r}<eqn>initial_infected</eqn><inflow>infection</inflow><outflow>recovery</outflow></stock>
<stock name="recovered">{r}<eqn>0</eqn><inflow>recovery</inflow><outflow>waning</outflow></stock>
<stock name="cumulative cases">{r}<eqn>0</eqn><inflow>reporting</inflow></stock>
<flow name="infection">{r}<eqn>contact_rate * susceptible * force</eqn></flow>
<flow name="recovery">{r}<eqn>infected / duration</eqn></flow>
<flow name="waning">{r}<eqn>recovered / immunity</eqn></flow>
<flow name="reporting">{r}<eqn>infection * reporting_fraction</eqn></flow>
<aux name="initial infected">{r}{initial}</aux>
<aux name="population 0">{r}{population}</aux>
<aux name="population">{r}<eqn>susceptible + infected + recovered</eqn></aux>
<aux name="force">{r}<eqn>mixing * infected / population + (1 - mixing) * total_infected / total_population</eqn></aux>
<aux name="total infected"><eqn>SUM(infected[*])</eqn></aux>
<aux name="total population"><eqn>SUM(population[*])</eqn></aux>
<aux name="contact rate"><eqn>0.3</eqn></aux>
<aux name="mixing"><eqn>0.8</eqn></aux>
<aux name="duration"><eqn>5</eqn></aux>
<aux name="immunity"><eqn>60</eqn></aux>
<aux name="reporting fraction"><eqn>0.4</eqn></aux>
</variables></model>
</xmile>
"#
    )
}
