//! The guest tools: what `yum`, `dnf`, `apt-get`, `systemctl`, `service`, `poweroff` and
//! `reboot` do inside an instance. An instance has no package network, so installing maps
//! a few well-known packages onto servers nubo ships (`httpd`, `nginx`, `apache2`: a
//! static web server on port 80 over the package's document root), accepts what the
//! AMI already has (`python3`, `curl`, ...), and fails clearly for anything else.
//!
//! State lives in the guest's own files, so it survives a stop and start with the root
//! volume: installed packages in `/var/lib/nubo/packages`, enabled units in
//! `/etc/nubo/enabled`, running ones as pid files in `/run/nubo`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PACKAGES: &str = "/var/lib/nubo/packages";
const ENABLED: &str = "/etc/nubo/enabled";
const RUNNING: &str = "/run/nubo";

/// A package nubo knows how to stand in for: its service and what it serves.
struct Service {
    package: &'static str,
    unit: &'static str,
    description: &'static str,
    docroot: &'static str,
    port: u16,
}

const SERVICES: &[Service] = &[
    Service { package: "httpd", unit: "httpd", description: "The Apache HTTP Server", docroot: "/var/www/html", port: 80 },
    Service { package: "apache2", unit: "apache2", description: "The Apache HTTP Server", docroot: "/var/www/html", port: 80 },
    Service { package: "nginx", unit: "nginx", description: "The nginx HTTP and reverse proxy server", docroot: "/usr/share/nginx/html", port: 80 },
];

/// The shims, written into the guest's root at each boot.
pub fn install() -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tools = [
        ("/usr/bin/yum", "yum"),
        ("/usr/bin/dnf", "dnf"),
        ("/usr/bin/apt-get", "apt-get"),
        ("/usr/bin/apt", "apt"),
        ("/usr/bin/systemctl", "systemctl"),
        ("/usr/sbin/service", "service"),
        ("/usr/sbin/poweroff", "poweroff"),
        ("/usr/sbin/halt", "poweroff"),
        ("/usr/sbin/shutdown", "poweroff"),
        ("/usr/sbin/reboot", "reboot"),
    ];
    for (path, tool) in tools {
        let path = Path::new(path);
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        // A symlink in the AMI (e.g. reboot → systemctl) must not be written through.
        let _ = std::fs::remove_file(path);
        std::fs::write(path, format!("#!/bin/sh\n# nubo's stand-in: there is no package network in an instance.\nexec {} {} {tool} \"$@\"\n", crate::GUEST_BINARY, crate::GUEST_COMMAND))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// `nubo __guest <tool> <args...>`: returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let Some((tool, rest)) = args.split_first() else { return 2 };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match tool.as_str() {
        "yum" | "dnf" => packages(&rest, false),
        "apt-get" | "apt" => packages(&rest, true),
        "systemctl" => systemctl(&rest),
        "service" => match rest.as_slice() {
            [unit, verb, ..] => systemctl(&[verb, unit]),
            _ => {
                eprintln!("Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]");
                1
            }
        },
        "poweroff" => signal_init(nix::sys::signal::Signal::SIGUSR1),
        "reboot" => signal_init(nix::sys::signal::Signal::SIGUSR2),
        "serve" => match rest.as_slice() {
            [docroot, port] => match port.parse() {
                Ok(port) => serve(Path::new(docroot), port).map(|_| 0).unwrap_or_else(|e| {
                    eprintln!("cannot serve: {e}");
                    1
                }),
                Err(_) => 2,
            },
            _ => 2,
        },
        _ => 2,
    }
}

fn signal_init(signal: nix::sys::signal::Signal) -> i32 {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(1), signal) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Failed to talk to init: {e}");
            1
        }
    }
}

fn on_path(name: &str) -> bool {
    ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].iter().any(|d| Path::new(d).join(name).exists())
}

fn installed(package: &str) -> bool {
    Path::new(PACKAGES).join(package).exists()
}

