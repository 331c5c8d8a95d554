//! An image's uncompressed size read from the `docker save` stream itself, the same on every image store: the
//! sum of the file sizes inside its layers. `docker image inspect`'s `.Size` means this only on the graphdriver
//! (overlay2) store; on the containerd image store it was the packed (compressed) content (moby/moby#53398) and
//! later packed plus unpacked (moby/moby#53426). `docker save` writes layers as plain tars (`<id>/layer.tar`,
//! graphdriver) or as OCI blobs, gzip-compressed as stored (containerd); both are read here, while streaming.

use std::io::Write;

/// Counts the bytes of regular files in a tar stream (ustar, GNU and pax headers; POSIX.1-2001 layout: 512-byte
/// blocks, size in octal at offset 124, GNU base-256 when the first byte has its high bit set).
#[derive(Default)]
pub struct TarFiles {
    header: Vec<u8>,
    /// Bytes of the current entry still to come (content plus padding to 512).
    left: u64,
    /// The current entry is a regular file whose content counts.
    counting: bool,
    pub file_bytes: u64,
    /// Not a tar (the first header has no `ustar` magic): nothing counted.
    pub not_tar: bool,
    seen_header: bool,
}

fn octal(field: &[u8]) -> u64 {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian, first byte's high bit is the marker.
        return field
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, b)| (acc << 8) | u64::from(if i == 0 { b & 0x7f } else { *b }));
    }
    let text = std::str::from_utf8(field).unwrap_or("");
    u64::from_str_radix(text.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

impl TarFiles {
    fn on_header(&mut self, h: &[u8]) {
        if h.iter().all(|b| *b == 0) {
            // End-of-archive blocks.
            self.left = 0;
            self.counting = false;
            return;
        }
        if !self.seen_header {
            self.seen_header = true;
            if &h[257..262] != b"ustar" {
                self.not_tar = true;
                return;
            }
        }
        let size = octal(&h[124..136]);
        // '0' or NUL: a regular file; '7' contiguous file. Links, directories, pax/GNU metadata add nothing.
        self.counting = matches!(h[156], b'0' | 0 | b'7');
        self.left = size.div_ceil(512) * 512;
        if self.counting {
            self.file_bytes += size;
        }
    }
}

impl Write for TarFiles {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() && !self.not_tar {
            if self.left > 0 {
                let take = (self.left.min(buf.len() as u64)) as usize;
                self.left -= take as u64;
                buf = &buf[take..];
                continue;
            }
            let need = 512 - self.header.len();
            let take = need.min(buf.len());
            self.header.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.header.len() == 512 {
                let h = std::mem::take(&mut self.header);
                self.on_header(&h);
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One entry of the outer (`docker save`) tar: maybe a layer, plain or gzip-compressed.
enum Entry {
    Undecided(Vec<u8>),
    Plain(TarFiles),
    Gzip(Box<flate2::write::GzDecoder<TarFiles>>),
}

impl Entry {
    fn feed(&mut self, data: &[u8]) {
        if let Entry::Undecided(buf) = self {
            buf.extend_from_slice(data);
            if buf.len() < 2 {
                return;
            }
            let head = std::mem::take(buf);
            *self = if head.starts_with(&[0x1f, 0x8b]) {
                Entry::Gzip(Box::new(flate2::write::GzDecoder::new(TarFiles::default())))
            } else {
                Entry::Plain(TarFiles::default())
            };
            self.feed(&head);
            return;
        }
        match self {
            Entry::Plain(t) => {
                let _ = t.write_all(data);
            }
            Entry::Gzip(g) => {
                // A blob that is gzip but not a tar (or corrupt) just counts nothing.
                let _ = g.write_all(data);
            }
            Entry::Undecided(_) => {}
        }
    }

    /// The layer's file bytes, or None when the entry is no layer (config, manifest, index).
    fn finish(self) -> Option<u64> {
        let t = match self {
            Entry::Undecided(_) => return None,
            Entry::Plain(t) => t,
            Entry::Gzip(g) => g.finish().ok()?,
        };
        (!t.not_tar && t.seen_header).then_some(t.file_bytes)
    }
}

/// Reads a `docker save` stream as it passes: every regular file entry of the outer tar that is itself a tar
/// (plain or gzip) is a layer, and its file bytes are summed. Symlinked `layer.tar` entries (both layouts at
/// once, Docker 25+) are links, so no layer counts twice.
#[derive(Default)]
pub struct SaveReader {
    outer_header: Vec<u8>,
    left: u64,
    padding: u64,
    entry: Option<Entry>,
    pub layers: usize,
    pub uncompressed: u64,
}

impl SaveReader {
    fn close_entry(&mut self) {
        if let Some(e) = self.entry.take() {
            if let Some(bytes) = e.finish() {
                self.layers += 1;
                self.uncompressed += bytes;
            }
        }
    }
}

impl Write for SaveReader {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            if self.left > 0 {
                let take = (self.left.min(buf.len() as u64)) as usize;
                if let Some(e) = self.entry.as_mut() {
                    e.feed(&buf[..take]);
                }
                self.left -= take as u64;
                buf = &buf[take..];
                if self.left == 0 {
                    self.close_entry();
                }
                continue;
            }
            if self.padding > 0 {
                let take = (self.padding.min(buf.len() as u64)) as usize;
                self.padding -= take as u64;
                buf = &buf[take..];
                continue;
            }
            let take = (512 - self.outer_header.len()).min(buf.len());
            self.outer_header.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.outer_header.len() == 512 {
                let h = std::mem::take(&mut self.outer_header);
                if h.iter().all(|b| *b == 0) {
                    continue;
                }
                let size = octal(&h[124..136]);
                let regular = matches!(h[156], b'0' | 0 | b'7');
                self.left = size;
                self.padding = size.div_ceil(512) * 512 - size;
                self.entry = (regular && size > 0).then(|| Entry::Undecided(vec![]));
                if size == 0 {
                    self.entry = None;
                }
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Which image store the daemon uses, from `docker info`'s `Driver` and `DriverStatus`: the containerd store
/// reports `driver-type: io.containerd.snapshotter.v1` (docs.docker.com/engine/storage/containerd).
pub fn store_name(driver: &str, driver_status: &str) -> String {
    if driver_status.contains("io.containerd.snapshotter") {
        format!("containerd image store (snapshotter {driver})")
    } else if driver.is_empty() {
        "unknown image store".into()
    } else {
        format!("{driver} graphdriver store")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar entry: a ustar header (name, octal size, type) and the padded content.
    fn entry(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let mut out = h;
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn tar(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out: Vec<u8> = entries.concat();
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn sums_the_files_of_plain_and_gzip_layers_and_skips_links_and_metadata() {
        let layer1 = tar(&[entry("app", b'0', &[7u8; 3000]), entry("etc/", b'5', b""), entry("l", b'2', b"")]);
        let layer2 = tar(&[entry("data", b'0', &[1u8; 700])]);
        let save = tar(&[
            entry("abc/layer.tar", b'0', &layer1),
            entry("blobs/sha256/def", b'0', &gzip(&layer2)),
            // The same layer again as a symlink (Docker 25+ writes both layouts): not counted twice.
            entry("def/layer.tar", b'2', b""),
            entry("manifest.json", b'0', br#"[{"Config":"x.json"}]"#),
            entry("blobs/sha256/cfg", b'0', &gzip(br#"{"config":{}}"#)),
        ]);
        let mut r = SaveReader::default();
        // In odd-sized pieces, as a pipe delivers them.
        for chunk in save.chunks(333) {
            r.write_all(chunk).unwrap();
        }
        assert_eq!((r.layers, r.uncompressed), (2, 3700));
    }

    #[test]
    fn names_the_store() {
        assert_eq!(store_name("overlay2", "[[\"Backing Filesystem\",\"extfs\"]]"), "overlay2 graphdriver store");
        assert_eq!(
            store_name("overlayfs", "[[\"driver-type\",\"io.containerd.snapshotter.v1\"]]"),
            "containerd image store (snapshotter overlayfs)"
        );
    }
}
