//! Command-line flags and their environment variables.

use std::path::PathBuf;

pub const USAGE: &str = "\
nubo: a local AWS cloud in one binary

USAGE: nubo [OPTIONS]

OPTIONS (each also read from the environment variable shown):
  --host <ADDR>         address to listen on            NUBO_HOST      [127.0.0.1]
  --port <PORT>         port to listen on (0: any free)  NUBO_PORT      [4566]
  --data-dir <DIR>      where state is kept              NUBO_DATA_DIR  [$XDG_DATA_HOME/nubo or ~/.local/share/nubo]
  --ephemeral           keep everything in memory        NUBO_EPHEMERAL=1
  --time-scale <N>      run the clock N times faster     NUBO_TIME_SCALE [1]
  --enforce-iam         verify signatures, enforce IAM   NUBO_ENFORCE_IAM=1
  --no-front-door       load balancers only on their own NUBO_FRONT_DOOR=0
                        addresses, not also on 127.0.0.1
  --log <LEVEL>         error, warn, info, debug, trace  NUBO_LOG       [info]
  -h, --help            this text
  -V, --version         the version
";

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub ephemeral: bool,
    /// Verify SigV4 signatures and authorize every call with IAM's policies.
    pub enforce_iam: bool,
    pub time_scale: f64,
    pub log: String,
    /// Load balancers' HTTP(S) ports also on 127.0.0.1, routed by Host.
    pub front_door: bool,
}

pub enum Parsed {
    Run(Config),
    Exit(String),
}

fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("nubo");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/nubo")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut c = Config {
        host: env("NUBO_HOST").unwrap_or_else(|| "127.0.0.1".into()),
        port: 4566,
        data_dir: env("NUBO_DATA_DIR").map(PathBuf::from).unwrap_or_else(default_data_dir),
        ephemeral: env("NUBO_EPHEMERAL").is_some_and(|v| v != "0" && v != "false"),
        enforce_iam: env("NUBO_ENFORCE_IAM").is_some_and(|v| v != "0" && v != "false"),
        time_scale: 1.0,
        log: env("NUBO_LOG").unwrap_or_else(|| "info".into()),
        front_door: !env("NUBO_FRONT_DOOR").is_some_and(|v| v == "0" || v == "false"),
    };
    let mut port = env("NUBO_PORT");
    let mut scale = env("NUBO_TIME_SCALE");
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => c.host = value()?,
            "--port" => port = Some(value()?),
            "--data-dir" => c.data_dir = PathBuf::from(value()?),
            "--ephemeral" => c.ephemeral = true,
            "--enforce-iam" => c.enforce_iam = true,
            "--no-front-door" => c.front_door = false,
            "--time-scale" => scale = Some(value()?),
            "--log" => c.log = value()?,
            "-h" | "--help" => return Ok(Parsed::Exit(USAGE.into())),
            "-V" | "--version" => return Ok(Parsed::Exit(format!("nubo {}", env!("CARGO_PKG_VERSION")))),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if let Some(p) = port {
        c.port = p.parse().map_err(|_| format!("invalid port {p}"))?;
    }
    if let Some(s) = scale {
        c.time_scale = s.parse().ok().filter(|s: &f64| *s > 0.0 && s.is_finite()).ok_or_else(|| format!("invalid time scale {s}"))?;
    }
    Ok(Parsed::Run(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(args.iter().map(|s| s.to_string())).unwrap() {
            Parsed::Run(c) => c,
            Parsed::Exit(_) => panic!("exit"),
        }
    }

    #[test]
    fn flags_override_defaults() {
        let c = run(&["--port", "0", "--ephemeral", "--time-scale=60", "--host", "127.0.0.2"]);
        assert_eq!((c.port, c.ephemeral, c.time_scale, c.host.as_str()), (0, true, 60.0, "127.0.0.2"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse(["--port".to_string(), "x".into()]).is_err());
        assert!(parse(["--time-scale".to_string(), "0".into()]).is_err());
        assert!(parse(["--bogus".to_string()]).is_err());
    }
}
