//! The composition root: reads the configuration, opens the store, starts the clock,
//! builds every service, and serves them on one port until SIGINT or SIGTERM.

mod config;
mod wiring;

use config::{Config, Parsed};
use nubo_core::Clock;
use nubo_gateway::Gateway;
use nubo_model::Handler;
use nubo_store::Store;
use std::process::ExitCode;

/// What the binary serves beside the services' APIs.
struct Extras {
    elb: nubo_elbv2::Elbv2,
    lambda: nubo_lambda::Lambda,
    urls: std::sync::Arc<wiring::UrlListenerSet>,
    names: std::sync::Arc<dyn nubo_dns::Names>,
}

/// Every service's API, and its background controllers started beside it.
fn services(store: &Store, clock: &Clock, iam: &nubo_iam::Iam, api: std::net::SocketAddr, machines: std::path::PathBuf, front_door: bool) -> (Vec<Box<dyn Handler>>, Extras) {
    let endpoint = &format!("http://{api}");
    let sqs = nubo_sqs::Sqs::new(store.clone(), clock.clone());
    let functions = wiring::FunctionSlot::default();
    let s3 = nubo_s3::S3::new(store.clone(), clock.clone()).with_events(std::sync::Arc::new(wiring::S3Events { sqs: sqs.clone(), lambda: functions.clone() }));
    tokio::spawn(nubo_s3::lifecycle::run(s3.clone()));
    let started = std::time::SystemTime::now();
    let gc = s3.clone();
    tokio::spawn(async move {
        match gc.collect_garbage(started).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("reclaimed {n} orphaned S3 blobs"),
            Err(e) => tracing::warn!("S3 blob collection failed: {e:?}"),
        }
    });
    let sns = nubo_sns::Sns::new(store.clone(), clock.clone()).with_delivery(std::sync::Arc::new(wiring::SnsDelivery { sqs: sqs.clone(), lambda: functions.clone() }));
    let runtime = nubo_ec2::runtime::Runtime::new(machines, nubo_sandbox::launch::detect(), api);
    runtime.set_credentials(std::sync::Arc::new(wiring::InstanceRoles { iam: iam.clone() }));
    let ec2 = nubo_ec2::Ec2::new(store.clone(), clock.clone()).with_runtime(runtime);
    let scaling = wiring::ScalingSlot::default();
    let cloudwatch = nubo_cloudwatch::CloudWatch::new(store.clone(), clock.clone())
        .with_actions(std::sync::Arc::new(wiring::AlarmNotifications { sns: sns.clone(), ec2: ec2.clone(), autoscaling: scaling.clone() }));
    tokio::spawn(nubo_cloudwatch::alarms::run(cloudwatch.clone()));
    tokio::spawn(nubo_cloudwatch::retention::run(cloudwatch.clone()));
    tokio::spawn(wiring::queue_metrics(sqs.clone(), cloudwatch.clone(), clock.clone()));
    tokio::spawn(wiring::instance_metrics(ec2.clone(), cloudwatch.clone(), clock.clone()));
    let logs = nubo_logs::Logs::new(store.clone(), clock.clone()).with_metrics(std::sync::Arc::new(wiring::LogMetrics { cloudwatch: cloudwatch.clone() }));
    tokio::spawn(nubo_logs::retention::run(logs.clone()));
    let dynamodb = nubo_dynamodb::DynamoDb::new(store.clone(), clock.clone());
    let urls = std::sync::Arc::new(wiring::UrlListenerSet::default());
    let lambda = nubo_lambda::Lambda::new(store.clone(), clock.clone(), endpoint.to_string())
        .with_url_listeners(urls.clone())
        .with_logs(std::sync::Arc::new(wiring::FunctionLogs { logs: logs.clone() }))
        .with_queues(std::sync::Arc::new(wiring::MappedQueues { sqs: sqs.clone() }))
        .with_streams(std::sync::Arc::new(wiring::MappedStreams { dynamodb: dynamodb.clone() }))
        .with_roles(std::sync::Arc::new(wiring::FunctionRoles { iam: iam.clone() }))
        .with_code_source(std::sync::Arc::new(wiring::FunctionCode { s3: s3.clone() }))
        .with_destinations(std::sync::Arc::new(wiring::FunctionDestinations { sqs: sqs.clone(), sns: sns.clone() }));
    lambda.start_mappings();
    lambda.start_reaper();
    tokio::spawn(wiring::function_metrics(lambda.clone(), cloudwatch.clone(), clock.clone()));
    let _ = functions.set(lambda.clone());
    tokio::spawn(nubo_dynamodb::ttl::run(dynamodb.clone()));
    let elb = nubo_elbv2::Elbv2::new(store.clone(), clock.clone(), std::sync::Arc::new(wiring::ElbNetwork { ec2: ec2.clone() }));
    let acm = nubo_acm::Acm::new(store.clone(), clock.clone());
    elb.set_certificates(std::sync::Arc::new(wiring::ListenerCertificates { acm: acm.clone() }));
    acm.set_usage(std::sync::Arc::new(wiring::CertificateUsers { elb: elb.clone() }));
    // The front door never takes nubo's own port (which routes by Host itself).
    elb.plane().configure_front_door(front_door, vec![api.port()]);
    elb.start();
    let names: std::sync::Arc<dyn nubo_dns::Names> = std::sync::Arc::new(wiring::OwnedNames { elb: elb.clone(), ec2: ec2.clone(), lambda: lambda.clone() });
    if let Some(runtime) = ec2.runtime() {
        runtime.set_names(names.clone());
    }
    let extras = Extras { elb: elb.clone(), lambda: lambda.clone(), urls, names };
    tokio::spawn(wiring::load_balancer_metrics(elb.clone(), cloudwatch.clone(), clock.clone()));
    elb.set_functions(std::sync::Arc::new(wiring::TargetFunctions { lambda: functions.clone() }));
    elb.set_log_buckets(std::sync::Arc::new(wiring::LogBuckets { s3: s3.clone() }));
    tokio::spawn(wiring::load_balancer_access_logs(elb.clone(), clock.clone()));
    let autoscaling = nubo_autoscaling::AutoScaling::new(
        store.clone(),
        clock.clone(),
        std::sync::Arc::new(wiring::ScalingFleet { ec2: ec2.clone() }),
        std::sync::Arc::new(wiring::ScalingBalancers { elb: elb.clone() }),
        std::sync::Arc::new(wiring::ScalingAlarms { cloudwatch: cloudwatch.clone() }),
        std::sync::Arc::new(wiring::ScalingNotices { sns: sns.clone(), sqs: sqs.clone() }),
    );
    autoscaling.start();
    tokio::spawn(wiring::group_metrics(autoscaling.clone(), cloudwatch.clone(), clock.clone()));
    let _ = scaling.set(autoscaling.clone());
    let handlers = vec![
        nubo_iam::service(iam.clone()),
        nubo_iam::sts::service(iam.clone()),
        nubo_sqs::service(sqs),
        nubo_sns::service(sns),
        nubo_s3::service(s3),
        nubo_ec2::service(ec2),
        nubo_elbv2::service(elb),
        nubo_autoscaling::service(autoscaling),
        nubo_acm::service(acm),
        nubo_lambda::service(lambda),
        nubo_cloudwatch::service(cloudwatch),
        nubo_logs::service(logs),
        nubo_dynamodb::streams_service(dynamodb.clone()),
        nubo_dynamodb::service(dynamodb),
    ];
    (handlers, extras)
}

