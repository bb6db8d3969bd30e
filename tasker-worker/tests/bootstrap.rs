//! The process worker: bootstrapped once, returned again for the same settings, refused for
//! others, fresh after stop.

use tasker_worker::{WorkerConfig, bootstrap_worker, current_worker};

#[test]
fn a_second_bootstrap_returns_the_running_worker_refuses_other_settings_and_a_stopped_one_is_replaced()
 {
    assert!(current_worker().is_none());
    let first = bootstrap_worker(WorkerConfig::default()).expect("bootstrap");
    // The worker id is random per default config: it is not compared.
    let again = bootstrap_worker(WorkerConfig::default()).expect("again");
    assert_eq!(first.worker_id(), again.worker_id());
    let other = bootstrap_worker(WorkerConfig {
        concurrency: 9,
        ..WorkerConfig::default()
    })
    .expect_err("other settings");
    assert_eq!(
        other.to_string(),
        format!(
            "invalid worker configuration: a worker is already running ({}) with a different configuration (concurrency: running 4, asked 9); stop it first, or bootstrap with the same options",
            first.worker_id()
        )
    );
    assert_eq!(
        current_worker().expect("running").worker_id(),
        first.worker_id()
    );

    first.stop().expect("stop");
    assert!(again.is_stopped(), "clones are the same worker");
    assert!(current_worker().is_none());
    let fresh = bootstrap_worker(WorkerConfig {
        concurrency: 9,
        ..WorkerConfig::default()
    })
    .expect("fresh");
    assert_ne!(fresh.worker_id(), first.worker_id());
    fresh.stop().expect("stop");
}

#[test]
fn a_bad_config_is_refused_with_its_reason() {
    let err = tasker_worker::Worker::start(WorkerConfig {
        concurrency: 0,
        ..WorkerConfig::default()
    })
    .expect_err("zero concurrency");
    assert_eq!(
        err.to_string(),
        "invalid worker configuration: concurrency must be at least 1"
    );
}
