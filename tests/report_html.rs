//! The HTML report in a real browser: `ftpload report --out` writes the
//! page, headless Chromium renders it, and every chart is checked to be
//! drawn, i.e. to have coloured pixels (its lines) inside its plot area, not
//! only grey axes and text. To know where each chart is, the charts are
//! also rendered one under the other at their fixed size on a sheet of
//! their own (the same SVG the page embeds), and that sheet is screenshot.
//!
//! Chromium is Debian's `chromium`; .ci/run installs it. Without it the
//! test is skipped with its reason, unless FTPLOAD_REQUIRE_SERVERS=1 (as in
//! CI), where it fails. FTPLOAD_REPORT_PNG=PATH keeps the page's
//! screenshot there (docs/report.png is one). Which format is written
//! (--format, or an --out name ending in .html) needs no browser.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::common::{repo_root, run_bounded};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");
/// A compare view over committed results, so dashes and several modes are
/// drawn, a ramp with every per-second histogram, and a run that watched
/// its server (vsftpd's CPU and memory each second).
const RESULTS: [&str; 3] = [
    "results/examples/ramp.json",
    "results/baseline/embedded.json",
    "results/server-cost/vsftpd-passive.json",
];

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Renders `html` to `png` at `width` × `height` CSS pixels, in a fresh
/// profile, bounded in time.
fn screenshot(chromium: &Path, html: &Path, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--window-size={width},{height}"))
    .arg(format!("--screenshot={}", png.display()))
    .arg(format!("file://{}", html.display()));
    let done = run_bounded(cmd, None, Duration::from_secs(90)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.status.success() && png.is_file(),
        "chromium failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// An RGB image: width, height, and 3 bytes a pixel.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

fn decode(png_path: &Path) -> Image {
    let file = std::io::BufReader::new(std::fs::File::open(png_path).unwrap());
    let mut d = png::Decoder::new(file);
    d.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = d.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let samples = info.color_type.samples();
    let rgb = buf[..info.line_size * info.height as usize]
        .chunks(samples)
        .flat_map(|p| {
            if samples >= 3 {
                [p[0], p[1], p[2]]
            } else {
                [p[0]; 3]
            }
        })
        .collect();
    Image {
        width: info.width as usize,
        height: info.height as usize,
        rgb,
    }
}

impl Image {
    /// Pixels in the rectangle whose colour is not a grey: a chart's lines
    /// (axes, grid and text are drawn in greys).
    fn coloured(&self, x: std::ops::Range<usize>, y: std::ops::Range<usize>) -> usize {
        let mut n = 0;
        for row in y.clone().filter(|&r| r < self.height) {
            for col in x.clone().filter(|&c| c < self.width) {
                let i = (row * self.width + col) * 3;
                let p = &self.rgb[i..i + 3];
                let (hi, lo) = (p.iter().max().unwrap(), p.iter().min().unwrap());
                n += usize::from(hi - lo > 60);
            }
        }
        n
    }

    fn not_white(&self) -> usize {
        self.rgb
            .chunks(3)
            .filter(|p| p.iter().any(|&c| c < 235))
            .count()
    }
}

#[test]
fn every_chart_of_the_report_is_drawn_by_a_real_browser() {
    let Some(chromium) = chromium() else {
        let reason = "chromium is not installed (apt-get install chromium)";
        if std::env::var("FTPLOAD_REQUIRE_SERVERS").as_deref() == Ok("1") {
            panic!("FTPLOAD_REQUIRE_SERVERS=1 and {reason}");
        }
        eprintln!("report_html: skipped: {reason}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = repo_root();
    let results: Vec<PathBuf> = RESULTS.iter().map(|r| root.join(r)).collect();

    // The page as a user makes it.
    let page = dir.path().join("report.html");
    let out = Command::new(BIN)
        .arg("report")
        .args(&results)
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page must open offline: no URL at all"
    );
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img"));
    let page_png = dir.path().join("report.png");
    screenshot(&chromium, &page, &page_png, 1320, 2400);
    let shot = decode(&page_png);
    assert_eq!((shot.width, shot.height), (1320, 2400));
    let drawn = shot.coloured(0..shot.width, 0..shot.height);
    assert!(drawn > 20_000, "the page shows {drawn} coloured pixels");
    assert!(shot.not_white() > 50_000);

    // Each chart alone, at a known place: one under the other.
    let loaded = ftpload::report::load_all(&results).unwrap();
    let charts = ftpload::report::chart_svgs(&loaded);
    let (w, h) = ftpload::report::CHART_SIZE;
    assert!(charts.len() >= 19, "{} charts", charts.len());
    let sheet: String = charts.iter().map(|(_, svg)| svg.as_str()).collect();
    let sheet_html = dir.path().join("sheet.html");
    std::fs::write(
        &sheet_html,
        format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}svg{{display:block}}</style></head><body>{sheet}</body></html>"),
    )
    .unwrap();
    let sheet_png = dir.path().join("sheet.png");
    let total = h * charts.len() as u32;
    screenshot(&chromium, &sheet_html, &sheet_png, w, total);
    let img = decode(&sheet_png);
    let (w, h) = (w as usize, h as usize);
    let mut counts = Vec::new();
    for (i, (title, _)) in charts.iter().enumerate() {
        // The plot area: inside the margins of report/svg.rs.
        let n = img.coloured(64..w - 30, i * h + 26..(i + 1) * h - 30);
        counts.push(format!("{title}: {n}"));
        assert!(
            n >= 300,
            "chart {title:?} shows {n} coloured pixels in its plot area"
        );
    }
    eprintln!(
        "report_html: coloured pixels per chart:\n  {}",
        counts.join("\n  ")
    );
    if let Some(keep) = std::env::var_os("FTPLOAD_REPORT_PNG") {
        std::fs::copy(&page_png, keep).unwrap();
    }
}

#[test]
fn the_format_follows_the_flag_or_the_name_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ramp = repo_root().join(RESULTS[0]);
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(BIN)
            .arg("report")
            .arg(&ramp)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&[]).starts_with("| run | server | mode |"));
    assert!(run(&["--format".as_ref(), "html".as_ref()]).starts_with("<!DOCTYPE html>"));
    let md = dir.path().join("r.md");
    run(&["--out".as_ref(), md.as_os_str()]);
    assert!(std::fs::read_to_string(&md).unwrap().starts_with("| run |"));
    let forced = dir.path().join("r.html");
    run(&[
        "--out".as_ref(),
        forced.as_os_str(),
        "--format".as_ref(),
        "markdown".as_ref(),
    ]);
    assert!(std::fs::read_to_string(&forced)
        .unwrap()
        .starts_with("| run |"));
    let bad = Command::new(BIN)
        .args(["report", "--format", "pdf"])
        .arg(&ramp)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
