//! Reading and writing files: every file the crate reads or writes goes
//! through here, so the checks (regular files only, bounded reads, whole
//! writes) are made once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What kind of thing is at a path, in words, for messages.
fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a pipe";
        } else if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        } else if ft.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// The bytes of the regular file at `path`, at most `cap` of them. A
/// directory, device or pipe, or a larger file, is an error that says so;
/// errors start with the path.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file = open_regular(path)?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
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

/// Opens the regular file at `path` for reading. Anything else is refused
/// before it is read, and without waiting: the type is checked before
/// opening, and again on the opened file (the path may have changed in
/// between), which is opened non-blocking so that a pipe with no writer
/// does not hang the `open` itself.
pub(crate) fn open_regular(path: &Path) -> Result<std::fs::File, String> {
    let refuse =
        |ft: std::fs::FileType| format!("cannot read: this is {}, not a regular file", kind(ft));
    let before = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !before.is_file() {
        return Err(refuse(before.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    // fstat on what was opened: race-free
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(refuse(meta.file_type()));
    }
    Ok(file)
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
/// (after following links, even to a file not made yet) is a regular file
/// that can be replaced. A link loop is refused. Errors start with the path.
///
/// ```
/// let dir = std::env::temp_dir();
/// assert!(micrograd::files::check_writable(&dir.join("new-model.json")).is_ok());
/// let e = micrograd::files::check_writable(&dir).unwrap_err();
/// assert!(e.ends_with("is a directory, not a file"), "{e}");
/// let e = micrograd::files::check_writable("/no/such/dir/m.json".as_ref()).unwrap_err();
/// assert!(e.contains("no such directory"), "{e}");
/// ```
pub fn check_writable(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let target = destination(path)?;
    let dir = match target.parent() {
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
    // the only sure test of permission: make a file there (random name,
    // created exclusively, as every write here does), and remove it
    match tempfile::Builder::new()
        .prefix(".micrograd-probe.")
        .tempfile_in(dir)
    {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{shown}: cannot write in {}: {e}", dir.display())),
    }
}

/// The temporary files of writes under way, for [`remove_temporaries`].
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temporaries() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // a panic while the list was held leaves a list that is still right
    TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of every write under way in this process:
/// for a Ctrl-C handler, so that an interrupted save leaves nothing behind.
/// (Writes that end, well or not, remove their own.)
///
/// ```
/// micrograd::files::remove_temporaries(); // nothing under way: nothing to do
/// ```
pub fn remove_temporaries() {
    remove_temporaries_where(|_| true);
}

/// [`remove_temporaries`] for those that `pick` picks; the rest stay listed.
/// (Tests pick their own: the list is the whole process's, and other tests
/// write at the same time.)
fn remove_temporaries_where(pick: impl Fn(&Path) -> bool) {
    let mut list = temporaries();
    list.retain(|p| {
        if pick(p) {
            let _ = std::fs::remove_file(p);
            false
        } else {
            true
        }
    });
}

/// Where a write to `path` lands: `path`, or the file a link at `path`
/// points to (the link is kept), followed link by link, so that a link to a
/// file not made yet is written through too. Errors if that is a
/// directory, a device, a pipe or anything but a regular file or nothing,
/// or if the links go round in a loop.
fn destination(path: &Path) -> Result<PathBuf, String> {
    let shown = path.display();
    let target = resolve_links(path)?;
    match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => Err(format!(
            "{shown}: cannot write: this is {}, not a file",
            kind(m.file_type())
        )),
        _ => Ok(target),
    }
}

/// The most links followed, as Linux's own limit (`ELOOP` after 40).
const MAX_LINKS: usize = 40;

/// `path` with the link at its end followed, and the link at the end of
/// that, until what is there is not a link (or nothing). A relative link
/// is read from its own directory.
fn resolve_links(path: &Path) -> Result<PathBuf, String> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {}
            _ => return Ok(at),
        }
        let next = std::fs::read_link(&at)
            .map_err(|e| format!("{}: cannot write through the link: {e}", path.display()))?;
        at = match at.parent() {
            Some(dir) => dir.join(next), // an absolute `next` replaces it all
            None => next,
        };
    }
    Err(format!(
        "{}: cannot write: the link goes round in a loop (or through more than {MAX_LINKS} links)",
        path.display()
    ))
}

