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
        }
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
            let mean = a(0);
            if mean <= 0.0 {
                return 0.0;
            }
            if mean > 500.0 {
                return (mean + mean.sqrt() * std_normal(seed, site, step))
                    .round()
                    .max(0.0);
            }
            // Knuth's multiplication method with counter-based uniforms.
            let limit = (-mean).exp();
            let (mut k, mut prod) = (0u64, 1.0);
            loop {
                prod *= uniform(seed, site, step, k + 2);
                if prod <= limit || k > 10_000 {
                    return k as f64;
                }
                k += 1;
            }
        }
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
