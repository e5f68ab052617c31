//! `cargo xtask codegen [--botocore <botocore package dir>]`
//!
//! Reads AWS's service models from botocore (found with `python3 -c 'import botocore'` when
//! not given), writes each one trimmed to what the wire needs into `crates/model/models/`,
//! and writes the typed shapes, service traits and dispatchers of the implemented
//! operations into `crates/model/src/generated/`. The output is committed so that a
//! plain `cargo build` needs neither Python nor botocore.

mod rust;
mod services;

/// The shape model, shared with nubo-model by source so that codegen never depends on the
/// code it generates (a broken generated file must not stop its own regeneration).
#[path = "../../crates/model/src/shape.rs"]
#[allow(dead_code)]
mod shape;

use shape::ServiceModel;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let botocore = match args.iter().position(|a| a == "--botocore") {
                Some(i) => PathBuf::from(args.get(i + 1).expect("--botocore needs a directory")),
                None => find_botocore(),
            };
            codegen(&botocore);
        }
        _ => {
            eprintln!("usage: cargo xtask codegen [--botocore <dir of the botocore package>]");
            std::process::exit(2);
        }
    }
}

fn find_botocore() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"])
        .output()
        .expect("python3 with botocore is needed to find the models (or pass --botocore)");
    assert!(out.status.success(), "botocore is not importable: pass --botocore <dir>");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn botocore_version(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("__init__.py"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .map(|l| l.split('\'').nth(1).unwrap_or("?").to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn load_model(botocore: &Path, name: &str) -> ServiceModel {
    let svc_dir = botocore.join("data").join(name);
    let mut versions: Vec<_> = std::fs::read_dir(&svc_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", svc_dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    versions.sort();
    let dir = versions.last().expect("no model version");
    let gz = dir.join("service-2.json.gz");
    let text = if gz.exists() {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()), &mut s)
            .unwrap();
        s
    } else {
        std::fs::read_to_string(dir.join("service-2.json")).unwrap()
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn codegen(botocore: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("crates/model");
    let models_dir = root.join("models");
    let gen_dir = root.join("src/generated");
    std::fs::create_dir_all(&models_dir).unwrap();
    std::fs::create_dir_all(&gen_dir).unwrap();
    let version = botocore_version(botocore);

    let mut modules = Vec::new();
    let mut metas = Vec::new();
    for spec in services::SERVICES {
        let model = load_model(botocore, spec.botocore);
        metas.push(rust::meta(spec, &model));
        for op in spec.operations {
            assert!(model.operations.contains_key(*op), "{}: no operation {op} in the model", spec.name);
        }
        std::fs::write(models_dir.join(format!("{}.json", spec.name)), serde_json::to_string(&model).unwrap())
            .unwrap();
        if !spec.operations.is_empty() {
            let code = rust::generate(spec, &model, &version);
            std::fs::write(gen_dir.join(format!("{}.rs", spec.name)), code).unwrap();
            modules.push(spec.name);
        }
        eprintln!("codegen: {} ({} operations implemented)", spec.name, spec.operations.len());
    }
    std::fs::write(gen_dir.join("mod.rs"), rust::generate_mod(&modules, &metas, &version)).unwrap();
    let license = botocore.parent().and_then(|site| {
        std::fs::read_dir(site).ok()?.filter_map(|e| e.ok()).find_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            (n.starts_with("botocore-") && n.ends_with(".dist-info")).then(|| e.path())
        })
    });
    if let Some(lic) = license.and_then(|d| std::fs::read_to_string(d.join("LICENSE.txt")).ok()) {
        std::fs::write(models_dir.join("LICENSE.txt"), lic).unwrap();
    }
    std::fs::write(
        models_dir.join("NOTICE"),
        format!(
            "The JSON files in this directory are AWS service models from botocore {version}\n\
             (https://github.com/boto/botocore), Copyright Amazon.com, Inc. or its affiliates,\n\
             licensed under the Apache License 2.0 (LICENSE.txt). nubo's code generator removed\n\
             their documentation strings and rewrote them compactly; the models are otherwise unchanged.\n"
        ),
    )
    .unwrap();
}