/// `yum`/`dnf`/`apt-get`: `install`, `update`/`upgrade`, `remove`; the rest succeeds quietly.
fn packages(args: &[&str], apt: bool) -> i32 {
    let words: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
    let Some((verb, names)) = words.split_first() else {
        eprintln!("usage: {} [options] COMMAND", if apt { "apt-get" } else { "yum" });
        return 1;
    };
    match *verb {
        "install" | "reinstall" => {
            let mut done = Vec::new();
            for name in names {
                // `python3.11`, `httpd-2.4` and `pkg.x86_64` name the same packages here.
                let base = name.trim_end_matches(".x86_64").trim_end_matches(".noarch");
                if let Some(s) = SERVICES.iter().find(|s| s.package == base) {
                    let _ = std::fs::create_dir_all(PACKAGES).and_then(|_| std::fs::write(Path::new(PACKAGES).join(s.package), s.unit));
                    let _ = std::fs::create_dir_all(s.docroot);
                    done.push(s.package.to_string());
                } else if on_path(base) || on_path(base.trim_end_matches("-pip")) {
                    done.push(format!("{base} (already in the AMI)"));
                } else if apt {
                    eprintln!("E: Unable to locate package {name}\nnubo: instances have no package network; nubo stands in for httpd, apache2, nginx and what the AMI already has.");
                    return 100;
                } else {
                    eprintln!("No match for argument: {name}\nError: Unable to find a match: {name}\nnubo: instances have no package network; nubo stands in for httpd, nginx and what the AMI already has.");
                    return 1;
                }
            }
            if apt {
                println!("Reading package lists... Done\nBuilding dependency tree... Done");
                for d in &done {
                    println!("Setting up {d} ...");
                }
            } else {
                println!("Dependencies resolved.\nInstalled:");
                for d in &done {
                    println!("  {d}");
                }
                println!("\nComplete!");
            }
            0
        }
        "remove" | "erase" | "purge" => {
            for name in names {
                let _ = std::fs::remove_file(Path::new(PACKAGES).join(name));
            }
            println!("{}", if apt { "Done" } else { "Complete!" });
            0
        }
        "update" | "upgrade" | "makecache" | "clean" | "check-update" => {
            println!("{}", if apt { "Reading package lists... Done" } else { "Dependencies resolved.\nNothing to do.\nComplete!" });
            0
        }
        _ => 0,
    }
}

fn unit_name(arg: &str) -> &str {
    arg.trim_end_matches(".service")
}

fn service(unit: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.unit == unit && installed(s.package))
}

fn enabled_units() -> Vec<String> {
    std::fs::read_to_string(ENABLED).unwrap_or_default().lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
}

fn pid_file(unit: &str) -> PathBuf {
    Path::new(RUNNING).join(format!("{unit}.pid"))
}

fn running(unit: &str) -> bool {
    std::fs::read_to_string(pid_file(unit)).ok().and_then(|p| p.trim().parse::<i32>().ok()).is_some_and(|pid| {
        // A zombie is not running; its init reaps it.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
    })
}

/// Starts a unit's server, detached, and waits until it accepts connections.
fn start(s: &Service, env: &[(String, String)]) -> io::Result<()> {
    if running(s.unit) {
        return Ok(());
    }
    std::fs::create_dir_all(RUNNING)?;
    std::fs::create_dir_all("/var/log")?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(format!("/var/log/{}.log", s.unit))?;
    let mut command = Command::new(crate::GUEST_BINARY);
    command.args([crate::GUEST_COMMAND, "serve", s.docroot, &s.port.to_string()]).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).current_dir("/");
    if !env.is_empty() {
        command.env_clear().envs(env.iter().cloned());
    }
    // SAFETY: setsid(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(io::Error::from));
    }
    let child = command.spawn()?;
    std::fs::write(pid_file(s.unit), child.id().to_string())?;
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(io::Error::other(format!("{} did not start listening on port {}", s.unit, s.port)))
}

fn stop(unit: &str) {
    if let Some(pid) = std::fs::read_to_string(pid_file(unit)).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    let _ = std::fs::remove_file(pid_file(unit));
}

/// Starts the enabled units at boot (from init, which passes the guest environment).
pub fn start_enabled(env: &[(String, String)]) {
    for unit in enabled_units() {
        if let Some(s) = service(&unit) {
            match start(s, env) {
                Ok(()) => println!("[  OK  ] Started {}.", s.description),
                Err(e) => println!("[FAILED] Failed to start {}: {e}", s.description),
            }
        }
    }
}

