//! A remote server's figures from a Prometheus exporter its operator
//! already runs: node_exporter's (CPU by mode, memory, sockets, processes:
//! the whole host) and, on the same page, process-exporter's groups.
//! Scraped once a second over plain HTTP by the server watch.
//!
//! The text format is parsed by [`super::expo`], not by a crate (why:
//! there).
//!
//! HTTP is ureq's, default features off (no TLS, no gzip): a blocking GET
//! on the watch's own thread is all that is needed, and it brings chunked
//! bodies, redirects, one deadline over connect and read and a body cap,
//! which a hand-written HTTP/1.0 GET would each have to redo.

use std::borrow::Cow;

use super::expo::{parse_line, Line};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::time::Duration;

/// The largest page read: node_exporter's is ~60 KiB on a small host and a
/// few MiB on one with many disks and interfaces; past this it is not a
/// page to read once a second.
pub const MAX_BODY: u64 = 16 << 20;

/// The classic text format first (what exporters serve), OpenMetrics taken.
const ACCEPT: &str =
    "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

/// CPU modes that are not busy: idle, and idle waiting for I/O.
const NOT_BUSY: [&str; 2] = ["idle", "iowait"];

/// One scrape's figures. Counters are cumulative as the exporter gives them.
///
/// A figure absent from the page is None. A NaN, infinite or (for the
/// byte and count gauges) negative value is taken as absent too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromSample {
    /// node_cpu_seconds_total summed over CPUs, per mode ("user", "system",
    /// "idle", "iowait", "irq", "softirq", "steal", "nice", ...).
    pub cpu_seconds_by_mode: BTreeMap<String, f64>,
    /// Number of distinct `cpu` labels seen.
    pub cpus: u32,
    /// Busy CPU seconds: every mode but idle and iowait, summed.
    pub cpu_busy_seconds: f64,
    /// node_memory_MemTotal_bytes.
    pub memory_total_bytes: Option<u64>,
    /// node_memory_MemAvailable_bytes.
    pub memory_available_bytes: Option<u64>,
    /// node_sockstat_sockets_used: sockets of every family in use.
    pub sockets_used: Option<u64>,
    /// node_sockstat_TCP_inuse: TCP sockets in use (not closed, not
    /// TIME_WAIT).
    pub tcp_inuse: Option<u64>,
    /// node_sockstat_TCP_tw: TCP sockets in TIME_WAIT.
    pub tcp_time_wait: Option<u64>,
    /// node_processes_pids: the host's processes (its PIDs, threads not
    /// counted), from node_exporter's `processes` collector, which is off
    /// by default (`--collector.processes`), so usually None. Not
    /// node_procs_running, which the default `stat` collector gives: that
    /// is the threads runnable at that instant, not a count of processes.
    pub processes: Option<u64>,
    /// process-exporter groups, by groupname, when its metrics are there:
    /// every groupname of a `namedprocess_namegroup_*` line.
    pub groups: BTreeMap<String, ProcessGroup>,
}

/// One process-exporter group (its `groupname` label): the processes its
/// configuration matched, children included by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessGroup {
    /// namedprocess_namegroup_cpu_seconds_total summed over mode (user and
    /// system), and its system part.
    pub cpu_seconds: f64,
    pub cpu_system_seconds: f64,
    /// namedprocess_namegroup_memory_bytes{memtype="resident"}.
    pub resident_bytes: Option<u64>,
    /// namedprocess_namegroup_num_procs.
    pub processes: Option<u64>,
    /// namedprocess_namegroup_open_filedesc.
    pub open_fds: Option<u64>,
}

/// Why a scrape gave no figures. Each message names the URL (or, from
/// [`parse`], "metrics text") and says what was wrong once.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// The URL cannot be scraped: not http, no host, no port.
    #[error("server metrics URL {url:?}: {why}")]
    Url { url: String, why: String },
    /// No page of metrics: refused, not resolved, timed out, cut short, too
    /// large, or an HTML page (a wrong path).
    #[error("{url}: {why}")]
    Http { url: String, why: String },
    /// An answer other than 200 OK.
    #[error("{url}: HTTP {code} {reason}")]
    Status {
        url: String,
        code: u16,
        reason: &'static str,
    },
    /// A line that is not in the text format.
    #[error("{origin}: line {line}: {why}: {text}")]
    Parse {
        origin: String,
        line: usize,
        why: &'static str,
        /// The line, cut at 80 characters.
        text: String,
    },
    /// A page of metrics with neither node_exporter's CPU figures nor
    /// process-exporter's groups.
    #[error(
        "{origin}: no node_cpu_seconds_total and no namedprocess_namegroup_*: neither node_exporter's page (or its cpu collector is off) nor process-exporter's"
    )]
    NoCpu { origin: String },
}

