//! Migrations against a real PostgreSQL (a private cluster from Debian's packages): PGMQ and
//! tasker's schema install once, two migrators at once are safe, and an unmigrated or
//! unreachable database is refused with what to do.

use tasker_pgmq::{DbError, check_migrated, connect, migrate};
use tasker_testkit::PgCluster;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn two_migrators_at_once_install_pgmq_and_the_schema_exactly_once() {
    let pg = PgCluster::start();
    let url = pg.url();
    let rt = runtime();
    rt.block_on(async {
        let pool = connect(&url, 4).await.expect("connect");
        let err = check_migrated(&pool, &url).await.expect_err("not yet");
        assert_eq!(
            err.to_string(),
            format!(
                "the database at {url} is not migrated (no tasker schema): run `tasker-worker-rust migrate --database-url {url}`"
            )
        );

        let (a, b) = tokio::join!(
            async {
                let p = connect(&url, 2).await.expect("connect a");
                migrate(&p, &url).await
            },
            async {
                let p = connect(&url, 2).await.expect("connect b");
                migrate(&p, &url).await
            },
        );
        let (a, b) = (a.expect("migrator a"), b.expect("migrator b"));
        assert_eq!(a.applied + b.applied, 1, "{a:?} {b:?}");
        assert_eq!(a.schema_version, b.schema_version);
        assert_eq!(a.pgmq_version, "1.11.1");
        check_migrated(&pool, &url).await.expect("migrated");

        let again = migrate(&pool, &url).await.expect("idempotent");
        assert_eq!(again.applied, 0);
    });
    // PGMQ works: a queue, a message with headers, a read with a visibility timeout.
    pg.psql("SELECT pgmq.create('worker_test_queue')");
    pg.psql(
        "SELECT pgmq.send('worker_test_queue', '{\"step\": 1}'::jsonb, '{\"traceparent\": \"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}'::jsonb)",
    );
    let read = pg.psql("SELECT headers->>'traceparent' FROM pgmq.read('worker_test_queue', 30, 1)");
    assert_eq!(
        read,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM tasker.tasks"),
        "0",
        "the tasker schema exists"
    );
}

#[test]
fn an_unreachable_database_or_a_bad_url_is_refused_with_the_reason() {
    let rt = runtime();
    let closed = tasker_testkit::free_port();
    let url = format!(
        "postgres://tasker:secret@127.0.0.1:{}/tasker",
        closed.port()
    );
    let err = rt.block_on(connect(&url, 1)).expect_err("nothing listens");
    let DbError::Unreachable { url: shown, reason } = &err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert_eq!(
        shown,
        &format!("postgres://tasker:***@127.0.0.1:{}/tasker", closed.port())
    );
    assert!(!reason.is_empty());
    assert!(
        err.to_string()
            .ends_with("(is PostgreSQL running there, and may this user connect?)"),
        "{err}"
    );
    let bad = rt
        .block_on(connect("mysql://nope", 1))
        .expect_err("not postgres");
    assert_eq!(
        bad.to_string(),
        "the database URL mysql://nope is not valid: it does not start with postgres:// or postgresql:// (expected postgres://user[:password]@host[:port]/database)"
    );
    assert_eq!(
        tasker_pgmq::database_url(Some("postgres://x@h/db")),
        Ok("postgres://x@h/db".to_owned())
    );
}