/// The permissions a new file is created with: read and write for all,
/// which the kernel narrows by the umask.
#[cfg(unix)]
fn new_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

/// A file being written: a temporary with a random name beside its
/// destination, created exclusively (no one can have planted it, or a link
/// in its place), listed for [`remove_temporaries`], and removed if dropped
/// before [`commit`](Pending::commit).
struct Pending {
    shown: String,
    dest: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
}

impl Pending {
    fn new(path: &Path) -> Result<Pending, String> {
        let shown = path.display().to_string();
        let dest = destination(path)?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| format!("{shown}: not a file path"))?
            .to_string_lossy()
            .into_owned();
        // the same extension at the end: writers that go by it (PNG) still can
        let suffix = match dest.extension() {
            Some(e) => format!(".tmp.{}", e.to_string_lossy()),
            None => ".tmp".to_owned(),
        };
        // a new file gets 0666 less the umask, as with any other tool (the
        // kernel applies the umask); an existing one keeps its mode (commit)
        // (off Unix, as on WebAssembly, the platform's default)
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        #[cfg(unix)]
        builder.permissions(new_file_permissions());
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| format!("{shown}: cannot write: {e}"))?;
        temporaries().push(tmp.path().to_path_buf());
        Ok(Pending {
            shown,
            dest,
            tmp: Some(tmp),
        })
    }

    fn path(&self) -> &Path {
        self.tmp.as_ref().expect("not yet committed").path()
    }

    /// Gives the temporary the existing file's permissions and owner, then
    /// renames it over the destination.
    fn commit(mut self) -> Result<(), String> {
        let tmp = self.tmp.take().expect("committed once");
        let fail = |e: &dyn std::fmt::Display| format!("{}: cannot write: {e}", self.shown);
        if let Ok(old) = std::fs::metadata(&self.dest) {
            tmp.as_file()
                .set_permissions(old.permissions())
                .map_err(|e| fail(&e))?;
            // as root, the file stays its owner's; otherwise this is a no-op or not allowed
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(old.uid()), Some(old.gid()));
            }
        }
        let path = tmp.path().to_path_buf();
        let done = tmp
            .persist(&self.dest)
            .map(|_| ())
            .map_err(|e| fail(&e.error));
        temporaries().retain(|p| *p != path);
        done
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let path = tmp.path().to_path_buf();
            drop(tmp); // removes the file
            temporaries().retain(|p| *p != path);
        }
    }
}

/// Writes several files so that each is whole or untouched, and they change
/// together: every file is written to a temporary beside it first, and only
/// when all are written are they renamed into place. `write` fills the
/// temporary at the path it is given.
///
/// A path may be a link (the file it points to is written) or a regular
/// file (its permissions are kept; hard links to it are not, as a rename
/// makes a new file); a directory, device or pipe is refused. The
/// temporaries have random names and are created exclusively, so a planted
/// file or link cannot redirect the write; they are removed on any error,
/// and by [`remove_temporaries`] on Ctrl-C.
pub(crate) fn write_together(
    paths: &[&Path],
    write: impl Fn(usize, &Path) -> Result<(), String>,
) -> Result<(), String> {
    let mut pending = Vec::with_capacity(paths.len());
    for (k, p) in paths.iter().enumerate() {
        let file = Pending::new(p)?;
        write(k, file.path()).map_err(|e| format!("{}: cannot write: {e}", p.display()))?;
        pending.push(file);
    }
    pending.into_iter().try_for_each(Pending::commit)
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename:
/// readers never see a half-written file, and a failure leaves none behind.
/// Every file this crate writes goes this way (see [`write_all`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("hello.txt");
/// micrograd::files::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// let err = micrograd::files::write_atomic("/no/such/dir/x.txt".as_ref(), b"").unwrap_err();
/// assert!(err.starts_with("/no/such/dir/x.txt: cannot write"));
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_all(&[(path, bytes)])
}

