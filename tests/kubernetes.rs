//! deploy/kubernetes: a sharded run as an Indexed Job, a merge Job after it,
//! and apply.sh between them. No cluster can run where this project is
//! built, so the manifests are held together here instead of run: parsed,
//! and each name, path and number one file takes from another checked
//! against it (the Job's counts against `--shard-count`, the paths in the
//! args against the mounts, the Secret, ConfigMap and claim against their
//! manifests), the scenario loaded by the crate's own loader, every flag
//! against the binary's `--help`, and apply.sh's rendering (placeholders
//! filled in; `--via-logs` without the volume). Nothing is applied, and no
//! load is sent anywhere.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use ftpload::scenario::{parse_start_at, Overrides, Plan, Shard, TargetPlan};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of deploy/kubernetes.
fn read(name: &str) -> String {
    let path = root().join("deploy/kubernetes").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn docs(text: &str, what: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{what}: not YAML: {e}"))
}

/// The one manifest a file holds.
fn manifest(name: &str) -> Yaml {
    let mut d = docs(&read(name), name);
    assert_eq!(d.len(), 1, "{name}: one manifest");
    d.remove(0)
}

fn s(y: &Yaml) -> &str {
    y.as_str().unwrap_or_else(|| panic!("not a string: {y:?}"))
}

fn list(y: &Yaml) -> &[Yaml] {
    y.as_vec().map_or(&[], Vec::as_slice)
}

fn keys(y: &Yaml) -> Vec<&str> {
    y.as_hash().map_or(vec![], |h| h.keys().map(s).collect())
}

fn pod(job: &Yaml) -> &Yaml {
    &job["spec"]["template"]["spec"]
}

/// A Job's container: each of these Jobs has one.
fn container(job: &Yaml) -> &Yaml {
    let c = list(&pod(job)["containers"]);
    assert_eq!(c.len(), 1, "one container");
    &c[0]
}

fn args(job: &Yaml) -> Vec<&str> {
    list(&container(job)["args"]).iter().map(s).collect()
}

/// The value after `name` in `args`.
fn flag<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1])
}

/// Where the volume of `source` (configMap, secret, persistentVolumeClaim)
/// whose `key` is `name` is mounted in the Job's container: (mountPath,
/// readOnly).
fn mount(job: &Yaml, source: &str, key: &str, name: &str) -> (String, bool) {
    let volume = list(&pod(job)["volumes"])
        .iter()
        .find(|v| v[source][key].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {source} volume of {name}"));
    let m = list(&container(job)["volumeMounts"])
        .iter()
        .find(|m| m["name"] == volume["name"])
        .unwrap_or_else(|| panic!("the {source} volume of {name} is not mounted"));
    let read_only = m["readOnly"].as_bool() == Some(true);
    (s(&m["mountPath"]).to_string(), read_only)
}

/// `path` relative to the folder `mount`, if it lies under it.
fn under<'a>(path: &'a str, mount: &str) -> Option<&'a str> {
    path.strip_prefix(mount.trim_end_matches('/'))?
        .strip_prefix('/')
        .filter(|rest| !rest.is_empty() && !rest.split('/').any(|p| p == ".."))
}

#[test]
fn shards_job_is_an_indexed_job_of_as_many_pods_as_its_shard_count() {
    let job = manifest("shards-job.yaml");
    assert_eq!(s(&job["apiVersion"]), "batch/v1");
    assert_eq!(s(&job["kind"]), "Job");
    assert_eq!(s(&job["spec"]["completionMode"]), "Indexed");
    let a = args(&job);
    assert_eq!(a[0], "run");
    assert_eq!(flag(&a, "--shard"), Some("auto"), "the index from the Job");
    let shards = flag(&a, "--shard-count").and_then(|n| n.parse().ok());
    let spec = &job["spec"];
    assert_eq!(spec["completions"].as_i64(), shards, "completions");
    assert_eq!(spec["parallelism"].as_i64(), shards, "all at once");
    assert_eq!(s(&pod(&job)["restartPolicy"]), "Never");
    // A limit, else a failing shard is retried six times, each late.
    let limit = [&spec["backoffLimitPerIndex"], &spec["backoffLimit"]];
    let limit = limit.iter().find_map(|y| y.as_i64());
    assert!(limit.is_some_and(|n| n <= 1), "{limit:?}");
    // Names the schema cannot cross-check: the failure policy's container,
    // and the anti-affinity's selector against the pods' own labels.
    let name = s(&container(&job)["name"]);
    for rule in list(&spec["podFailurePolicy"]["rules"]) {
        assert_eq!(s(&rule["onExitCodes"]["containerName"]), name);
    }
    let labels = &spec["template"]["metadata"]["labels"];
    let anti = &pod(&job)["affinity"]["podAntiAffinity"];
    let terms = list(&anti["preferredDuringSchedulingIgnoredDuringExecution"]);
    assert!(!terms.is_empty(), "shards spread over nodes");
    for t in terms {
        let selector = &t["podAffinityTerm"]["labelSelector"]["matchLabels"];
        for k in keys(selector) {
            assert_eq!(selector[k], labels[k], "anti-affinity label {k}");
        }
    }
    let merge = manifest("merge-job.yaml");
    assert_eq!(s(&merge["kind"]), "Job");
    assert_eq!(s(&pod(&merge)["restartPolicy"]), "Never");
}