/// Parses the Prometheus text exposition format (and OpenMetrics text)
/// into figures. Every line must be well formed; the families not used
/// here are checked and dropped. Fails with [`PromError::NoCpu`] when the
/// page has neither node_cpu_seconds_total nor a process-exporter group
/// (an empty page too).
pub fn parse(text: &str) -> Result<PromSample, PromError> {
    parse_from(text, "metrics text")
}

/// GET `url` (http only: there is no TLS client here) within `timeout`,
/// which covers resolving, connecting and reading the whole page, and
/// parse it. The URL is checked and normalised first ([`check_url`]).
/// Proxies from the environment are not used: an exporter is scraped
/// directly, as Prometheus does unless told otherwise.
pub fn scrape(url: &str, timeout: Duration) -> Result<PromSample, PromError> {
    let url = check_url(url)?;
    let http = |why: String| PromError::Http {
        url: url.clone(),
        why,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(3)
        .accept(ACCEPT)
        .user_agent(concat!("ftpload/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut answer = agent
        .get(&url)
        .call()
        .map_err(|e| http(http_error(e, timeout)))?;
    let status = answer.status();
    if status != ureq::http::StatusCode::OK {
        return Err(PromError::Status {
            url,
            code: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("(no reason)"),
        });
    }
    if let Some(html) = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .filter(|t| t.to_ascii_lowercase().starts_with("text/html"))
    {
        return Err(http(format!(
            "an HTML page ({html}), not metrics: is the path right? (node_exporter's is /metrics)"
        )));
    }
    let body = answer
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| http(http_error(e, timeout)))?;
    parse_from(&body, &url)
}

/// What went wrong on the wire, in words, without the URL.
fn http_error(e: ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no whole answer within {timeout:?}"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::BodyExceedsLimit(_) => format!("page larger than {} MiB", MAX_BODY >> 20),
        e => e.to_string(),
    }
}

/// Checks a `--server-metrics` URL before a run: the http scheme, a host
/// and a port, which must be given (an exporter's is never 80: 9100 for
/// node_exporter, 9256 for process-exporter); returns it normalised:
/// scheme and host in lower case, the path /metrics when none is given,
/// a query kept (node_exporter's `collect[]=` filters), a fragment dropped.
pub fn check_url(url: &str) -> Result<String, PromError> {
    let bad = |why: &str| PromError::Url {
        url: url.to_string(),
        why: why.to_string(),
    };
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("empty, or has spaces or control characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("no scheme: write http://HOST:PORT/metrics"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "http" => {}
        "https" => return Err(bad("https is not supported: scrape the exporter over http")),
        _ => return Err(bad("only http:// is supported")),
    }
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not supported"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address without its closing `]`"))?;
            addr.parse::<Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address in `[]`"))?;
            (format!("[{addr}]"), after.strip_prefix(':'))
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
            if host.is_empty() || !host.chars().all(name) {
                return Err(bad("no host, or not a host name or address"));
            }
            (host.to_string(), port)
        }
    };
    let port = port.ok_or_else(|| {
        bad("no port: give the exporter's, e.g. :9100 (node_exporter) or :9256 (process-exporter)")
    })?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
    let tail = tail.split('#').next().unwrap_or_default();
    let path = match tail.chars().next() {
        None => "/metrics".to_string(),
        Some('?') => format!("/metrics{tail}"),
        _ => tail.to_string(),
    };
    let normal = format!("http://{}:{port}{path}", host.to_ascii_lowercase());
    // What will be requested: what the HTTP client's own parser takes.
    ureq::http::Uri::try_from(normal.as_str()).map_err(|e| bad(&e.to_string()))?;
    Ok(normal)
}

/// [`parse`], its errors naming `origin` (the URL scraped).
fn parse_from(text: &str, origin: &str) -> Result<PromSample, PromError> {
    let mut s = PromSample::default();
    let mut cpus = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_matches([' ', '\t']);
        if line == "# EOF" {
            break; // OpenMetrics' last line.
        }
        if line.is_empty() || line.starts_with('#') {
            continue; // HELP, TYPE, UNIT and comments: the names say enough.
        }
        let l = parse_line(line).map_err(|why| PromError::Parse {
            origin: origin.to_string(),
            line: i + 1,
            why,
            text: line.chars().take(80).collect(),
        })?;
        s.take(&l, &mut cpus);
    }
    if cpus.is_empty() && s.groups.is_empty() {
        return Err(PromError::NoCpu {
            origin: origin.to_string(),
        });
    }
    s.cpus = u32::try_from(cpus.len()).unwrap_or(u32::MAX);
    s.cpu_busy_seconds = s
        .cpu_seconds_by_mode
        .iter()
        .filter(|(mode, _)| !NOT_BUSY.contains(&mode.as_str()))
        .map(|(_, v)| v)
        .sum();
    Ok(s)
}

