//! Small helpers shared by the fakes: clock formats, globbing, hashing, Go-style sizes and durations, flag parsing.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// (year, month, day, hour, minute, second, weekday 0=Sunday) in UTC, from Unix milliseconds.
fn civil(ms: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::time::civil_from_days(days);
    let wd = (days + 4).rem_euclid(7) as u32;
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32, wd)
}

/// RFC 3339 with nanoseconds, as Go's `time.Time` marshals to JSON in UTC.
pub fn rfc3339(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}Z", (ms % 1000) * 1_000_000)
}

/// RFC 3339 without fractions (`2024-10-01T12:00:00Z`).
pub fn rfc3339_secs(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Go's `time.ANSIC` (`Mon Jan _2 15:04:05 2006`), which helm prints as LAST DEPLOYED.
pub fn ansic(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s, wd) = civil(ms);
    format!("{} {} {d:>2} {h:02}:{mi:02}:{s:02} {y}", DAYS[wd as usize], MONTHS[mo as usize - 1])
}

/// Go's `time.Time.String()` in UTC (`2025-01-20 12:24:35.123 +0000 UTC`), used by `helm list -o json`.
pub fn go_time_string(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:09} +0000 UTC", (ms % 1000) * 1_000_000)
}

/// `*` matches any run of characters (spaces included); everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A fast non-cryptographic 64-bit hash (FNV-style over 8-byte words); ids only need to be deterministic.
pub fn hash64(data: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x100_0000_01b3).rotate_left(29);
    }
    for b in chunks.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// 64 hex digits, like a sha256 digest.
pub fn hex256(data: &[u8]) -> String {
    (0..4).map(|i| format!("{:016x}", hash64(data, i + 1))).collect()
}

/// Deterministic pseudo-random bytes (xorshift64*), incompressible enough for gzip-based size checks.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// go-units `HumanSizeWithPrecision`: decimal units, `%.{precision}g` (docker prints 3 in history/images, 4 for
/// "Sending build context").
pub fn human_size(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", fmt_g(v, precision), UNITS[i])
}

/// C's `%.Ng` for the non-negative values sizes produce.
fn fmt_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.log10().floor() as i32 + 1;
    let decimals = (precision as i32 - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Go `time.ParseDuration` for the units tests use (h, m, s, ms); a bare number counts as seconds.
pub fn parse_duration_ns(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n * 1_000_000_000);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || n == '.' {
                break;
            }
            unit.push(n);
            chars.next();
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += n * match unit.as_str() {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        any = true;
    }
    (any && num.is_empty()).then_some(total as u64)
}

/// Go's `time.Duration.String()` for whole seconds and milliseconds (`1m30s`, `10s`, `0s`, `500ms`).
pub fn go_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", ns / 1_000_000);
    }
    let secs = ns / 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Parsed command line: flags in order (with values where the tool's flag takes one) and positionals.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub flags: Vec<(String, Option<String>)>,
    pub pos: Vec<String>,
    /// Everything after a bare `--`.
    pub rest: Vec<String>,
}

impl Flags {
    /// `valued` lists the flag spellings that take a value (`-f`, `--file`); `--x=v` always carries one.
    pub fn parse(args: &[String], valued: &[&str]) -> Flags {
        let mut f = Flags::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                f.rest = it.by_ref().cloned().collect();
                break;
            }
            if a.starts_with('-') && a.len() > 1 {
                if let Some((k, v)) = a.split_once('=') {
                    f.flags.push((k.to_string(), Some(v.to_string())));
                } else if valued.contains(&a.as_str()) {
                    f.flags.push((a.clone(), it.next().cloned()));
                } else {
                    f.flags.push((a.clone(), None));
                }
            } else {
                f.pos.push(a.clone());
            }
        }
        f
    }

    /// The last value of any of `names`.
    pub fn get(&self, names: &[&str]) -> Option<String> {
        self.flags.iter().rev().find(|(k, _)| names.contains(&k.as_str())).and_then(|(_, v)| v.clone())
    }

    pub fn all(&self, names: &[&str]) -> Vec<String> {
        self.flags.iter().filter(|(k, _)| names.contains(&k.as_str())).filter_map(|(_, v)| v.clone()).collect()
    }

    pub fn has(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|(k, v)| names.contains(&k.as_str()) && v.as_deref() != Some("false"))
    }
}

/// Whether a file has any execute bit (Trivy's binary analyzers only look at executables:
/// aquasecurity/trivy v0.69.3 `pkg/fanal/analyzer/language/rust/binary/binary.go:35-37`).
pub fn is_executable(p: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        true
    }
}

/// Whether `bytes` is a little-endian ELF64 file with a section called `name` (the ELF header's section table and
/// its string table; the layout is the System V gABI's).
pub fn elf_has_section(bytes: &[u8], name: &str) -> bool {
    let u16_at = |o: usize| bytes.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |o: usize| bytes.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let u64_at = |o: usize| {
        bytes.get(o..o + 8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize)
    };
    // Magic, ELFCLASS64, ELFDATA2LSB.
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return false;
    }
    let (Some(shoff), Some(shentsize), Some(shnum), Some(shstrndx)) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e))
    else {
        return false;
    };
    let header = |i: usize| shoff + i * shentsize;
    let Some(strtab) = u64_at(header(shstrndx) + 0x18) else { return false };
    (0..shnum).any(|i| {
        let Some(off) = u32_at(header(i)) else { return false };
        let start = strtab + off;
        let end = bytes.get(start..).and_then(|b| b.iter().position(|c| *c == 0)).map(|n| start + n);
        end.and_then(|e| bytes.get(start..e)) == Some(name.as_bytes())
    })
}

/// A ustar archive of regular files (POSIX.1-1988 header: name, mode, octal size, type `0`, `ustar\0` magic),
/// ending with the two zero blocks.
pub fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![];
    for (name, data) in files {
        let mut h = vec![0u8; 512];
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name.as_bytes()[..n]);
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        // The checksum: the header's byte sum with the checksum field read as spaces.
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// gzip with flate2's default level.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}
