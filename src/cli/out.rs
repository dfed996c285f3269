//! Standard output for the subcommands. A closed pipe (`micrograd train |
//! head -2`) ends the program quietly, by SIGPIPE, as it ends `cat`: Rust
//! ignores the signal, so that a write fails instead, and `println!` panics
//! on that failure. Use [`out!`] and [`outln!`] for stdout, and
//! [`errln!`] for stderr: a message that cannot be shown (stderr closed) is
//! dropped, never a panic, and the work goes on.

use std::io::Write;

/// Writes to stdout and flushes, so that a failure is seen here; see the
/// module.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        failed(&e);
    }
}

/// Writes `bytes` to stdout and flushes, as [`write`].
pub fn write_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        failed(&e);
    }
}

/// Ends the program on a failed write to stdout: by SIGPIPE's default
/// action if the reader has gone, with status 1 and a message otherwise
/// (a full disk). The temporaries of writes under way are removed first.
fn failed(e: &std::io::Error) -> ! {
    use signal_hook::consts::SIGPIPE;
    micrograd::files::remove_temporaries();
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // restores the default action (end the process) and raises it
        let _ = signal_hook::low_level::emulate_default_handler(SIGPIPE);
        std::process::exit(128 + SIGPIPE); // as a shell reports that
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: cannot write to standard output: {e}"
    );
    std::process::exit(1)
}

/// `print!` that ends the program quietly when stdout is a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*))
    };
}

/// `println!` that ends the program quietly when stdout is a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stderr, dropping what cannot be written; see the module.
pub fn note(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `eprint!` that never panics: a closed stderr drops the message.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::cli::out::note(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: a closed stderr drops the message.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::note(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {err, errln, out, outln};
