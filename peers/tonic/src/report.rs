//! What a client prints and records (lib/call-report.ts), and the time base all the lab's
//! programs share: ms since the epoch to 0.1 ms.
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Status codes as the Connect protocol names them (lib/status-code.ts).
pub const CODE_NAMES: [&str; 17] = [
    "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
    "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
    "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
    "unauthenticated",
];

pub fn code_name(code: i32) -> String {
    CODE_NAMES.get(code as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("code_{code}"))
}

/// Now, in ms since the epoch to 0.1 ms: comparable with the other programs' clocks.
pub fn epoch_ms() -> f64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_micros() / 100) as f64 / 10.0
}

/// One line on stdout at once: the lab reads lines as they come.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(format!("{line}\n").as_bytes());
    let _ = stdout.flush();
}

/// JSON's quoting of a string, as the Node programs print messages.
pub fn quote(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

pub type Events = Box<dyn Fn(&str, Value) + Send + Sync>;

/// Prints what a client sees and keeps the --json record.
pub struct Reporter {
    client: String,
    protocol: String,
    start: Instant,
    arrivals: Vec<u64>,
    out: Box<dyn Fn(&str) + Send + Sync>,
    /// The agent's events for this call: ("start"|"message", fields).
    events: Option<std::sync::Arc<dyn Fn(&str, Value) + Send + Sync>>,
    /// Runs after each message (the idle timeout rearms).
    pub after_message: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Reporter {
    pub fn new(
        client: &str,
        protocol: &str,
        target: &str,
        call: (i64, i64),
        out: Box<dyn Fn(&str) + Send + Sync>,
        events: Option<std::sync::Arc<dyn Fn(&str, Value) + Send + Sync>>,
    ) -> Reporter {
        if let Some(e) = &events {
            e("start", json!({ "at": epoch_ms() }));
        }
        let which = if call.1 > 1 { format!(", call {} of {}", call.0, call.1) } else { String::new() };
        out(&format!("calling {target} with {client}, protocol {protocol} (pid {}{which})", std::process::id()));
        Reporter {
            client: client.into(),
            protocol: protocol.into(),
            start: Instant::now(),
            arrivals: vec![],
            out,
            events,
            after_message: None,
        }
    }

    pub fn received(&self) -> usize {
        self.arrivals.len()
    }

    /// `sent_at`: the server's HH:MM:SS.mmm, where it said.
    pub fn message(&mut self, index: i64, text: &str, sent_at: Option<String>) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.arrivals.push(ms);
        if let Some(e) = &self.events {
            e("message", json!({ "index": index, "text": text, "at": epoch_ms() }));
        }
        let sent = sent_at.map(|s| format!(" (server sent it at {s})")).unwrap_or_default();
        (self.out)(&format!("[{ms:>6} ms] message {index}: {}{sent}", quote(text)));
        if let Some(f) = &self.after_message {
            f();
        }
    }

    pub fn finish(&self, code: i32, message: &str) -> serde_json::Map<String, Value> {
        let elapsed = self.start.elapsed().as_millis() as u64;
        let detail = if message.is_empty() { String::new() } else { format!(" {}", quote(message)) };
        (self.out)(&format!(
            "[{elapsed:>6} ms] ended: {} ({code}){detail}, {} message(s) received",
            code_name(code),
            self.arrivals.len()
        ));
        let record = json!({
            "client": self.client,
            "protocol": self.protocol,
            "code": code_name(code),
            "grpcCode": code,
            "message": message,
            "received": self.arrivals.len(),
            "firstMessageMs": self.arrivals.first(),
            "elapsedMs": elapsed,
            "arrivalsMs": self.arrivals,
            "endedAt": epoch_ms(),
        });
        match record {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }
}

/// HH:MM:SS.mmm (UTC) of a protobuf Timestamp, as the Node clients print it.
pub fn clock_text(seconds: i64, nanos: i32) -> String {
    let day = seconds.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}.{:03}", day / 3600, day % 3600 / 60, day % 60, nanos / 1_000_000)
}
