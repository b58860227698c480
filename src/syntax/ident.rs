//! Identifier canonicalisation (placeholder; being written).

/// Canonical form of an XMILE identifier.
pub fn canonicalize(name: &str) -> String {
    name.trim().to_lowercase().replace(' ', "_")
}
