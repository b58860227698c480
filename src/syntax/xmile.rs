//! XMILE reader (placeholder; being written).

use crate::error::{Error, Result};
use crate::ir::Project;

pub fn parse_xmile(_text: &str) -> Result<Project> {
    Err(Error::NotXmile {
        message: "reader not written yet".into(),
    })
}
