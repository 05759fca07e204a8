//! Mutual TLS (feature `tls`): over `tls/localhost:PORT`, a peer whose certificate is signed
//! by the fleet's authority reaches an exported actor; a peer with a certificate from
//! another authority cannot even connect. The certificates are made by the test (with the
//! `openssl` command line tool, so no crypto crate is compiled for the default build).
//!
//! `cargo test -p compaktor-remote --features tls --test tls`
#![cfg(feature = "tls")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Log;
use compaktor::prelude::*;
use compaktor_remote::{LookupError, NodeConfig, RemoteNode, Tls};

const T: Duration = Duration::from_secs(10);

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the TLS test makes its certificates with the `openssl` tool: install it");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A certificate authority `name` (`name.pem`, `name.key`).
#[rustfmt::skip]
fn authority(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"), "-days", "2",
            "-subj", &format!("/CN={name}"),
        ],
    );
}

/// A certificate for `name`, valid for `localhost`, signed by `authority`.
#[rustfmt::skip]
fn certificate(dir: &Path, authority: &str, name: &str) -> Tls {
    openssl(
        dir,
        &[
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            &format!("{name}.key"), "-out", &format!("{name}.csr"), "-subj", &format!("/CN={name}"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.ext")),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509", "-req", "-in", &format!("{name}.csr"), "-CA", &format!("{authority}.pem"),
            "-CAkey", &format!("{authority}.key"), "-CAcreateserial", "-out",
            &format!("{name}.pem"), "-days", "2", "-extfile", &format!("{name}.ext"),
        ],
    );
    Tls::new(
        dir.join("fleet.pem"),
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
}

fn scratch() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("compaktor-tls-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_peer_with_a_certificate_of_the_fleet_reaches_an_export() {
    let dir = scratch();
    authority(&dir, "fleet");
    authority(&dir, "stranger");
    let robot_tls = certificate(&dir, "fleet", "robot");
    let base_tls = certificate(&dir, "fleet", "base");
    // Trusts the fleet's authority, but its own certificate is signed by another one.
    let intruder_tls = certificate(&dir, "stranger", "intruder");

    let endpoint = format!("tls/localhost:{}", free_port());
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(
        &robot,
        NodeConfig::zenoh("robot-1")
            .listen(&endpoint)
            .tls(robot_tls)
            .discovery(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    node.export(&robot.spawn(Log::default()), "log")
        .await
        .unwrap();

    let intruder = ActorSystem::new("intruder");
    let intruder_node = RemoteNode::join(
        &intruder,
        NodeConfig::zenoh("intruder")
            .connect(&endpoint)
            .tls(intruder_tls)
            .discovery(Duration::from_secs(2)),
    )
    .await;
    // Zenoh may refuse to start a session whose only peer refuses it, or start it alone:
    // either way nothing of the robot is reachable.
    if let Ok(intruder_node) = intruder_node {
        assert_eq!(
            intruder_node
                .lookup::<Log>("robot-1/log")
                .await
                .unwrap_err(),
            LookupError::NotFound("robot-1/log".into())
        );
    }
    assert_eq!(node.stats().received, 0);

    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(
        &base,
        NodeConfig::zenoh("base")
            .connect(&endpoint)
            .tls(base_tls)
            .discovery(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let log: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    log.push(7).await.unwrap();
    assert_eq!(log.entries().timeout(T).await.unwrap(), [7]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_certificate_file_fails_the_join() {
    let dir = scratch();
    let system = ActorSystem::new("robot");
    let joined = RemoteNode::join(
        &system,
        NodeConfig::zenoh("robot-1")
            .listen(format!("tls/localhost:{}", free_port()))
            .tls(Tls::new(
                dir.join("ca.pem"),
                dir.join("robot.pem"),
                dir.join("robot.key"),
            )),
    )
    .await;
    assert!(
        matches!(joined, Err(compaktor_remote::JoinError::Transport(_))),
        "{joined:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
