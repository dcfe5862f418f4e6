//! The lab's client agent (docs/agent-protocol.md): calls from stdin, each on a channel of
//! its own or on a channel the lab opened; events on stdout, one JSON object per line.
use crate::calls::{self, CALL_FLAGS, Caller, ClientSettings, Sinks};
use crate::flags::{Flags, Spec};
use crate::report::{self, epoch_ms};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;

pub type NewCaller = Arc<dyn Fn(&ClientSettings) -> Result<Arc<dyn Caller>, String> + Send + Sync>;

struct State {
    running: HashMap<String, watch::Sender<Option<String>>>,
    channels: HashMap<String, (Arc<dyn Caller>, ClientSettings)>,
    calls: u64,
    lateness: std::collections::VecDeque<f64>,
}

fn send(event: Value) {
    report::out(&event.to_string());
}

fn fail(id: &str, message: &str) {
    send(json!({ "id": id, "event": "error", "message": message }));
}

/// Serves the agent until stdin closes (the lab is gone, or done).
pub async fn run(client: &'static str, program: &'static str, library: String, specs: fn() -> Vec<Spec>, new_caller: NewCaller) {
    let state = Arc::new(Mutex::new(State { running: HashMap::new(), channels: HashMap::new(), calls: 0, lateness: std::collections::VecDeque::new() }));
    {
        // How late a 20 ms timer runs: calls sharing this process must not delay one another. Every
        // 20 ms, not 5: the watch itself must not cost the idle agent much CPU (issue 29).
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                let before = std::time::Instant::now();
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let late = (before.elapsed().as_secs_f64() * 1000.0 - 20.0).max(0.0);
                let mut st = state.lock().unwrap();
                if st.lateness.len() >= 20000 {
                    st.lateness.pop_front();
                }
                st.lateness.push_back(late);
            }
        });
    }
    send(json!({ "event": "ready", "client": client, "pid": std::process::id(), "library": library }));
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        on_line(&line, client, program, specs, &new_caller, &state);
    }
    std::process::exit(0);
}

fn flags_of(id: &str, raw: &Value, program: &str, specs: Vec<Spec>) -> Option<Flags> {
    let args: Option<Vec<String>> = raw.as_array().and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect());
    let Some(args) = args else {
        fail(id, "args must be a list of strings");
        return None;
    };
    if args.iter().any(|a| a == "--agent" || a == "--help" || a == "-h") {
        fail(id, "--agent and --help are not call flags");
        return None;
    }
    match Flags::parse(program, "", &specs, &args) {
        Ok(f) => Some(f),
        Err(e) => {
            fail(id, &e.to_string());
            None
        }
    }
}