fn main() -> ExitCode {
    // nubo's binary is also each instance's init and its guest tools (before any thread exists).
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(nubo_sandbox::INIT_COMMAND) => return exit(nubo_sandbox::init::main(args.get(2).map(String::as_str).unwrap_or_default())),
        Some(nubo_sandbox::GUEST_COMMAND) => return exit(nubo_sandbox::guest::main(&args[2..])),
        Some(nubo_sandbox::function::INIT_COMMAND) => return exit(nubo_sandbox::function::main(args.get(2).map(String::as_str).unwrap_or_default())),
        _ => {}
    }
    let config = match config::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Exit(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("nubo: {e}");
            return ExitCode::from(2);
        }
    };
    let level = config.log.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt().with_max_level(level).with_target(false).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nubo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn run(config: Config) -> Result<(), String> {
    let store = if config.ephemeral {
        Store::in_memory()
    } else {
        Store::open(&config.data_dir).map_err(|e| format!("cannot open the data dir: {e}"))?
    };
    let clock = Clock::scaled(config.time_scale);
    let iam = nubo_iam::Iam::new(store.clone(), clock.clone(), config.enforce_iam);
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Functions call back into nubo: the address they use is the one just bound.
    let api = if addr.ip().is_unspecified() { std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    // Instances' root volumes live with the data; an ephemeral nubo's go when it stops.
    let machines = if config.ephemeral {
        std::env::temp_dir().join(format!("nubo-machines-{}", std::process::id()))
    } else {
        config.data_dir.join("machines")
    };
    let (handlers, extras) = services(&store, &clock, &iam, api, machines.clone(), config.front_door);
    let gateway = Gateway::new(handlers, clock, store, Some(nubo_iam::guard(iam)), config.enforce_iam);
    // nubo's DNS answers on the API's address and port, over UDP.
    let dns = match std::net::UdpSocket::bind(addr).and_then(|s| s.set_nonblocking(true).map(|_| s)).and_then(tokio::net::UdpSocket::from_std) {
        Ok(socket) => {
            tokio::spawn(nubo_dns::serve(socket, extras.names.clone()));
            serde_json::json!(api.to_string())
        }
        Err(e) => {
            tracing::warn!("nubo's DNS cannot listen on udp {addr}: {e}");
            serde_json::json!(format!("unavailable: cannot listen on udp {addr}: {e}"))
        }
    };
    gateway.report("dns", move || dns.clone());
    let elb = extras.elb.clone();
    let _ = extras.urls.gateway.set(gateway.clone());
    extras.lambda.publish_urls();
    let urls = extras.urls.clone();
    gateway.report("function_urls", move || serde_json::json!(urls.status.lock().unwrap().clone()));
    gateway.report("front_door", move || serde_json::json!(elb.plane().front_door_status().into_iter().map(|(port, status)| (port.to_string(), serde_json::json!(status))).collect::<serde_json::Map<_, _>>()));
    // Signal handlers are in place before anyone can know the address to signal us after.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    // The first line on stdout: scripts (and the test harness) read the port from it.
    println!("nubo listening on http://{addr}");
    tracing::info!(
        "nubo {} ready on http://{addr} ({}; time scale {})",
        env!("CARGO_PKG_VERSION"),
        if config.ephemeral { "ephemeral".to_string() } else { format!("data in {}", config.data_dir.display()) },
        config.time_scale
    );
    if config.enforce_iam {
        tracing::info!("IAM is enforced: requests must be signed with valid keys and are authorized by IAM policies");
    }
    nubo_gateway::server::serve(listener, gateway, shutdown).await;
    if config.ephemeral {
        let _ = std::fs::remove_dir_all(&machines);
    }
    tracing::info!("nubo stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM; the handlers are installed when this is called.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
    })
}
