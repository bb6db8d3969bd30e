//! Task templates: a namespace, a name, and steps with dependencies, from YAML or JSON.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why a template was refused. Every message names the template and the step at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read task template {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("task template is not valid {format}: {reason}")]
    Parse {
        format: &'static str,
        reason: String,
    },
    #[error("task template {template} has no steps")]
    Empty { template: String },
    #[error("task template {template}: {field} must not be empty")]
    Blank { template: String, field: String },
    #[error("task template {template} has two steps named {step:?}")]
    DuplicateStep { template: String, step: String },
    #[error("task template {template}: step {step:?} depends on unknown step {dependency:?}")]
    UnknownDependency {
        template: String,
        step: String,
        dependency: String,
    },
    #[error("task template {template} has a dependency cycle: {}", cycle.join(" -> "))]
    Cycle {
        template: String,
        cycle: Vec<String>,
    },
    #[error("task template {template}: step {step:?} has max_attempts 0; it must be at least 1")]
    ZeroAttempts { template: String, step: String },
}

/// One step of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTemplate {
    pub name: String,
    /// The registered handler that runs this step.
    pub handler: String,
    #[serde(default, alias = "dependencies", skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Attempts in all, including the first (default 1: no retry).
    #[serde(default = "one")]
    pub max_attempts: u32,
    /// Per-attempt handler timeout; the worker's default applies when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The queue distributed workers take this step from (`worker_<queue>_queue`); the
    /// template's namespace when absent. In-process runs ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn one() -> u32 {
    1
}

fn default_version() -> String {
    "1.0.0".to_owned()
}

/// A workflow: steps and the dependencies between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub namespace: String,
    pub name: String,
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<StepTemplate>,
}

impl TaskTemplate {
    /// Parses and validates a YAML template.
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let t: Self = serde_yaml::from_str(text).map_err(|e| TemplateError::Parse {
            format: "YAML",
            reason: e.to_string(),
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Parses and validates a JSON template.
    pub fn from_json(text: &str) -> Result<Self, TemplateError> {
        let t: Self = serde_json::from_str(text).map_err(|e| TemplateError::Parse {
            format: "JSON",
            reason: e.to_string(),
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Validates a template given as a JSON value (a host's Hash, dict or object).
    pub fn from_value(value: serde_json::Value) -> Result<Self, TemplateError> {
        let t: Self = serde_json::from_value(value).map_err(|e| TemplateError::Parse {
            format: "JSON",
            reason: e.to_string(),
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Reads a `.json` file as JSON and anything else as YAML.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json(&text),
            _ => Self::from_yaml(&text),
        }
    }

    /// `namespace/name@version`, as error messages and spans name the template.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.name, self.version)
    }

    /// Checks names, dependencies and acyclicity.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let template = self.qualified_name();
        for (field, value) in [("namespace", &self.namespace), ("name", &self.name)] {
            if value.trim().is_empty() {
                return Err(TemplateError::Blank {
                    template,
                    field: field.to_owned(),
                });
            }
        }
        if self.steps.is_empty() {
            return Err(TemplateError::Empty { template });
        }
        let mut seen = HashSet::new();
        for (i, step) in self.steps.iter().enumerate() {
            if step.name.trim().is_empty() {
                return Err(TemplateError::Blank {
                    template,
                    field: format!("steps[{i}].name"),
                });
            }
            if step.handler.trim().is_empty() {
                return Err(TemplateError::Blank {
                    template,
                    field: format!("steps[{i}].handler ({:?})", step.name),
                });
            }
            if !seen.insert(step.name.as_str()) {
                return Err(TemplateError::DuplicateStep {
                    template,
                    step: step.name.clone(),
                });
            }
            if step.max_attempts == 0 {
                return Err(TemplateError::ZeroAttempts {
                    template,
                    step: step.name.clone(),
                });
            }
        }
        for step in &self.steps {
            if let Some(dep) = step.depends_on.iter().find(|d| !seen.contains(d.as_str())) {
                return Err(TemplateError::UnknownDependency {
                    template,
                    step: step.name.clone(),
                    dependency: dep.clone(),
                });
            }
        }
        if let Some(cycle) = self.find_cycle() {
            return Err(TemplateError::Cycle { template, cycle });
        }
        Ok(())
    }

    /// Depth-first search; returns the first cycle found, closed (`a -> b -> a`).
    fn find_cycle(&self) -> Option<Vec<String>> {
        let index: HashMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut mark = vec![0u8; self.steps.len()];
        let mut path = Vec::new();
        for start in 0..self.steps.len() {
            if mark[start] == 0 {
                if let Some(c) = self.dfs(start, &index, &mut mark, &mut path) {
                    return Some(c);
                }
            }
        }
        None
    }

    fn dfs(
        &self,
        at: usize,
        index: &HashMap<&str, usize>,
        mark: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        mark[at] = 1;
        path.push(at);
        for dep in &self.steps[at].depends_on {
            let next = index[dep.as_str()];
            if mark[next] == 1 {
                let from = path.iter().position(|&p| p == next).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..]
                    .iter()
                    .map(|&i| self.steps[i].name.clone())
                    .collect();
                cycle.push(self.steps[next].name.clone());
                return Some(cycle);
            }
            if mark[next] == 0 {
                if let Some(c) = self.dfs(next, index, mark, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        mark[at] = 2;
        None
    }
}
