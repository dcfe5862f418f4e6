//! What the lab's tonic programs share with the Node, Python, Go and Java ones: strict
//! flags with the same messages, the printed lines and --json record of
//! lib/call-report.ts, the client agent's line protocol (docs/agent-protocol.md) and the
//! servers' log lines (lib/server-log.ts).
pub mod agent;
pub mod calls;
pub mod flags;
pub mod report;
pub mod server;

/// The Rust code of chat.proto (generate.sh).
pub mod chat {
    include!("gen/chat.v1.rs");
}
