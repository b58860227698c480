//! Stage 3, analysis (being written).

use crate::ir::Model;

/// Canonical names of the variables `ident`'s equation(s) reference
/// directly (for a stock: its initial value and its flows), sorted.
pub fn direct_dependencies(model: &Model, ident: &str) -> Option<Vec<String>> {
    let v = model.get(ident)?;
    let _ = v;
    Some(Vec::new())
}
