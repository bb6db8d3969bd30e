//! The example templates, compiled in (also in `workers/rust/templates/`).

use tasker_shared::workflow::{TaskTemplate, TemplateError};

/// YAML of linear_workflow.
pub const LINEAR_YAML: &str = include_str!("../templates/linear_workflow.yaml");
/// YAML of diamond_workflow.
pub const DIAMOND_YAML: &str = include_str!("../templates/diamond_workflow.yaml");

/// linear_workflow: linear_step_1 .. linear_step_4 in a chain.
pub fn linear() -> Result<TaskTemplate, TemplateError> {
    TaskTemplate::from_yaml(LINEAR_YAML)
}

/// diamond_workflow: one step fans out to two, which join in one.
pub fn diamond() -> Result<TaskTemplate, TemplateError> {
    TaskTemplate::from_yaml(DIAMOND_YAML)
}
