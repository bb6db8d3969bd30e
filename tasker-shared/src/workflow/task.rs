//! The task state machine: feed it step results, and it says which steps to dispatch next
//! and when the task is finished. It does no I/O, reads no clock and spawns nothing, so the
//! Tokio driver and the JS event-loop driver run the very same logic.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::template::{TaskTemplate, TemplateError};
use crate::types::{
    StepExecutionResult, StepMessage, TaskInfo, TaskSequenceStep, WorkflowStepInfo,
};

/// Where a step is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for its dependencies.
    Pending,
    /// Dispatched; a result is expected.
    InFlight,
    Complete,
    /// Failed for good (not retryable, or out of attempts).
    Failed,
    /// Never ran, because a step it depends on failed.
    Skipped,
}

/// Where the task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Running,
    /// Every step completed.
    Complete,
    /// At least one step failed or was skipped.
    Error,
}

/// A step result the machine cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("task {task_uuid} has no step {step_uuid}")]
    UnknownStep { task_uuid: Uuid, step_uuid: Uuid },
    #[error(
        "step {step:?} of task {task_uuid} is {status:?}, not in flight: duplicate or late result"
    )]
    NotInFlight {
        task_uuid: Uuid,
        step: String,
        status: StepStatus,
    },
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Run this step (its dependencies' results are inside).
    Dispatch(Box<ReadyStep>),
    /// The task is over; nothing more will be dispatched.
    Finished(TaskOutcome),
}

/// A step ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyStep {
    pub message: StepMessage,
    pub sequence: TaskSequenceStep,
}

/// The record of one step in a finished (or running) task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub status: StepStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub result: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub execution_time_ms: u64,
    /// The latest attempt's execution span (kept by the database for the next attempt's
    /// link; not part of a task's printed result).
    #[serde(skip)]
    pub last_traceparent: Option<String>,
}

/// The result of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    pub task_uuid: Uuid,
    pub correlation_id: Uuid,
    pub status: TaskStatus,
    /// Results of the completed steps, by name.
    pub step_results: Map<String, Value>,
    /// Every step's record, failures and skips included, by name.
    pub steps: BTreeMap<String, StepRecord>,
}

#[derive(Debug, Clone)]
struct StepState {
    uuid: Uuid,
    status: StepStatus,
    attempts: u32,
    last: Option<StepExecutionResult>,
}

/// One running task.
#[derive(Debug, Clone)]
pub struct Task {
    template: TaskTemplate,
    task_uuid: Uuid,
    correlation_id: Uuid,
    context: Value,
    traceparent: Option<String>,
    steps: Vec<StepState>,
    by_uuid: HashMap<Uuid, usize>,
    deps: Vec<Vec<usize>>,
    /// The reverse of `deps`: who waits on each step.
    dependents: Vec<Vec<usize>>,
    /// Per step, how many of its dependencies have not completed yet.
    unmet: Vec<usize>,
    /// Steps not yet complete, failed or skipped; the task finishes when it reaches zero.
    open: usize,
    /// Whether any step failed or was skipped.
    any_failed: bool,
    status: TaskStatus,
}

impl Task {
    /// A task over a template (validated again here). Step uuids are derived from the task
    /// uuid and the step name, so the machine needs no randomness.
    pub fn new(
        template: TaskTemplate,
        context: Value,
        task_uuid: Uuid,
        correlation_id: Uuid,
    ) -> Result<Self, TemplateError> {
        template.validate()?;
        let index: HashMap<&str, usize> = template
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let deps: Vec<Vec<usize>> = template
            .steps
            .iter()
            .map(|s| s.depends_on.iter().map(|d| index[d.as_str()]).collect())
            .collect();
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let unmet = deps.iter().map(Vec::len).collect();
        let steps: Vec<StepState> = template
            .steps
            .iter()
            .map(|s| StepState {
                uuid: Uuid::new_v5(&task_uuid, s.name.as_bytes()),
                status: StepStatus::Pending,
                attempts: 0,
                last: None,
            })
            .collect();
        let by_uuid = steps.iter().enumerate().map(|(i, s)| (s.uuid, i)).collect();
        Ok(Self {
            template,
            task_uuid,
            correlation_id,
            context,
            traceparent: None,
            open: steps.len(),
            steps,
            by_uuid,
            deps,
            dependents,
            unmet,
            any_failed: false,
            status: TaskStatus::Pending,
        })
    }