#[test]
fn the_password_is_a_file_from_the_secret_and_nowhere_else() {
    let secret = manifest("password-secret.yaml");
    assert_eq!(s(&secret["kind"]), "Secret");
    let name = s(&secret["metadata"]["name"]);
    let data = ["stringData", "data"].map(|k| &secret[k]);
    let data = data.into_iter().find(|d| !d.is_badvalue()).expect("data");
    let password = s(&data["password"]);
    let job = manifest("shards-job.yaml");
    let a = args(&job);
    let file = flag(&a, "--password-file").expect("--password-file");
    let (at, read_only) = mount(&job, "secret", "secretName", name);
    assert!(read_only, "the Secret is mounted read-only");
    let key = under(file, &at).unwrap_or_else(|| panic!("{file} is not under {at}"));
    assert!(keys(data).contains(&key), "no key {key}");
    for job in [&job, &manifest("merge-job.yaml")] {
        assert!(!args(job).concat().contains(password), "in the args");
        // No literal value holding it, nor any as FTPLOAD_PASSWORD.
        for e in list(&container(job)["env"]) {
            let literal = e["value"].as_str();
            let named = s(&e["name"]) == "FTPLOAD_PASSWORD";
            let bad = literal.is_some_and(|v| named || v.contains(password));
            assert!(!bad, "{e:?}");
        }
    }
}

#[test]
fn the_scenario_comes_from_the_configmap_and_loads() {
    let map = manifest("scenario-configmap.yaml");
    assert_eq!(s(&map["kind"]), "ConfigMap");
    let job = manifest("shards-job.yaml");
    let a = args(&job);
    let (at, read_only) = mount(&job, "configMap", "name", s(&map["metadata"]["name"]));
    assert!(read_only, "the ConfigMap is mounted read-only");
    let key = under(a[1], &at).unwrap_or_else(|| panic!("{} is not under {at}", a[1]));
    let text = map["data"][key].as_str().expect("the scenario's key");
    let shard = format!("1/{}", flag(&a, "--shard-count").unwrap());
    let o = Overrides {
        // As --password-file gives it: the file names no password.
        password: Some("from-the-secret".into()),
        shard: Some(Shard::parse(&shard).unwrap()),
        ..Overrides::default()
    };
    let plan = Plan::parse(text, Path::new(key), &o).unwrap_or_else(|e| panic!("{e}"));
    // Without a target, each shard would load an embedded server of its own.
    let external = matches!(plan.target, TargetPlan::External { .. });
    assert!(external, "{:?}", plan.target);
}

#[test]
fn results_go_to_the_claim_the_merge_job_reads() {
    let pvc = manifest("results-pvc.yaml");
    assert_eq!(s(&pvc["kind"]), "PersistentVolumeClaim");
    let modes: Vec<&str> = list(&pvc["spec"]["accessModes"]).iter().map(s).collect();
    assert!(modes.contains(&"ReadWriteMany"), "{modes:?}");
    let claim = s(&pvc["metadata"]["name"]);
    let (shards, merge) = (manifest("shards-job.yaml"), manifest("merge-job.yaml"));
    let (at, _) = mount(&shards, "persistentVolumeClaim", "claimName", claim);
    let out_dir = flag(&args(&shards), "--out-dir").expect("--out-dir");
    let run = under(out_dir, &at).unwrap_or_else(|| panic!("{out_dir} is not under {at}"));
    let (merge_at, _) = mount(&merge, "persistentVolumeClaim", "claimName", claim);
    let m = args(&merge);
    assert_eq!(m[0], "merge");
    assert_eq!(under(m[1], &merge_at), Some(run), "the shards' folder");
    let out = flag(&m, "--out").expect("--out");
    assert!(under(out, &merge_at).is_some(), "{out} on the volume");
}

/// apply.sh's output with `extra` arguments, one Yaml per manifest.
fn render(extra: &[&str]) -> Vec<Yaml> {
    let out = Command::new("bash")
        .arg(root().join("deploy/kubernetes/apply.sh"))
        .args(["--render", "--lead", "90"])
        .args(extra)
        .output()
        .expect("bash");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    docs(&String::from_utf8(out.stdout).unwrap(), "apply.sh --render")
}

