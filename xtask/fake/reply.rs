//! What one invocation prints and how it exits; `emit` writes it out (and blocks forever if asked to).

use std::io::Write;

#[derive(Default, Debug)]
pub struct Reply {
    pub out: Vec<u8>,
    pub err: String,
    pub code: i32,
    /// Print, flush, then sleep until killed (`kubectl port-forward`, `minikube service --url` tunnels, hang tests).
    pub block: bool,
}

impl Reply {
    pub fn ok(out: impl Into<String>) -> Reply {
        Reply { out: out.into().into_bytes(), ..Reply::default() }
    }

    pub fn fail(code: i32, err: impl Into<String>) -> Reply {
        Reply { err: err.into(), code, ..Reply::default() }
    }

    pub fn bytes(out: Vec<u8>) -> Reply {
        Reply { out, ..Reply::default() }
    }

    pub fn with_err(mut self, err: impl AsRef<str>) -> Reply {
        self.err.push_str(err.as_ref());
        self
    }

    pub fn with_code(mut self, code: i32) -> Reply {
        self.code = code;
        self
    }

    pub fn blocking(mut self) -> Reply {
        self.block = true;
        self
    }

    /// This reply's output followed by `next`'s; `next` decides the exit code.
    pub fn then(mut self, next: Reply) -> Reply {
        self.out.extend_from_slice(&next.out);
        self.err.push_str(&next.err);
        self.code = next.code;
        self.block |= next.block;
        self
    }

    /// Writes stdout, then stderr; returns the exit code (never returns when blocking).
    pub fn emit(&self) -> i32 {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&self.out);
        let _ = out.flush();
        drop(out);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(self.err.as_bytes());
        let _ = err.flush();
        drop(err);
        if self.block {
            // The default SIGTERM/SIGKILL action ends the process; no handler is installed on purpose.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        self.code
    }
}
