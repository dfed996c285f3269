use super::*;
use crate::data::{PrepOptions, Table};
use crate::train::{Choices, DataKind, Importance, Measured, Recipe, Scores, fit};

/// A table whose column and class names are HTML, trained for a few
/// epochs; the page about it, with an importance picture.
fn page_about_html_names() -> String {
    page_about(None)
}

/// [`page_about_html_names`], the model said to have been refit as `refit`
/// says after a best validation loss at step 3.
fn page_about(refit: Option<crate::train::Refit>) -> String {
    let mut text = String::from("\"<script>alert(1)</script>\",other,label\n");
    for i in 0..60 {
        let x = (i * 37 % 60) as f64 / 6.0;
        let label = if x < 5.0 { "<b>low</b>" } else { "high & dry" };
        text += &format!("{x},{},\"{label}\"\n", i % 7);
    }
    let t = Table::parse(&text, "<evil>.csv").unwrap();
    let rows: Vec<usize> = (0..60).collect();
    let (prep, _) = Preprocess::fit(&t, "label", &rows, &PrepOptions::default()).unwrap();
    let (ds, _) = prep.dataset(&t, &rows).unwrap();
    let choices = Choices {
        epochs: Some(5),
        ..Choices::default()
    };
    let recipe = Recipe::choose(DataKind::Table, &ds, false, &choices).unwrap();
    let model = recipe.model(ds.nfeatures(), ds.nclasses(), 1);
    let mut history = fit(&model, &ds, &recipe.cfg, |_| {});
    history.best_step = refit.map(|_| 2);
    let train = Scores::of(&model, &ds, recipe.cfg.loss, &prep);
    let importance = Importance::of(&model, &prep, recipe.cfg.loss, &ds, Measured::Train, 1);
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("importance.svg");
    crate::viz::plot_importance(&svg, &importance).unwrap();
    let notes = vec!["column '<i>' left out".to_owned()];
    let page = Page {
        command: Some("micrograd train '<evil>.csv'"),
        data: DataSummary {
            source: "<evil>.csv",
            rows: [60, 0, 0],
            prep: &prep,
            notes: &notes,
        },
        recipe: &recipe,
        network: (&[2, 32, 2], 162),
        history: &history,
        refit,
        train: &train,
        test: None,
        cv: None,
        importance: Some(&importance),
        figures: &Figures::read(&[svg]),
        warnings: &["class '<b>low</b>' is rarely predicted".to_owned()],
    };
    render(&page)
}

#[test]
fn text_from_the_table_is_escaped_and_nothing_is_fetched() {
    let html = page_about_html_names();
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(
        !html.contains("<b>low</b>") && !html.contains("<i>"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;low&lt;/b&gt;"));
    assert!(html.contains("high &amp; dry"));
    for fetch in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(fetch), "{fetch} in the page");
    }
    // the picture is inline, and its text escaped too
    assert!(html.contains("<svg") && html.contains("feature importance"));
}

#[test]
fn the_page_has_its_sections() {
    let html = page_about_html_names();
    for h in [
        "<h2>Data</h2>",
        "<h2>Recipe</h2>",
        "<h2>Scores</h2>",
        "<h2>Per class</h2>",
        "<h2>Confusion matrix</h2>",
        "<h2>Feature importance</h2>",
    ] {
        assert!(html.contains(h), "{h}");
    }
    assert!(html.contains("No rows were held out for a test"));
    assert!(html.contains("Warnings"));
    assert!(html.matches("<section>").count() == html.matches("</section>").count());
}

#[test]
fn a_refit_model_is_said_to_be_the_one_saved() {
    let refit = crate::train::Refit {
        epochs: 4,
        rows: 60,
        steps: 8,
    };
    let html = page_about(Some(refit));
    assert!(
        html.contains("best validation loss at step 3; then refit on all 60 training rows for 4 epochs (8 steps): the model saved"),
        "{html}"
    );
    assert!(!html.contains("kept (best validation loss)"));
    assert!(page_about_html_names().contains("steps</td>"));
}