fn kinds(docs: &[Yaml]) -> Vec<&str> {
    docs.iter().map(|d| s(&d["kind"])).collect()
}

fn named<'a>(docs: &'a [Yaml], name: &str) -> Option<&'a Yaml> {
    let name = Some(name);
    docs.iter().find(|d| d["metadata"]["name"].as_str() == name)
}

#[test]
fn apply_sh_fills_in_every_placeholder_and_renders_the_logs_variant() {
    let script = read("apply.sh");
    for file in ["shards-job.yaml", "merge-job.yaml"] {
        let name = s(&manifest(file)["metadata"]["name"]).to_string();
        assert!(script.contains(&name), "apply.sh names {file}'s Job");
        // Placeholders are __NAME__ in the values (comments name them too).
        let text = read(file);
        let values = text.lines().filter(|l| !l.trim_start().starts_with('#'));
        for w in values.flat_map(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '_'))) {
            if w.len() > 4 && w.starts_with("__") && w.ends_with("__") {
                assert!(script.contains(w), "apply.sh fills in {w} of {file}");
            }
        }
    }
    let now = SystemTime::now();
    let all = render(&[]);
    let want = ["ConfigMap", "Secret", "PersistentVolumeClaim", "Job", "Job"];
    assert_eq!(kinds(&all), want);
    let shards = args(named(&all, "ftpload-shards").unwrap());
    let merge = args(named(&all, "ftpload-merge").unwrap());
    let filled = [&shards, &merge].iter().all(|a| !a.concat().contains("__"));
    assert!(filled, "{shards:?} {merge:?}");
    let at = parse_start_at(flag(&shards, "--start-at").unwrap(), now).expect("--start-at");
    let lead = at.duration_since(now).expect("ahead");
    let off = lead.abs_diff(Duration::from_secs(90));
    assert!(off < Duration::from_secs(10), "{lead:?}");
    let out_dir = flag(&shards, "--out-dir");
    assert_eq!(out_dir, Some(merge[1]), "one run's folder");

    // --via-logs: no volume, no merge Job, the result on stdout.
    let logs = render(&["--via-logs"]);
    assert_eq!(kinds(&logs), ["ConfigMap", "Secret", "Job"]);
    let job = named(&logs, "ftpload-shards").unwrap();
    let a = args(job);
    assert_eq!(flag(&a, "--out"), Some("-"));
    assert!(!a.contains(&"--out-dir"), "{a:?}");
    let volumes = list(&pod(job)["volumes"]);
    let claim = |v: &Yaml| !v["persistentVolumeClaim"].is_badvalue();
    assert!(!volumes.iter().any(claim), "{volumes:?}");
    let mounts = list(&container(job)["volumeMounts"]);
    assert_eq!(mounts.len(), volumes.len(), "each mount has its volume");
}

/// Whether `help` names `flag` whole (`--shard` is not `--shard-count`).
fn names(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let next = help[i + flag.len()..].chars().next();
        let before = help[..i].chars().next_back();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '-') && before != Some('-')
    })
}

#[test]
fn every_flag_in_the_manifests_is_one_of_ftpload() {
    let logs = render(&["--via-logs"]);
    let (shards, merge) = (manifest("shards-job.yaml"), manifest("merge-job.yaml"));
    let via_logs = args(named(&logs, "ftpload-shards").unwrap());
    let all = [("run", args(&shards)), ("run", via_logs)];
    for (sub, a) in all.into_iter().chain([("merge", args(&merge))]) {
        let out = Command::new(env!("CARGO_BIN_EXE_ftpload"))
            .args([sub, "--help"])
            .output()
            .expect("ftpload");
        let help = String::from_utf8(out.stdout).unwrap();
        for f in a.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
            assert!(names(&help, f), "`ftpload {sub} --help` has no {f}");
        }
    }
}

#[test]
fn the_dockerfile_copies_every_file_cargo_toml_names() {
    // Cargo wants every target Cargo.toml names, benches and tests too,
    // even to build one binary.
    let docker = read("Dockerfile");
    let copies = docker.lines().filter_map(|l| l.strip_prefix("COPY "));
    let copied: Vec<&str> = copies
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| l.split_whitespace().rev().skip(1))
        .collect();
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let paths = toml.lines().filter_map(|l| l.strip_prefix("path = "));
    let mut needed: Vec<&str> = paths.map(|p| p.trim_matches('"')).collect();
    needed.extend(["Cargo.toml", "Cargo.lock"]);
    // A [[bench]] without a path is benches/<name>.rs.
    needed.extend(toml.contains("[[bench]]").then_some("benches"));
    for p in needed {
        let top = p.split('/').next().unwrap();
        let ok = root().join(p).exists() && copied.contains(&top);
        assert!(ok, "not copied: {p}");
    }
}