    /// A task rebuilt from its step records, as a database keeps them (`outcome().steps`):
    /// the distributed workers load the machine per result instead of holding it in memory.
    /// A step without a record is pending; an `in_flight` one waits for its result, which
    /// [`on_result`](Self::on_result) then takes as if the machine had never left memory.
    pub fn restore(
        template: TaskTemplate,
        context: Value,
        task_uuid: Uuid,
        correlation_id: Uuid,
        records: &BTreeMap<String, StepRecord>,
    ) -> Result<Self, TemplateError> {
        let mut task = Self::new(template, context, task_uuid, correlation_id)?;
        let mut started = false;
        for (i, tmpl) in task.template.steps.iter().enumerate() {
            let Some(r) = records.get(&tmpl.name) else {
                continue;
            };
            let state = &mut task.steps[i];
            state.status = r.status;
            state.attempts = r.attempts;
            state.last = match r.status {
                StepStatus::Complete => Some(StepExecutionResult::success(
                    state.uuid,
                    r.result.clone(),
                    r.execution_time_ms,
                )),
                _ => r.error.as_ref().map(|e| {
                    StepExecutionResult::failure(
                        state.uuid,
                        e.clone(),
                        r.error_type
                            .as_deref()
                            .unwrap_or(crate::error_types::HANDLER_ERROR),
                        true,
                        r.execution_time_ms,
                    )
                }),
            }
            .map(|last| last.with_execution_traceparent(r.last_traceparent.clone()));
            started |= r.status != StepStatus::Pending || r.attempts > 0;
        }
        let done = |st: StepStatus| st == StepStatus::Complete;
        for i in 0..task.steps.len() {
            task.unmet[i] = task.deps[i]
                .iter()
                .filter(|&&d| !done(task.steps[d].status))
                .count();
        }
        task.open = task
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Pending | StepStatus::InFlight))
            .count();
        task.any_failed = task
            .steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Failed | StepStatus::Skipped));
        task.status = match (started, task.open) {
            (false, _) => TaskStatus::Pending,
            (true, 0) if task.any_failed => TaskStatus::Error,
            (true, 0) => TaskStatus::Complete,
            (true, _) => TaskStatus::Running,
        };
        Ok(task)
    }

    /// The traceparent of the task's root span, stamped on every step message.
    pub fn with_traceparent(mut self, traceparent: Option<String>) -> Self {
        self.traceparent = traceparent;
        self
    }

    pub fn task_uuid(&self) -> Uuid {
        self.task_uuid
    }

    /// The uuid of the step called `name` (derived from the task uuid and the name).
    pub fn step_uuid(&self, name: &str) -> Option<Uuid> {
        let i = self.template.steps.iter().position(|s| s.name == name)?;
        Some(self.steps[i].uuid)
    }

    pub fn correlation_id(&self) -> Uuid {
        self.correlation_id
    }

    pub fn template(&self) -> &TaskTemplate {
        &self.template
    }

    pub fn status(&self) -> TaskStatus {
        self.status
    }

    /// The status of the step called `name`.
    pub fn step_status(&self, name: &str) -> Option<StepStatus> {
        let i = self.template.steps.iter().position(|s| s.name == name)?;
        Some(self.steps[i].status)
    }

    /// Starts the task: dispatches the steps with no dependencies.
    pub fn start(&mut self) -> Vec<Action> {
        if self.status != TaskStatus::Pending {
            return Vec::new();
        }
        self.status = TaskStatus::Running;
        let roots: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.unmet[i] == 0)
            .collect();
        let mut actions: Vec<Action> = roots
            .into_iter()
            .map(|i| Action::Dispatch(Box::new(self.dispatch(i))))
            .collect();
        self.finish_if_idle(&mut actions);
        actions
    }

    /// Records one attempt's result and returns what to do next: a retry, newly ready
    /// dependents, or the end of the task.
    pub fn on_result(&mut self, result: StepExecutionResult) -> Result<Vec<Action>, WorkflowError> {
        let i = *self
            .by_uuid
            .get(&result.step_uuid)
            .ok_or(WorkflowError::UnknownStep {
                task_uuid: self.task_uuid,
                step_uuid: result.step_uuid,
            })?;
        if self.steps[i].status != StepStatus::InFlight {
            return Err(WorkflowError::NotInFlight {
                task_uuid: self.task_uuid,
                step: self.template.steps[i].name.clone(),
                status: self.steps[i].status,
            });
        }
        let max = self.template.steps[i].max_attempts;
        let state = &mut self.steps[i];
        let retry = !result.success && result.metadata.retryable && state.attempts < max;
        let success = result.success;
        state.last = Some(result);
        let mut actions = Vec::new();
        if success {
            self.steps[i].status = StepStatus::Complete;
            self.open -= 1;
            for k in 0..self.dependents[i].len() {
                let j = self.dependents[i][k];
                self.unmet[j] -= 1;
                if self.unmet[j] == 0 && self.steps[j].status == StepStatus::Pending {
                    actions.push(Action::Dispatch(Box::new(self.dispatch(j))));
                }
            }
        } else if retry {
            // Its dependencies are still complete: it is ready again at once.
            actions.push(Action::Dispatch(Box::new(self.dispatch(i))));
        } else {
            self.steps[i].status = StepStatus::Failed;
            self.open -= 1;
            self.any_failed = true;
            self.skip_dependents_of(i);
        }
        self.finish_if_idle(&mut actions);
        Ok(actions)
    }

    /// Skips every pending step downstream of `failed`: none of them can ever run. Work is
    /// proportional to the steps skipped, so a task of any size costs O(1) per result on
    /// the success path.
    fn skip_dependents_of(&mut self, failed: usize) {
        let mut stack = self.dependents[failed].clone();
        while let Some(j) = stack.pop() {
            if self.steps[j].status == StepStatus::Pending {
                self.steps[j].status = StepStatus::Skipped;
                self.open -= 1;
                stack.extend_from_slice(&self.dependents[j]);
            }
        }
    }

    /// Finishes the task once no step is pending or in flight.
    fn finish_if_idle(&mut self, actions: &mut Vec<Action>) {
        if self.open == 0 && self.status == TaskStatus::Running {
            self.status = if self.any_failed {
                TaskStatus::Error
            } else {
                TaskStatus::Complete
            };
            actions.push(Action::Finished(self.outcome()));
        }
    }

    /// The ready step of `name` as it was dispatched, for a step in flight: what a worker
    /// that claims its message (in another process) runs. `None` unless it is in flight.
    pub fn in_flight_step(&self, name: &str) -> Option<ReadyStep> {
        let i = self.template.steps.iter().position(|s| s.name == name)?;
        (self.steps[i].status == StepStatus::InFlight).then(|| self.ready(i))
    }

    fn dispatch(&mut self, i: usize) -> ReadyStep {
        let state = &mut self.steps[i];
        state.status = StepStatus::InFlight;
        state.attempts += 1;
        self.ready(i)
    }

    fn ready(&self, i: usize) -> ReadyStep {
        let step = &self.template.steps[i];
        let dependency_results = self.deps[i]
            .iter()
            .map(|&d| {
                let value = self.steps[d]
                    .last
                    .as_ref()
                    .map(|r| r.result.clone())
                    .unwrap_or(Value::Null);
                (self.template.steps[d].name.clone(), value)
            })
            .collect();
        let state = &self.steps[i];
        // On a retry, `last` is the attempt before it.
        let previous_traceparent = state
            .last
            .as_ref()
            .filter(|_| state.attempts > 1)
            .and_then(|r| r.metadata.execution_traceparent.clone());
        ReadyStep {
            message: StepMessage {
                task_uuid: self.task_uuid,
                step_uuid: state.uuid,
                correlation_id: self.correlation_id,
                traceparent: self.traceparent.clone(),
                previous_traceparent,
            },
            sequence: TaskSequenceStep {
                task: TaskInfo {
                    task_uuid: self.task_uuid,
                    correlation_id: self.correlation_id,
                    namespace_name: self.template.namespace.clone(),
                    task_name: self.template.name.clone(),
                    version: self.template.version.clone(),
                    context: self.context.clone(),
                },
                workflow_step: WorkflowStepInfo {
                    step_uuid: state.uuid,
                    name: step.name.clone(),
                    handler: step.handler.clone(),
                    attempt: state.attempts,
                    max_attempts: step.max_attempts,
                    timeout_ms: step.timeout_ms,
                },
                dependency_results,
            },
        }
    }

    /// The task's record so far (final once [`Action::Finished`] was returned).
    pub fn outcome(&self) -> TaskOutcome {
        let mut step_results = Map::new();
        let mut steps = BTreeMap::new();
        for (tmpl, state) in self.template.steps.iter().zip(&self.steps) {
            let last = state.last.as_ref();
            if state.status == StepStatus::Complete {
                let value = last.map(|r| r.result.clone()).unwrap_or(Value::Null);
                step_results.insert(tmpl.name.clone(), value);
            }
            let failed = last.filter(|r| !r.success);
            let record = StepRecord {
                status: state.status,
                attempts: state.attempts,
                result: last
                    .filter(|r| r.success)
                    .map(|r| r.result.clone())
                    .unwrap_or(Value::Null),
                error: match state.status {
                    StepStatus::Skipped => Some("skipped: a step it depends on failed".to_owned()),
                    _ => failed.and_then(|r| r.error_message.clone()),
                },
                error_type: match state.status {
                    StepStatus::Skipped => Some("dependency_failed".to_owned()),
                    _ => failed.and_then(|r| r.metadata.error_type.clone()),
                },
                execution_time_ms: last.map(|r| r.metadata.execution_time_ms).unwrap_or(0),
                last_traceparent: last.and_then(|r| r.metadata.execution_traceparent.clone()),
            };
            steps.insert(tmpl.name.clone(), record);
        }
        TaskOutcome {
            task_uuid: self.task_uuid,
            correlation_id: self.correlation_id,
            status: self.status,
            step_results,
            steps,
        }
    }
}
