//! `report.html`, as `micrograd train` writes it beside the model: every
//! section there, the pictures inline, nothing fetched, the table's names
//! escaped.

mod common;

use common::{dir, micrograd, s, stderr, stdout};

#[test]
fn report_html_is_written_beside_the_model_whole_and_escaped() {
    let d = dir("report");
    let csv = d.join("t.csv");
    let mut text = String::from("\"<script>alert(1)</script>\",x,kind\n");
    for i in 0..120 {
        let x = (i * 37 % 120) as f64 / 12.0;
        let kind = ["<b>a</b>", "b", "c"][(x / 3.4) as usize];
        text += &format!("{},{x},{kind}\n", i % 5);
    }
    std::fs::write(&csv, text).unwrap();
    let args = [
        "train",
        s(&csv),
        "--target",
        "kind",
        "--epochs",
        "20",
        "--out",
        s(&d),
    ];
    let o = micrograd(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = d.join("report.html");
    assert!(
        stdout(&o).contains(&format!("wrote {}", report.display())),
        "{}",
        stdout(&o)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    for section in [
        "<h2>Data</h2>",
        "<h2>Recipe</h2>",
        "<h2>Scores</h2>",
        "<h2>Per class</h2>",
        "<h2>Confusion matrix</h2>",
        "<h2>Training</h2>",
        "<h2>Feature importance</h2>",
        "test (mean ± sd)",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // the pictures inline, nothing to fetch, the user's names escaped
    // two input columns and classes: the decision boundary is drawn too
    assert!(html.contains("<h2>Decision boundary</h2>"));
    let svgs = html.matches("<svg").count();
    assert_eq!(svgs, 4, "loss, confusion, importance, boundary");
    assert!(!html.to_lowercase().contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<b>a</b>") && html.contains("&lt;b&gt;a&lt;/b&gt;"));
    for fetch in ["http://", "https://"] {
        for attr in ["src=", "href="] {
            assert!(!html.contains(&format!("{attr}\"{fetch}")), "{attr}{fetch}");
        }
    }
    assert!(!html.contains(" src=") && !html.contains(" href="));
    // --no-plots: no pictures, so no page
    let bare = d.join("bare");
    let o = micrograd(&[&args[..6], &["--out", s(&bare), "--no-plots"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!bare.join("report.html").exists());
}