/// Writes several files together (a model's JSON and safetensors, say):
/// all temporaries are written first and then renamed, so the files always
/// come from the same run. A link at a path is written through; an existing
/// file keeps its permissions; a directory, device or pipe is refused.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let d = dir.path();
/// let (a, b) = (d.join("a.txt"), d.join("b.txt"));
/// micrograd::files::write_all(&[(a.as_path(), b"one".as_slice()), (b.as_path(), b"two")]).unwrap();
/// assert_eq!(std::fs::read(&b).unwrap(), b"two");
/// let e = micrograd::files::write_all(&[(d, b"")]).unwrap_err();
/// assert!(e.ends_with("this is a directory, not a file"), "{e}");
/// ```
pub fn write_all(files: &[(&Path, &[u8])]) -> Result<(), String> {
    let paths: Vec<&Path> = files.iter().map(|f| f.0).collect();
    write_together(&paths, |k, tmp| {
        std::fs::write(tmp, files[k].1).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt as _;

    #[test]
    fn reads_only_regular_files_and_at_most_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e, "cannot read: this is a device, not a regular file");
        let e = read_capped(Path::new("/"), 1 << 20).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cap");
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

    /// A fresh directory, removed when dropped.
    fn dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("mg-files-{name}-"))
            .tempdir()
            .unwrap()
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_keep_permissions_follow_links_and_refuse_special_files() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = dir("perm");
        let d = tmp.path();
        let p = d.join("model.json");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // a link is written through, and stays a link
        let link = d.join("latest.json");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        write_atomic(&link, b"via link").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"via link");
        // a device, a pipe, a directory: refused, and left as they were
        let e = write_atomic(Path::new("/dev/null"), b"x").unwrap_err();
        assert_eq!(e, "/dev/null: cannot write: this is a device, not a file");
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = write_atomic(&fifo, b"x").unwrap_err();
            assert!(e.ends_with("this is a pipe, not a file"), "{e}");
        }
        let e = write_atomic(d, b"x").unwrap_err();
        assert!(e.ends_with("this is a directory, not a file"), "{e}");
        // nothing left behind by any of it
        let left = names(d);
        assert!(left.iter().all(|n| !n.contains(".tmp")), "{left:?}");
    }

    #[test]
    fn temporaries_are_random_exclusive_and_removed_on_failure() {
        let tmp = dir("tmp");
        let d = tmp.path();
        let victim = d.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        // links planted at the names the old scheme would have used
        for pid in std::process::id()..std::process::id() + 50 {
            let planted = d.join(format!(".model.json.{pid}.tmp"));
            std::os::unix::fs::symlink(&victim, planted).unwrap();
        }
        write_atomic(&d.join("model.json"), b"model").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(d.join("model.json")).unwrap(), b"model");
        // a write that fails half-way, for the second of two files: neither changes
        let (a, b) = (d.join("a.json"), d.join("b.json"));
        std::fs::write(&a, "old a").unwrap();
        let err = write_together(&[&a, &b], |k, tmp| {
            if k == 1 {
                return Err("disk full".into());
            }
            std::fs::write(tmp, "new a").map_err(|e| e.to_string())
        })
        .unwrap_err();
        assert!(err.contains("b.json: cannot write: disk full"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert!(!b.exists());
        assert!(
            names(d)
                .iter()
                .all(|n| !n.ends_with(".tmp") || n.contains(".model.json."))
        );
        // Ctrl-C: the handler removes what is under way (here only this
        // test's own: other tests' writes are under way too)
        let p = Pending::new(&d.join("c.json")).unwrap();
        let tmp = p.path().to_path_buf();
        assert!(tmp.exists());
        remove_temporaries_where(|t| t.starts_with(d));
        assert!(!tmp.exists());
        assert!(!temporaries().contains(&tmp));
        drop(p);
    }
}