fn systemctl(args: &[&str]) -> i32 {
    let now = args.contains(&"--now");
    let words: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
    let Some((verb, units)) = words.split_first() else {
        println!("UNIT LOAD ACTIVE SUB DESCRIPTION");
        return 0;
    };
    if matches!(*verb, "daemon-reload" | "daemon-reexec" | "list-units" | "list-unit-files") {
        return 0;
    }
    if matches!(*verb, "poweroff" | "halt") {
        return signal_init(nix::sys::signal::Signal::SIGUSR1);
    }
    if *verb == "reboot" {
        return signal_init(nix::sys::signal::Signal::SIGUSR2);
    }
    let mut status = 0;
    for unit in units.iter().map(|u| unit_name(u)) {
        let Some(s) = service(unit) else {
            match *verb {
                "is-active" => {
                    println!("inactive");
                    status = 3;
                }
                "is-enabled" => {
                    eprintln!("Failed to get unit file state for {unit}.service: No such file or directory");
                    status = 1;
                }
                "status" => {
                    eprintln!("Unit {unit}.service could not be found.");
                    status = 4;
                }
                "enable" | "disable" => {
                    eprintln!("Failed to {verb} unit: Unit file {unit}.service does not exist.");
                    status = 1;
                }
                _ => {
                    eprintln!("Failed to {verb} {unit}.service: Unit {unit}.service not found.");
                    status = 5;
                }
            }
            continue;
        };
        let result = match *verb {
            "start" => start(s, &[]),
            "stop" => {
                stop(unit);
                Ok(())
            }
            "restart" | "reload" | "try-restart" | "reload-or-restart" => {
                stop(unit);
                start(s, &[])
            }
            "enable" => {
                let mut enabled = enabled_units();
                if !enabled.iter().any(|u| u == unit) {
                    enabled.push(unit.to_string());
                    let _ = std::fs::create_dir_all("/etc/nubo").and_then(|_| std::fs::write(ENABLED, enabled.join("\n") + "\n"));
                    println!("Created symlink /etc/systemd/system/multi-user.target.wants/{unit}.service → /usr/lib/systemd/system/{unit}.service.");
                }
                if now {
                    start(s, &[])
                } else {
                    Ok(())
                }
            }
            "disable" => {
                let enabled: Vec<String> = enabled_units().into_iter().filter(|u| u != unit).collect();
                let _ = std::fs::write(ENABLED, enabled.join("\n") + "\n");
                if now {
                    stop(unit);
                }
                Ok(())
            }
            "is-active" => {
                let active = running(unit);
                println!("{}", if active { "active" } else { "inactive" });
                if !active {
                    status = 3;
                }
                Ok(())
            }
            "is-enabled" => {
                let on = enabled_units().iter().any(|u| u == unit);
                println!("{}", if on { "enabled" } else { "disabled" });
                if !on {
                    status = 1;
                }
                Ok(())
            }
            "status" => {
                let active = running(unit);
                println!("● {unit}.service - {}\n     Loaded: loaded (/usr/lib/systemd/system/{unit}.service; {})\n     Active: {}", s.description, if enabled_units().iter().any(|u| u == unit) { "enabled" } else { "disabled" }, if active { "active (running)" } else { "inactive (dead)" });
                if !active {
                    status = 3;
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            eprintln!("Job for {unit}.service failed: {e}");
            status = 1;
        }
    }
    status
}

/// The stand-in web server: static files under `docroot`, one thread per connection.
fn serve(docroot: &Path, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port))?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let docroot = docroot.to_path_buf();
        std::thread::spawn(move || {
            let _ = answer(stream, &docroot);
        });
    }
    Ok(())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=UTF-8",
        "css" => "text/css",
        "js" => "application/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=UTF-8",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn answer(stream: TcpStream, docroot: &Path) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = percent_decode(target.split('?').next().unwrap_or("/"));
    let mut file = docroot.to_path_buf();
    for segment in path.split('/').filter(|s| !s.is_empty() && *s != "." && *s != "..") {
        file.push(segment);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let (status, kind, body) = match std::fs::read(&file) {
        Ok(body) => ("200 OK", content_type(&file), body),
        Err(_) if path == "/" => ("200 OK", "text/html; charset=UTF-8", b"<html><body><h1>It works!</h1></body></html>\n".to_vec()),
        Err(_) => ("404 Not Found", "text/html; charset=iso-8859-1", format!("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL {path} was not found on this server.</p>\n</body></html>\n").into_bytes()),
    };
    if method != "GET" && method != "HEAD" {
        let mut s = &stream;
        return s.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let mut s = &stream;
    write!(s, "HTTP/1.1 {status}\r\nServer: Apache/2.4 (nubo)\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    if method == "GET" {
        s.write_all(&body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode_and_stray_percents_stay() {
        assert_eq!(percent_decode("/a%20b/%zz/100%"), "/a b/%zz/100%");
    }
}