fn on_line(line: &str, client: &'static str, program: &'static str, specs: fn() -> Vec<Spec>, new_caller: &NewCaller, state: &Arc<Mutex<State>>) {
    let Ok(command) = serde_json::from_str::<Value>(line) else {
        let text: String = line.chars().take(80).collect();
        send(json!({ "event": "error", "message": format!("not a JSON command: {text}") }));
        return;
    };
    let id = command.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    match command.get("op").and_then(Value::as_str).unwrap_or("") {
        "call" => {
            if id.is_empty() || state.lock().unwrap().running.contains_key(&id) {
                fail(&id, "call needs a new id");
                return;
            }
            let channel_id = command.get("channel").and_then(Value::as_str).map(String::from);
            let args = command.get("args").cloned().unwrap_or(Value::Null);
            let channel = match &channel_id {
                Some(c) => match state.lock().unwrap().channels.get(c).cloned() {
                    Some(ch) => Some(ch),
                    None => {
                        fail(&id, &format!("no open channel \"{c}\""));
                        return;
                    }
                },
                None => None,
            };
            if channel.is_some() {
                for a in args.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    let name = a.trim_start_matches("--").split('=').next().unwrap_or("");
                    if a.starts_with("--") && !CALL_FLAGS.contains(&name) {
                        fail(&id, &format!("{a} is the channel's: give it when it opens"));
                        return;
                    }
                }
            }
            let call_specs: Vec<Spec> = if channel.is_some() { specs().into_iter().filter(|s| CALL_FLAGS.contains(&s.name)).collect() } else { specs() };
            let Some(flags) = flags_of(&id, &args, program, call_specs) else { return };
            let own = match calls::read_client_settings(&flags) {
                Ok(s) => s,
                Err(e) => return fail(&id, &e.to_string()),
            };
            let (caller, settings) = match channel {
                Some((caller, base)) => {
                    // The call's own flags over the channel's: only what the call says.
                    let mut s = base.clone();
                    if flags.has("health") || flags.has("watch-health") {
                        s.method = own.method.clone();
                    }
                    if flags.has("health-service") {
                        s.health_service = own.health_service.clone();
                    }
                    if flags.has("name") {
                        s.name = own.name.clone();
                    }
                    if flags.has("text") {
                        s.text = own.text.clone();
                    }
                    if flags.has("timeout-ms") {
                        s.timeout_ms = own.timeout_ms;
                    }
                    if flags.has("wait-for-ready") {
                        s.wait_for_ready = own.wait_for_ready;
                    }
                    s.calls = 1;
                    s.call_gap_ms = 0;
                    (caller, s)
                }
                None => match new_caller(&own) {
                    Ok(c) => (c, own),
                    Err(e) => return fail(&id, &e),
                },
            };
            let (tx, rx) = watch::channel(None);
            {
                let mut st = state.lock().unwrap();
                st.running.insert(id.clone(), tx);
                st.calls += 1;
            }
            let state = state.clone();
            tokio::spawn(async move {
                let event_id = id.clone();
                let sinks = Sinks {
                    out: Arc::new(|_: &str| {}),
                    events: Some(Arc::new(move |n: i64, kind: &str, fields: Value| {
                        let mut e = json!({ "id": event_id, "event": kind, "call": n });
                        if let (Some(m), Value::Object(f)) = (e.as_object_mut(), fields) {
                            m.extend(f);
                        }
                        send(e);
                    })),
                };
                let (record, _) = calls::run_sequence(client, caller.as_ref(), &settings, rx, &sinks).await;
                send(json!({ "id": id, "event": "end", "result": record }));
                // A call's own channel closes as its caller is dropped here.
                state.lock().unwrap().running.remove(&id);
            });
        }
        "cancel" => {
            if let Some(tx) = state.lock().unwrap().running.get(&id) {
                let _ = tx.send(Some("cancelled by the agent's cancel command".into()));
            }
        }
        "open" => {
            if id.is_empty() || state.lock().unwrap().channels.contains_key(&id) {
                return fail(&id, "open needs a new id");
            }
            let args = command.get("args").cloned().unwrap_or(Value::Null);
            let Some(flags) = flags_of(&id, &args, program, specs()) else { return };
            match calls::read_client_settings(&flags).map_err(|e| e.to_string()).and_then(|s| new_caller(&s).map(|c| (c, s))) {
                Ok((caller, settings)) => {
                    state.lock().unwrap().channels.insert(id.clone(), (caller, settings));
                    send(json!({ "id": id, "event": "opened", "at": epoch_ms() }));
                }
                Err(e) => fail(&id, &e),
            }
        }
        "close" => {
            if state.lock().unwrap().channels.remove(&id).is_some() {
                send(json!({ "id": id, "event": "closed" }));
            } else {
                fail(&id, &format!("no open channel \"{id}\""));
            }
        }
        "stats" => {
            let st = state.lock().unwrap();
            let mut ordered: Vec<f64> = st.lateness.iter().copied().collect();
            ordered.sort_by(|a, b| a.partial_cmp(b).unwrap());
            if ordered.is_empty() {
                ordered.push(0.0);
            }
            let pick = |q: f64| (ordered[((q * ordered.len() as f64) as usize).min(ordered.len() - 1)] * 100.0).round() / 100.0;
            send(json!({ "event": "stats", "eventLoopDelayMs": { "p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0) }, "calls": st.calls }));
        }
        other => fail(&id, &format!("unknown op {}", Value::String(other.into()))),
    }
}
