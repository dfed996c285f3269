//! The static site's engine: this crate's page API ([`micrograd::page`])
//! compiled to WebAssembly, so the page that `micrograd serve` serves runs
//! with no server behind it. The page's `api(path, body)` calls [`call`]
//! where the server would answer `POST path` with the same Rust.
//!
//! Built by `tools/build_site.sh` into `site/` (wasm-bindgen's `--target
//! web` bindings, `micrograd.js`, beside `index.html`).

use std::cell::RefCell;

use micrograd::page::Api;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The page's training sessions, for the life of the page.
    static API: RefCell<Api> = RefCell::new(Api::default());
}

/// Answers one request of the page: `path` (`/api/expr`, `/api/train/new`,
/// ...) with its JSON `body`, as the server's JSON answer; a refused
/// request throws an `Error` with the server's message.
#[wasm_bindgen]
pub fn call(path: &str, body: &str) -> Result<String, JsError> {
    answer(path, body).map_err(|message| JsError::new(&message))
}

/// [`call`]'s work, callable outside a browser (its tests).
pub fn answer(path: &str, body: &str) -> Result<String, String> {
    API.with_borrow_mut(|api| api.call_text(path, body))
        .map(|json| json.to_string())
        .map_err(|refused| refused.message)
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn the_module_answers_as_the_server_does() {
        let body = r#"{"expr": "x*y", "values": {"x": 2, "y": 3}}"#;
        let graph: serde_json::Value =
            serde_json::from_str(&answer("/api/expr", body).unwrap()).unwrap();
        assert_eq!(graph["value"], 6.0);
        let run = answer("/api/train/new", r#"{"data": "moons"}"#).unwrap();
        let id = serde_json::from_str::<serde_json::Value>(&run).unwrap()["id"].clone();
        let step = answer("/api/train/step", &format!(r#"{{"id": {id}, "steps": 2}}"#)).unwrap();
        assert!(step.contains(r#""step":2"#), "{step}");
        assert!(
            answer("/api/nothing", "{}")
                .unwrap_err()
                .contains("no such page")
        );
        assert!(
            answer("/api/expr", "{")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
