//! `cargo xtask check-msrv` and `cargo xtask check-features`: what the
//! manifests promise users, checked against `cargo metadata`.
//!
//! - The workspace's `rust-version` is the newest `rust-version` among the
//!   packages the published crates pull in (normal and build dependencies,
//!   every optional type feature on, every platform): lower would be a
//!   promise the lockfile breaks, higher would turn away compilers that
//!   work.
//! - Every feature of pgwire-proto is a feature of pgwire-conn and of each
//!   runtime adapter, which turns it on below, so that a user of
//!   `pgwire-tokio` can ask for `uuid`; and docs.rs builds every published
//!   crate with all features, so the rustdoc shows those conversions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{bail, Context, Result};
use crate::layout::Layout;
use crate::output::say;
use crate::process;

/// The crate whose features are the optional type conversions.
const PROTO: &str = "pgwire-proto";
/// The crate between pgwire-proto and the adapters.
const CONN: &str = "pgwire-conn";
/// The runtime adapters users depend on.
const ADAPTERS: &[&str] = &["pgwire-tokio", "pgwire-smol", "pgwire-async-std"];

/// `cargo xtask check-msrv`.
pub fn check_msrv() -> Result<i32> {
    let metadata = metadata()?;
    let (declared, required) = msrv(&metadata)?;
    if declared.version != required.version {
        bail!(
            "the workspace declares rust-version {} but its dependencies need {} \
             ({} {}); set rust-version = \"{}\" in Cargo.toml",
            declared.text,
            required.text,
            required.package,
            required.package_version,
            required.text
        );
    }
    say!(
        "rust-version {} is what the dependency tree needs ({} {})",
        declared.text,
        required.package,
        required.package_version
    );
    Ok(0)
}

/// `cargo xtask check-features`.
pub fn check_features() -> Result<i32> {
    let metadata = metadata()?;
    let problems = feature_problems(&metadata)?;
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    say!("pgwire-proto's features reach every adapter, and docs.rs builds them all");
    Ok(0)
}

/// `cargo metadata` of the workspace, with every feature on so that the
/// optional dependencies count.
fn metadata() -> Result<Value> {
    let layout = Layout::discover()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(&layout.workspace).args([
        "metadata",
        "--format-version",
        "1",
        "--all-features",
        "--locked",
    ]);
    let out = process::output(&mut cmd, "cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", process::combined_output(&out));
    }
    serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")
}

/// A `rust-version`, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustVersion {
    /// Major, minor, patch (a missing part is 0).
    pub version: (u64, u64, u64),
    /// As written.
    pub text: String,
    /// The package that declares it.
    pub package: String,
    /// That package's version.
    pub package_version: String,
}

fn rust_version(package: &Value) -> Result<Option<RustVersion>> {
    let Some(text) = package["rust_version"].as_str() else {
        return Ok(None);
    };
    let name = package["name"].as_str().unwrap_or("?");
    let mut parts = text.split('.').map(str::parse::<u64>);
    let mut next = || parts.next().transpose();
    let parsed = (|| -> Result<_, std::num::ParseIntError> {
        Ok((
            next()?.unwrap_or(0),
            next()?.unwrap_or(0),
            next()?.unwrap_or(0),
        ))
    })();
    let Ok(version) = parsed else {
        bail!("{name}: rust-version {text:?} is not a version");
    };
    Ok(Some(RustVersion {
        version,
        text: text.to_owned(),
        package: name.to_owned(),
        package_version: package["version"].as_str().unwrap_or("?").to_owned(),
    }))
}

/// The workspace's declared `rust-version` (the same in every published
/// member) and the newest one among the packages they pull in.
pub fn msrv(metadata: &Value) -> Result<(RustVersion, RustVersion)> {
    let packages = packages(metadata)?;
    let roots = published_members(metadata, &packages)?;
    let mut declared: Option<RustVersion> = None;
    for id in &roots {
        let Some(version) = rust_version(packages[id.as_str()])? else {
            bail!("{id} declares no rust-version");
        };
        match &declared {
            Some(d) if d.version != version.version => bail!(
                "{} declares rust-version {} but {} declares {}",
                d.package,
                d.text,
                version.package,
                version.text
            ),
            Some(_) => {}
            None => declared = Some(version),
        }
    }
    let Some(declared) = declared else {
        bail!("the workspace has no published member");
    };
    let mut required: Option<RustVersion> = None;
    for id in dependencies(metadata, &roots)? {
        if roots.contains(&id) {
            continue;
        }
        let Some(package) = packages.get(id.as_str()) else {
            bail!("cargo metadata lists no package {id}");
        };
        if let Some(version) = rust_version(package)? {
            if required
                .as_ref()
                .is_none_or(|r| version.version > r.version)
            {
                required = Some(version);
            }
        }
    }
    Ok((declared.clone(), required.unwrap_or(declared)))
}

/// Each package by id.
fn packages(metadata: &Value) -> Result<BTreeMap<&str, &Value>> {
    let Some(list) = metadata["packages"].as_array() else {
        bail!("cargo metadata has no packages");
    };
    Ok(list
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect())
}

