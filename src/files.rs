//! Reading and writing files: every file the crate reads or writes goes
//! through here, so the checks (regular files only, bounded reads, whole
//! writes) are made once.

use std::io::Read;
use std::path::Path;

/// What kind of thing is at a path, in words, for messages.
fn kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a pipe"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The bytes of the regular file at `path`, at most `cap` of them. A
/// directory, device or pipe, or a larger file, is an error that says so;
/// errors start with the path.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read: this is {}, not a regular file",
            kind(meta.file_type())
        ));
    }
    let too_big = |n: u64| {
        format!(
            "cannot read: the file is {} and the limit is {}",
            bytes(n),
            bytes(cap)
        )
    };
    if meta.len() > cap {
        return Err(too_big(meta.len()));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot read: {e}"))?;
    if out.len() as u64 > cap {
        return Err(too_big(out.len() as u64)); // it grew while being read
    }
    Ok(out)
}

/// A byte count as people read it: "512 bytes", "3.2 MiB", "1.0 GiB".
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1 << 20 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / (1 << 20) as f64;
    let mut unit = 1;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Checks, before any work is done, that a file can be written at `path`:
/// its directory exists and takes new files, and whatever is at the path
/// (after following links) is a regular file that can be replaced. Errors
/// start with the path.
///
/// ```
/// let dir = std::env::temp_dir();
/// assert!(micrograd::check_writable(&dir.join("new-model.json")).is_ok());
/// let e = micrograd::check_writable(&dir).unwrap_err();
/// assert!(e.ends_with("is a directory, not a file"), "{e}");
/// let e = micrograd::check_writable("/no/such/dir/m.json".as_ref()).unwrap_err();
/// assert!(e.contains("no such directory"), "{e}");
/// ```
pub fn check_writable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(format!(
            "{shown}: cannot write: this is {}, not a file",
            kind(meta.file_type())
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "{shown}: cannot write: {} is not a directory",
                dir.display()
            ));
        }
        Err(_) => {
            return Err(format!(
                "{shown}: cannot write: no such directory {}",
                dir.display()
            ));
        }
    }
    // the only sure test of permission: make a file there, and remove it
    let probe = dir.join(format!(".micrograd-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("{shown}: cannot write in {}: {e}", dir.display())),
    }
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename:
/// readers never see a half-written file, and a failure leaves none behind.
/// Every file this crate writes goes through it.
///
/// ```
/// let p = std::env::temp_dir().join(format!("mg-doc-atomic-{}.txt", std::process::id()));
/// micrograd::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// let err = micrograd::write_atomic("/no/such/dir/x.txt".as_ref(), b"").unwrap_err();
/// assert!(err.starts_with("/no/such/dir/x.txt: cannot write"));
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_regular_files_and_at_most_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e, "cannot read: this is a device, not a regular file");
        let e = read_capped(Path::new("/"), 1 << 20).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let p = std::env::temp_dir().join(format!("mg-files-cap-{}", std::process::id()));
        std::fs::write(&p, [7u8; 2000]).unwrap();
        assert_eq!(read_capped(&p, 2000).unwrap().len(), 2000);
        let e = read_capped(&p, 1999).unwrap_err();
        assert_eq!(
            e,
            "cannot read: the file is 2000 bytes and the limit is 1999 bytes"
        );
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1 << 30), "1.0 GiB");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
