//! How numbers and names are written in messages, summaries and pictures.

/// A number as the command prints it (progress, summaries, plots' axes):
/// six decimals, fewer for large numbers, and scientific notation outside
/// 1e-4 ≤ |x| < 1e5, so a number that exploded reads `1.23e12`, never
/// thirteen digits.
///
/// ```
/// use micrograd::text::fmt_num;
/// assert_eq!(fmt_num(0.022016), "0.022016");
/// assert_eq!(fmt_num(7149.2), "7149.20");
/// assert_eq!(fmt_num(1.234e12), "1.23e12");
/// assert_eq!(fmt_num(-2.5e-7), "-2.50e-7");
/// assert_eq!(fmt_num(0.0), "0.000000");
/// assert_eq!(fmt_num(f64::NAN), "NaN");
/// ```
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        format!("{x}")
    } else if a != 0.0 && !(1e-4..1e5).contains(&a) {
        format!("{x:.2e}")
    } else {
        let int_digits = if a >= 1.0 {
            a.log10().floor() as usize + 1
        } else {
            0
        };
        format!("{x:.*}", 6usize.saturating_sub(int_digits).max(1))
    }
}

/// [`fmt_num`] without trailing zeros: for axis labels and settings.
///
/// ```
/// use micrograd::text::fmt_short;
/// assert_eq!(fmt_short(1.0), "1");
/// assert_eq!(fmt_short(0.0100), "0.01");
/// assert_eq!(fmt_short(1.5e6), "1.5e6");
/// ```
pub fn fmt_short(v: f64) -> String {
    let s = fmt_num(v);
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        None if s.contains('.') => s.trim_end_matches('0').trim_end_matches('.').to_owned(),
        _ => s,
    }
}

/// `s`, cut to at most `max` characters with "…" if it was longer: messages
/// quote input, never megabytes of it.
///
/// ```
/// use micrograd::text::shorten;
/// assert_eq!(shorten("setosa", 10), "setosa");
/// assert_eq!(shorten("a very long class name", 6), "a very…");
/// ```
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// `names` joined by ", ", each quoted with `quote` (`'` or nothing),
/// shortened by whole names: as many as fit in about `max` characters, then
/// "and N more". A name is never cut in half, and a single name longer than
/// `max` is shortened alone, its quotes closed.
///
/// ```
/// use micrograd::text::some_names;
/// let cols = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"];
/// assert_eq!(some_names(&cols, "'", 200), "'bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'");
/// assert_eq!(some_names(&cols, "'", 50), "'bill_length_mm', 'bill_depth_mm' and 2 more");
/// assert_eq!(some_names(&["a"; 0], "'", 10), "");
/// ```
pub fn some_names<S: AsRef<str>>(names: &[S], quote: &str, max: usize) -> String {
    let quoted = |n: &str, cap: usize| format!("{quote}{}{quote}", shorten(n, cap));
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        let q = quoted(n.as_ref(), max.max(8));
        let left = names.len() - i - 1;
        // room for this name, and for " and N more" if others follow
        let tail = if left > 0 { 11 } else { 0 };
        if i > 0 && out.chars().count() + 2 + q.chars().count() + tail > max {
            return format!("{out} and {} more", names.len() - i);
        }
        if i > 0 {
            out += ", ";
        }
        out += &q;
    }
    out
}

/// The one of `among` that `word` most likely misspells: one that starts
/// with it, or that it starts with, or at most two letters away (case
/// aside). `None` when nothing is that close.
///
/// ```
/// use micrograd::text::nearest;
/// let sets = ["moons", "circles", "spiral", "xor", "toy"];
/// assert_eq!(nearest("moon", &sets), Some("moons"));
/// assert_eq!(nearest("Spirals", &sets), Some("spiral"));
/// assert_eq!(nearest("cirlces", &sets), Some("circles"));
/// assert_eq!(nearest("iris.csv", &sets), None);
/// assert_eq!(nearest("toyota.csv", &sets), None); // a prefix, but far longer
/// ```
pub fn nearest<'a>(word: &str, among: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    let distance = |o: &str| {
        let o = o.to_lowercase();
        if o.starts_with(&w) || w.starts_with(&o) {
            return o.chars().count().abs_diff(w.chars().count());
        }
        edits(&w, &o)
    };
    among
        .iter()
        .map(|&o| (distance(o), o))
        .filter(|&(d, o)| d <= 2 && d < o.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, o)| o)
}

/// Levenshtein distance: the letters to insert, delete or change to turn
/// `a` into `b`, a swap of two neighbours counting as one.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let change = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + change);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}
