//! Reproducible random draws for the stochastic builtins.
//!
//! A counter-based generator: each draw is a hash of (seed, call site, step),
//! so a run is reproducible from its seed alone, RK stages within one step
//! see the same value, and runs can execute in any order or in parallel
//! without sharing generator state.

use crate::compile::program::RandomKind;

impl RandomKind {
    /// Distribution parameters before the optional explicit seed.
    pub fn params(self) -> usize {
        match self {
            RandomKind::Uniform | RandomKind::Normal | RandomKind::LogNormal => 2,
            RandomKind::Exponential | RandomKind::Poisson => 1,
            RandomKind::VUniform => 2,
            RandomKind::VNormal | RandomKind::VExponential => 4,
            RandomKind::VPoisson | RandomKind::VTriangular => 5,
        }
    }

    /// True for the Vensim forms, whose seed argument selects a stream
    /// within the run's seed rather than replacing it.
    pub fn is_vensim(self) -> bool {
        matches!(
            self,
            RandomKind::VUniform
                | RandomKind::VNormal
                | RandomKind::VPoisson
                | RandomKind::VExponential
                | RandomKind::VTriangular
        )
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in (0, 1) for the k-th number of a draw.
fn uniform(seed: u64, site: u64, step: u64, k: u64) -> f64 {
    let h = splitmix64(
        seed ^ splitmix64(site.wrapping_mul(0x1000_0000_01B3) ^ splitmix64(step ^ (k << 48))),
    );
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn std_normal(seed: u64, site: u64, step: u64) -> f64 {
    let u1 = uniform(seed, site, step, 0);
    let u2 = uniform(seed, site, step, 1);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// One draw of `kind` with its parameters.
pub fn draw(kind: RandomKind, p: &[f64], seed: u64, site: u64, step: u64) -> f64 {
    let a = |i: usize| p.get(i).copied().unwrap_or(0.0);
    match kind {
        RandomKind::Uniform => a(0) + (a(1) - a(0)) * uniform(seed, site, step, 0),
        RandomKind::Normal => a(0) + a(1) * std_normal(seed, site, step),
        RandomKind::LogNormal => {
            // Parameters are the mean and sd of the distribution itself.
            let (mean, sd) = (a(0), a(1));
            if mean <= 0.0 {
                return f64::NAN;
            }
            let s2 = (1.0 + (sd * sd) / (mean * mean)).ln();
            let mu = mean.ln() - s2 / 2.0;
            (mu + s2.sqrt() * std_normal(seed, site, step)).exp()
        }
        RandomKind::Exponential => -a(0) * uniform(seed, site, step, 0).ln(),
        RandomKind::Poisson => {
            let mut d = Draws::new(seed, site, step);
            d.k = 2;
            poisson(a(0), &mut d)
        }
        RandomKind::VUniform => a(0) + (a(1) - a(0)) * uniform(seed, site, step, 0),
        RandomKind::VNormal => {
            let (mean, sd) = (a(2), a(3));
            truncated(a(0), a(1), seed, site, step, |d| mean + sd * d.normal())
        }
        RandomKind::VExponential => {
            let (shift, stretch) = (a(2), a(3));
            truncated(a(0), a(1), seed, site, step, |d| {
                shift - stretch * d.uniform().ln()
            })
        }
        RandomKind::VPoisson => {
            let (mean, shift, stretch) = (a(2), a(3), a(4));
            truncated(a(0), a(1), seed, site, step, |d| {
                shift + stretch * poisson(mean, d)
            })
        }
        RandomKind::VTriangular => {
            let (start, peak, end) = (a(2), a(3), a(4));
            truncated(a(0), a(1), seed, site, step, |d| {
                triangular(start, peak, end, d.uniform())
            })
        }
    }
}

/// A sequence of counter-based uniforms for one draw.
struct Draws {
    seed: u64,
    site: u64,
    step: u64,
    k: u64,
}

impl Draws {
    fn new(seed: u64, site: u64, step: u64) -> Self {
        Draws {
            seed,
            site,
            step,
            k: 0,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.k += 1;
        uniform(self.seed, self.site, self.step, self.k - 1)
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Poisson(mean): Knuth's multiplication method, normal approximation for
/// large means.
fn poisson(mean: f64, d: &mut Draws) -> f64 {
    if mean <= 0.0 || mean.is_nan() {
        return 0.0;
    }
    if mean > 500.0 {
        return (mean + mean.sqrt() * d.normal()).round().max(0.0);
    }
    let limit = (-mean).exp();
    let (mut k, mut prod) = (0u64, 1.0);
    loop {
        prod *= d.uniform();
        if prod <= limit || k > 10_000 {
            return k as f64;
        }
        k += 1;
    }
}

/// Inverse CDF of the triangular distribution on [start, end] peaking at `peak`.
fn triangular(start: f64, peak: f64, end: f64, u: f64) -> f64 {
    let w = end - start;
    if w <= 0.0 {
        return start;
    }
    let c = ((peak - start) / w).clamp(0.0, 1.0);
    if u < c {
        start + (u * w * (peak - start)).sqrt()
    } else {
        end - ((1.0 - u) * w * (end - peak)).sqrt()
    }
}

/// Vensim's truncation to [min, max]: draw again (up to a limit) while the
/// value falls outside, then clamp.
fn truncated(
    min: f64,
    max: f64,
    seed: u64,
    site: u64,
    step: u64,
    mut f: impl FnMut(&mut Draws) -> f64,
) -> f64 {
    let mut d = Draws::new(seed, site, step);
    let mut x = f64::NAN;
    for _ in 0..100 {
        x = f(&mut d);
        if x >= min && x <= max {
            return x;
        }
    }
    x.clamp(min.min(max), max.max(min))
}

/// The stream seed of a Vensim random call: the run's seed mixed with the
/// call's own seed argument.
pub fn vensim_seed(run_seed: u64, arg: f64) -> u64 {
    splitmix64(run_seed ^ splitmix64(arg.to_bits()))
}

#[cfg(test)]
mod vensim_tests {
    use super::*;

    fn mean_of(kind: RandomKind, p: &[f64]) -> (f64, f64, f64) {
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|s| draw(kind, p, 3, 1, s)).collect();
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (xs.iter().sum::<f64>() / n as f64, lo, hi)
    }

    #[test]
    fn vensim_distributions_have_their_means_and_bounds() {
        let (m, lo, hi) = mean_of(RandomKind::VUniform, &[2.0, 4.0]);
        assert!((m - 3.0).abs() < 0.03 && lo >= 2.0 && hi <= 4.0, "{m}");
        // Truncated symmetric normal keeps its mean.
        let (m, lo, hi) = mean_of(RandomKind::VNormal, &[4.0, 6.0, 5.0, 2.0]);
        assert!((m - 5.0).abs() < 0.03 && lo >= 4.0 && hi <= 6.0, "{m}");
        let (m, lo, _) = mean_of(RandomKind::VExponential, &[0.0, 1e9, 1.0, 2.0]);
        assert!((m - 3.0).abs() < 0.06 && lo >= 1.0, "{m}");
        let (m, _, _) = mean_of(RandomKind::VPoisson, &[0.0, 1e9, 3.0, 1.0, 2.0]);
        assert!((m - 7.0).abs() < 0.08, "{m}");
        let (m, lo, hi) = mean_of(RandomKind::VTriangular, &[0.0, 10.0, 0.0, 3.0, 6.0]);
        assert!((m - 3.0).abs() < 0.05 && lo >= 0.0 && hi <= 6.0, "{m}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_seed_dependent() {
        let a = draw(RandomKind::Uniform, &[0.0, 1.0], 7, 3, 10);
        assert_eq!(a, draw(RandomKind::Uniform, &[0.0, 1.0], 7, 3, 10));
        assert_ne!(a, draw(RandomKind::Uniform, &[0.0, 1.0], 8, 3, 10));
        assert_ne!(a, draw(RandomKind::Uniform, &[0.0, 1.0], 7, 3, 11));
    }

    #[test]
    fn normal_moments_are_right() {
        let n = 20_000;
        let xs: Vec<f64> = (0..n)
            .map(|s| draw(RandomKind::Normal, &[5.0, 2.0], 1, 0, s))
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 5.0).abs() < 0.05, "{mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn poisson_mean_is_right() {
        let n = 20_000;
        let m = (0..n)
            .map(|s| draw(RandomKind::Poisson, &[3.0], 2, 0, s))
            .sum::<f64>()
            / n as f64;
        assert!((m - 3.0).abs() < 0.05, "{m}");
    }
}