/// The ids of the workspace members that are published (`publish` unset).
fn published_members(metadata: &Value, packages: &BTreeMap<&str, &Value>) -> Result<Vec<String>> {
    let Some(members) = metadata["workspace_members"].as_array() else {
        bail!("cargo metadata has no workspace_members");
    };
    Ok(members
        .iter()
        .filter_map(Value::as_str)
        .filter(|id| packages.get(id).is_some_and(|p| p["publish"].is_null()))
        .map(str::to_owned)
        .collect())
}

/// `roots` and every package they reach through normal and build
/// dependencies (dev-dependencies build only our tests).
fn dependencies(metadata: &Value, roots: &[String]) -> Result<BTreeSet<String>> {
    let Some(nodes) = metadata["resolve"]["nodes"].as_array() else {
        bail!("cargo metadata has no resolve graph");
    };
    let edges: BTreeMap<&str, Vec<&str>> = nodes
        .iter()
        .filter_map(|node| {
            let deps = node["deps"]
                .as_array()?
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"].as_array().is_some_and(|kinds| {
                        kinds
                            .iter()
                            .any(|k| k["kind"].is_null() || k["kind"] == "build")
                    })
                })
                .filter_map(|dep| dep["pkg"].as_str())
                .collect();
            Some((node["id"].as_str()?, deps))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = roots.iter().map(String::as_str).collect();
    while let Some(id) = todo.pop() {
        if seen.insert(id.to_owned()) {
            todo.extend(edges.get(id).into_iter().flatten());
        }
    }
    Ok(seen)
}

/// What is wrong with the features and docs.rs settings; empty when all is
/// well.
pub fn feature_problems(metadata: &Value) -> Result<Vec<String>> {
    let packages = packages(metadata)?;
    let by_name = |name: &str| -> Result<&Value> {
        match packages.values().find(|p| p["name"] == name) {
            Some(p) => Ok(*p),
            None => bail!("cargo metadata lists no package {name}"),
        }
    };
    let features = |package: &Value| -> BTreeMap<String, Vec<String>> {
        package["features"]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(name, enables)| {
                        let enables = enables
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect();
                        (name.clone(), enables)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let wanted: Vec<String> = features(by_name(PROTO)?)
        .into_keys()
        .filter(|name| name != "default")
        .collect();
    let mut problems = Vec::new();
    let mut check = |package: &str, below: &str| -> Result<()> {
        let have = features(by_name(package)?);
        for feature in &wanted {
            let forward = format!("{below}/{feature}");
            if !have.get(feature).is_some_and(|e| e.contains(&forward)) {
                problems.push(format!(
                    "{package} needs the feature `{feature} = [\"{forward}\"]`"
                ));
            }
        }
        Ok(())
    };
    check(CONN, PROTO)?;
    for adapter in ADAPTERS {
        check(adapter, CONN)?;
    }
    for id in published_members(metadata, &packages)? {
        let package = packages[id.as_str()];
        if package["metadata"]["docs"]["rs"]["all-features"] != true {
            problems.push(format!(
                "{} needs `[package.metadata.docs.rs] all-features = true`",
                package["name"].as_str().unwrap_or("?")
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_rust_version_is_what_the_dependencies_need() {
        let metadata = metadata().unwrap();
        let (declared, required) = msrv(&metadata).unwrap();
        assert_eq!(
            declared.version, required.version,
            "declared {}, but {} {} needs Rust {}",
            declared.text, required.package, required.package_version, required.text
        );
    }

    #[test]
    fn every_proto_feature_reaches_every_adapter() {
        let metadata = metadata().unwrap();
        assert_eq!(feature_problems(&metadata).unwrap(), Vec::<String>::new());
    }

    /// A workspace of one published crate `a` (rust-version `declared`)
    /// depending on `b` (1.70), which build-depends on `c` (1.80) and
    /// dev-depends on `d` (1.99).
    fn sample(declared: &str) -> Value {
        let package = |name: &str, rust: &str, publish: Value| {
            serde_json::json!({
                "id": name, "name": name, "version": "1.0.0",
                "rust_version": rust, "publish": publish, "features": {},
            })
        };
        let dep =
            |pkg: &str, kind: Value| serde_json::json!({"pkg": pkg, "dep_kinds": [{"kind": kind}]});
        serde_json::json!({
            "packages": [
                package("a", declared, Value::Null),
                package("b", "1.70", Value::Null),
                package("c", "1.80.1", Value::Null),
                package("d", "1.99", Value::Null),
                package("tests", "1.99", serde_json::json!([])),
            ],
            "workspace_members": ["a", "tests"],
            "resolve": {"nodes": [
                {"id": "a", "deps": [dep("b", Value::Null)]},
                {"id": "b", "deps": [dep("c", "build".into()), dep("d", "dev".into())]},
                {"id": "c", "deps": []},
                {"id": "d", "deps": []},
                {"id": "tests", "deps": [dep("d", Value::Null)]},
            ]},
        })
    }

    #[test]
    fn the_newest_normal_or_build_dependency_sets_the_msrv() {
        let (declared, required) = msrv(&sample("1.75")).unwrap();
        assert_eq!(declared.text, "1.75");
        assert_eq!(required.version, (1, 80, 1));
        assert_eq!(required.package, "c");
        let (declared, required) = msrv(&sample("1.80.1")).unwrap();
        assert_eq!(declared.version, required.version);
        let err = msrv(&sample("1.x")).unwrap_err().to_string();
        assert!(err.contains("not a version"), "{err}");
    }
}