impl PromSample {
    /// Takes the figure of one sample line if it is one of ours.
    fn take<'a>(&mut self, l: &Line<'a>, cpus: &mut BTreeSet<Cow<'a, str>>) {
        let v = l.value;
        if !v.is_finite() {
            return;
        }
        let count = (v >= 0.0).then(|| v.round() as u64);
        match l.name {
            "node_cpu_seconds_total" => {
                if let (Some(cpu), Some(mode)) = (l.label("cpu"), l.label("mode")) {
                    cpus.insert(cpu.clone());
                    *self
                        .cpu_seconds_by_mode
                        .entry(mode.to_string())
                        .or_default() += v;
                }
            }
            "node_memory_MemTotal_bytes" => self.memory_total_bytes = count,
            "node_memory_MemAvailable_bytes" => self.memory_available_bytes = count,
            "node_sockstat_sockets_used" => self.sockets_used = count,
            "node_sockstat_TCP_inuse" => self.tcp_inuse = count,
            "node_sockstat_TCP_tw" => self.tcp_time_wait = count,
            "node_processes_pids" => self.processes = count,
            name => {
                let (Some(figure), Some(group)) = (
                    name.strip_prefix("namedprocess_namegroup_"),
                    l.label("groupname"),
                ) else {
                    return;
                };
                let g = self.groups.entry(group.to_string()).or_default();
                match figure {
                    "cpu_seconds_total" => {
                        g.cpu_seconds += v;
                        if l.label("mode").is_some_and(|m| m == "system") {
                            g.cpu_system_seconds += v;
                        }
                    }
                    "memory_bytes" if l.label("memtype").is_some_and(|m| m == "resident") => {
                        g.resident_bytes = count
                    }
                    "num_procs" => g.processes = count,
                    "open_filedesc" => g.open_fds = count,
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    /// node_exporter 1.5's lines (Debian 12) for two CPUs, with its
    /// `processes` collector on, and process-exporter 0.7's for two groups,
    /// one with a name that needs escapes; a Go summary and a comment.
    const PAGE: &str = r##"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 25840.93
node_cpu_seconds_total{cpu="0",mode="iowait"} 52.87
node_cpu_seconds_total{cpu="0",mode="irq"} 0
node_cpu_seconds_total{cpu="0",mode="nice"} 395.67
node_cpu_seconds_total{cpu="0",mode="softirq"} 491.45
node_cpu_seconds_total{cpu="0",mode="steal"} 16.82
node_cpu_seconds_total{cpu="0",mode="system"} 6931.32
node_cpu_seconds_total{cpu="0",mode="user"} 14072.55
node_cpu_seconds_total{cpu="1",mode="idle"} 23227.6
node_cpu_seconds_total{cpu="1",mode="iowait"} 40
node_cpu_seconds_total{cpu="1",mode="system"} 7000
node_cpu_seconds_total{cpu="1",mode="user"} 15000.5
# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4e-05
go_gc_duration_seconds_sum 0.000121
go_gc_duration_seconds_count 3
# a comment
node_memory_MemAvailable_bytes 2.4657887232e+10
node_memory_MemTotal_bytes 2.5276510208e+10
node_procs_running 2
node_processes_pids 70
node_sockstat_TCP_inuse 4
node_sockstat_TCP_tw 2
node_sockstat_sockets_used 17
node_uname_info{domainname="(none)",machine="x86_64",nodename="vm",version="#1 SMP PREEMPT_DYNAMIC @0"} 1
node_filesystem_avail_bytes{device="/dev/vda",fstype="ext4",mountpoint="/srv/a,b}"} NaN
# HELP namedprocess_namegroup_cpu_seconds_total Cpu user usage in seconds
# TYPE namedprocess_namegroup_cpu_seconds_total counter
namedprocess_namegroup_cpu_seconds_total{groupname="vsftpd",mode="system"} 1.25
namedprocess_namegroup_cpu_seconds_total{groupname="vsftpd",mode="user"} 0.5
namedprocess_namegroup_cpu_seconds_total{groupname="ftp \"pure\", \\main\\",mode="user"} 2
namedprocess_namegroup_memory_bytes{groupname="vsftpd",memtype="proportionalResident"} 1.4815232e+07
namedprocess_namegroup_memory_bytes{groupname="vsftpd",memtype="resident"} 2.3556096e+07
namedprocess_namegroup_memory_bytes{groupname="vsftpd",memtype="virtual"} 4.1189376e+07
namedprocess_namegroup_num_procs{groupname="vsftpd"} 5
namedprocess_namegroup_open_filedesc{groupname="vsftpd"} 32
namedprocess_namegroup_open_filedesc{groupname="ftp \"pure\", \\main\\"} 7 1700000000000
"##;

    #[test]
    fn a_page_gives_its_figures() {
        let s = parse(PAGE).unwrap();
        assert_eq!(s.cpus, 2);
        assert_eq!(s.cpu_seconds_by_mode.len(), 8, "{s:?}");
        assert!((s.cpu_seconds_by_mode["idle"] - (25840.93 + 23227.6)).abs() < 1e-6);
        assert!((s.cpu_seconds_by_mode["user"] - 29073.05).abs() < 1e-6);
        let busy = 395.67 + 491.45 + 16.82 + 6931.32 + 14072.55 + 7000.0 + 15000.5;
        assert!((s.cpu_busy_seconds - busy).abs() < 1e-6, "{s:?}");
        assert_eq!(s.memory_total_bytes, Some(25_276_510_208));
        assert_eq!(s.memory_available_bytes, Some(24_657_887_232));
        assert_eq!(s.sockets_used, Some(17));
        assert_eq!(s.tcp_inuse, Some(4));
        assert_eq!(s.tcp_time_wait, Some(2));
        assert_eq!(
            s.processes,
            Some(70),
            "node_processes_pids, not procs_running"
        );
        assert_eq!(s.groups.len(), 2, "{:?}", s.groups);
        let v = &s.groups["vsftpd"];
        assert_eq!(
            *v,
            ProcessGroup {
                cpu_seconds: 1.75,
                cpu_system_seconds: 1.25,
                resident_bytes: Some(23_556_096),
                processes: Some(5),
                open_fds: Some(32),
            }
        );
        let p = &s.groups[r#"ftp "pure", \main\"#];
        assert_eq!(
            (p.cpu_seconds, p.open_fds, p.processes),
            (2.0, Some(7), None)
        );
    }

    /// Without process-exporter, no groups; without `--collector.processes`
    /// (node_exporter's default), no process count.
    #[test]
    fn absent_figures_are_none() {
        let s = parse("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 3\n").unwrap();
        assert_eq!((s.cpus, s.cpu_busy_seconds), (1, 3.0));
        assert_eq!(s.memory_total_bytes, None);
        assert_eq!(s.processes, None);
        assert!(s.groups.is_empty());
        // NaN and negative gauges are no figures; a NaN counter is no sum.
        let s = parse(
            "node_memory_MemTotal_bytes NaN\nnode_sockstat_TCP_tw -1\n\
             node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} +Inf\n\
             node_cpu_seconds_total{cpu=\"0\",mode=\"system\"} 2\n",
        )
        .unwrap();
        assert_eq!((s.memory_total_bytes, s.tcp_time_wait), (None, None));
        assert_eq!(s.cpu_busy_seconds, 2.0);
    }

    #[test]
    fn openmetrics_text_is_read() {
        let om = "# TYPE node_cpu_seconds counter\n# UNIT node_cpu_seconds seconds\n\
                  node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1.5 1700000000.123 # {trace_id=\"a\"} 1.0\n\
                  node_cpu_seconds_created{cpu=\"0\",mode=\"user\"} 1.7e9\n\
                  node_cpu_seconds_total{cpu=\"1\",mode=\"user\",} 2.5 # {} 1\n# EOF\n";
        let s = parse(om).unwrap();
        assert_eq!((s.cpus, s.cpu_busy_seconds), (2, 4.0));
    }

    #[test]
    fn a_malformed_line_fails_the_page_naming_it() {
        for (line, why) in [
            (
                "<html><body>Node Exporter</body></html>",
                "not a metric name",
            ),
            ("node_x{a=\"b} 1", "a label value without its closing quote"),
            (
                "node_x{a=\"\\t\"} 1",
                "a label value with an unknown escape",
            ),
            ("node_x{a=b} 1", "a label value without its quotes"),
            ("node_x{a=\"b\" c=\"d\"} 1", "labels not closed by `}`"),
            ("node_x{=\"b\"} 1", "not a label name"),
            ("node_x 1 2 3", "more than a value and a timestamp"),
            ("node_x one", "the value is not a number"),
            ("node-x 1", "not a metric name"),
            ("node_x", "no value"),
        ] {
            let text = format!("node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} 1\n{line}\n");
            match parse(&text) {
                Err(PromError::Parse {
                    line: 2, why: w, ..
                }) => assert_eq!(w, why, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        let e = parse("x 1\n<!doctype html>\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "metrics text: line 2: not a metric name: <!doctype html>"
        );
    }

    #[test]
    fn an_empty_page_has_no_cpu() {
        for text in ["", "\n\n", "# HELP x y\n# TYPE x gauge\n", "x 1\n"] {
            assert!(
                matches!(parse(text), Err(PromError::NoCpu { .. })),
                "{text:?}"
            );
        }
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("no node_cpu_seconds_total"), "{e}");
        // process-exporter's page alone (its own port, 9256) has figures.
        let alone =
            "namedprocess_namegroup_cpu_seconds_total{groupname=\"vsftpd\",mode=\"user\"} 0.5\n";
        let s = parse(alone).unwrap();
        assert_eq!((s.cpus, s.groups["vsftpd"].cpu_seconds), (0, 0.5));
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        for (url, normal) in [
            ("http://srv:9100", "http://srv:9100/metrics"),
            ("HTTP://Srv.Example:9100/", "http://srv.example:9100/"),
            (
                "http://10.0.0.5:9256/metrics#x",
                "http://10.0.0.5:9256/metrics",
            ),
            ("http://[::1]:9100", "http://[::1]:9100/metrics"),
            (
                "http://h:9100?collect[]=cpu",
                "http://h:9100/metrics?collect[]=cpu",
            ),
        ] {
            assert_eq!(check_url(url).unwrap(), normal, "{url}");
        }
        for (url, says) in [
            ("https://srv:9100/metrics", "https is not supported"),
            ("ftp://srv:9100", "only http://"),
            ("srv:9100", "no scheme"),
            ("http://srv/metrics", "no port"),
            ("http://:9100/", "no host"),
            ("http://srv:0/", "1 to 65535"),
            ("http://srv:99999/", "1 to 65535"),
            ("http://u:p@srv:9100/", "credentials"),
            ("http://[zz]:9100/", "not an IPv6 address"),
            ("http://srv:9100/a b", "spaces"),
            ("http://srv:9100/a<b>", "invalid uri character"),
        ] {
            let e = check_url(url).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(url), "{url}: {e}");
        }
    }

    /// A one-connection HTTP server on loopback answering with `reply`
    /// (after reading the request), or with nothing when None.
    fn serve(reply: Option<Vec<u8>>) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            match reply {
                Some(r) => {
                    let _ = c.write_all(&r);
                }
                None => std::thread::sleep(Duration::from_secs(5)),
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    fn answer(status: &str, ctype: &str, body: &[u8]) -> Option<Vec<u8>> {
        let mut r = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        Some(r)
    }

    #[test]
    fn a_scrape_reads_a_page_or_says_why_not() {
        let t = Duration::from_secs(5);
        let url = serve(answer(
            "200 OK",
            "text/plain; version=0.0.4",
            PAGE.as_bytes(),
        ));
        assert_eq!(scrape(&url, t).unwrap(), parse(PAGE).unwrap());

        let url = serve(answer(
            "404 Not Found",
            "text/plain",
            b"404 page not found\n",
        ));
        let e = scrape(&url, t).unwrap_err().to_string();
        assert_eq!(e, format!("{url}/metrics: HTTP 404 Not Found"));

        let url = serve(answer(
            "200 OK",
            "text/html; charset=UTF-8",
            b"<html></html>",
        ));
        let e = scrape(&url, t).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{url}/metrics: an HTML page")),
            "{e}"
        );

        let big = vec![b'#'; MAX_BODY as usize + 1];
        let url = serve(answer("200 OK", "text/plain", &big));
        let e = scrape(&url, t).unwrap_err().to_string();
        assert_eq!(e, format!("{url}/metrics: page larger than 16 MiB"));

        let url = serve(answer("200 OK", "text/plain", b"up 1\n"));
        let e = scrape(&url, t).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{url}/metrics: no node_cpu")), "{e}");

        // Connected, then silence: the timeout ends it.
        let url = serve(None);
        let t0 = Instant::now();
        let e = scrape(&url, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert_eq!(e, format!("{url}/metrics: no whole answer within 300ms"));

        // Nothing listening.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = scrape(&format!("http://127.0.0.1:{port}/metrics"), t).unwrap_err();
        assert!(matches!(e, PromError::Http { .. }), "{e}");
        assert!(e.to_string().contains("refused"), "{e}");
    }
}
