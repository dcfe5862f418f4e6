//! Strict flags as lib/cli.ts parses them: --name value or --name=value; unknown flags and
//! stray words are one-line errors; --help prints the flags.
use std::collections::BTreeMap;
use std::fmt;

/// A bad command line (exit 2), --help shown (exit 0), or another failure (exit 1).
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Help,
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Other(m) => write!(f, "{m}"),
            Failure::Help => write!(f, "help"),
        }
    }
}

/// A UsageError, as the other programs word it.
pub fn usage<T>(text: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(text.into()))
}

/// One flag: a string takes a value, a boolean does not; its default as --help shows it.
pub struct Spec {
    pub name: &'static str,
    pub boolean: bool,
    pub help: String,
    pub default: Option<String>,
}

pub fn string(name: &'static str, help: &str, default: &str) -> Spec {
    Spec { name, boolean: false, help: help.into(), default: Some(default.into()) }
}

pub fn boolean(name: &'static str, help: &str) -> Spec {
    Spec { name, boolean: true, help: help.into(), default: None }
}

pub const MAX_SAFE: i64 = (1 << 53) - 1;

/// The flags given: a string flag's value, or "true" for a boolean one.
pub struct Flags(BTreeMap<String, String>);

impl Flags {
    pub fn parse(program: &str, summary: &str, specs: &[Spec], argv: &[String]) -> Result<Flags, Failure> {
        let mut values = BTreeMap::new();
        let mut i = 0;
        while i < argv.len() {
            let word = &argv[i];
            if word == "--help" || word == "-h" {
                print!("{}", usage_text(program, summary, specs));
                return Err(Failure::Help);
            }
            if !word.starts_with("--") || word == "--" {
                return usage(format!(
                    "Unexpected argument '{word}'. This command does not take positional arguments (see --help)"
                ));
            }
            let body = &word[2..];
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(spec) = specs.iter().find(|s| s.name == name) else {
                return usage(format!("Unknown option '--{name}' (see --help)"));
            };
            if spec.boolean {
                if inline.is_some() {
                    return usage(format!("Option '--{name}' does not take an argument (see --help)"));
                }
                values.insert(name.to_string(), "true".to_string());
            } else if let Some(v) = inline {
                values.insert(name.to_string(), v.to_string());
            } else if i + 1 < argv.len() && !argv[i + 1].starts_with("--") {
                i += 1;
                values.insert(name.to_string(), argv[i].clone());
            } else {
                return usage(format!("Option '--{name} <value>' argument missing (see --help)"));
            }
            i += 1;
        }
        Ok(Flags(values))
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.0.get(name).cloned().unwrap_or_else(|| default.to_string())
    }

    pub fn int(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Failure> {
        let Some(raw) = self.0.get(name) else { return Ok(default) };
        match raw.trim().parse::<i64>() {
            Ok(v) if v >= min && v <= max => Ok(v),
            _ => {
                let span = if max == MAX_SAFE {
                    format!("a whole number >= {min}")
                } else {
                    format!("a whole number from {min} to {max}")
                };
                usage(format!("--{name} must be {span}, got \"{raw}\""))
            }
        }
    }

    /// Absent: None (the feature stays off).
    pub fn optional(&self, name: &str, min: i64) -> Result<Option<i64>, Failure> {
        if self.has(name) { self.int(name, 0, min, MAX_SAFE).map(Some) } else { Ok(None) }
    }

    pub fn choice(&self, name: &str, choices: &[&str], default: &str) -> Result<String, Failure> {
        let Some(raw) = self.0.get(name) else { return Ok(default.to_string()) };
        if choices.contains(&raw.as_str()) {
            Ok(raw.clone())
        } else {
            usage(format!("--{name} must be one of {}, got \"{raw}\"", choices.join(", ")))
        }
    }

    /// A PEM file a flag names (lib/tls-flags.ts): a one-line UsageError if it cannot be read.
    pub fn pem(&self, name: &str) -> Result<Vec<u8>, Failure> {
        let path = self.string(name, "");
        if path.is_empty() {
            return usage(format!("--{name} needs a file"));
        }
        let pem = match std::fs::read(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return usage(format!("--{name}: cannot read {path}: ENOENT"));
            }
            Err(e) => return usage(format!("--{name}: cannot read {path}: {e}")),
        };
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN ") {
            return usage(format!("--{name}: {path} is not PEM"));
        }
        Ok(pem)
    }

    /// --options: the library's own settings, as a JSON object.
    pub fn options(&self) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
        let Some(raw) = self.0.get("options") else { return Ok(Default::default()) };
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            Ok(_) => usage("--options: must be a JSON object of library options"),
            Err(e) => usage(format!("--options: not JSON: {e}")),
        }
    }
}

pub fn usage_text(program: &str, summary: &str, specs: &[Spec]) -> String {
    let mut out = format!("{program}: {summary}\n\nFlags:\n");
    for s in specs {
        let left = if s.boolean { format!("--{}", s.name) } else { format!("--{} VALUE", s.name) };
        let def = s.default.as_ref().map(|d| format!(" (default {d})")).unwrap_or_default();
        out.push_str(&format!("  {left:<28} {}{def}\n", s.help));
    }
    out.push_str(&format!("  {:<28} this text\n", "--help"));
    out
}

/// Runs a program's main so that a failure is one line on stderr: exit 2 for a bad command
/// line, 1 otherwise; never a panic's trace.
pub fn run(program: &str, main: impl FnOnce() -> Result<(), Failure>) -> ! {
    match main() {
        Ok(()) | Err(Failure::Help) => std::process::exit(0),
        Err(Failure::Usage(m)) => {
            eprintln!("{program}: {m}");
            std::process::exit(2)
        }
        Err(Failure::Other(m)) => {
            eprintln!("{program}: {m}");
            std::process::exit(1)
        }
    }
}

pub fn authority(host: &str, port: i64) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// The library's settings of --options by their names (lab/catalogue/library-options.ts);
/// each read marks the name used, and `check` refuses the rest.
pub struct Options {
    map: serde_json::Map<String, serde_json::Value>,
    used: Vec<String>,
}

impl Options {
    pub fn new(map: serde_json::Map<String, serde_json::Value>) -> Options {
        Options { map, used: vec![] }
    }

    pub fn ms(&mut self, name: &str) -> Result<Option<std::time::Duration>, Failure> {
        self.used.push(name.into());
        match self.map.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(ms) => Ok(Some(std::time::Duration::from_millis(ms))),
                None => usage(format!("--options: \"{name}\" must be a whole number >= 0, got {v}")),
            },
        }
    }

    pub fn count(&mut self, name: &str) -> Result<Option<u64>, Failure> {
        self.used.push(name.into());
        match self.map.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) => Ok(Some(n)),
                None => usage(format!("--options: \"{name}\" must be a whole number >= 0, got {v}")),
            },
        }
    }

    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, Failure> {
        self.used.push(name.into());
        match self.map.get(name) {
            None => Ok(None),
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(v) if v.is_number() => Ok(Some(v.as_f64() != Some(0.0))),
            Some(v) => usage(format!("--options: \"{name}\" must be true or false, got {v}")),
        }
    }

    pub fn check(&self) -> Result<(), Failure> {
        for name in self.map.keys() {
            if !self.used.contains(name) {
                return usage(format!("--options: this program does not pass \"{name}\" to tonic"));
            }
        }
        Ok(())
    }
}
