//! Stage 4, compile (being written).

use crate::error::{Error, Result};
use crate::ir::{Project, SimSpecs};
use crate::results::Results;
use crate::vm::RunOptions;

/// An immutable, `Send + Sync` compiled model: compile once, run many.
#[derive(Debug)]
pub struct CompiledModel {
    specs: SimSpecs,
}

impl CompiledModel {
    /// Compile the named model of a project (`None` = the main model).
    pub fn new(project: &Project, _model: Option<&str>) -> Result<CompiledModel> {
        Ok(CompiledModel { specs: project.sim_specs.clone() })
    }
    pub fn sim_specs(&self) -> &SimSpecs {
        &self.specs
    }
    /// Display names of every visible variable, in output order.
    pub fn output_names(&self) -> Vec<&str> {
        Vec::new()
    }
    /// Run to the end with the given options.
    pub fn run(&self, _opts: &RunOptions) -> Result<Results> {
        Err(Error::Simulation { time: 0.0, message: "compiler not written yet".into() })
    }
}
