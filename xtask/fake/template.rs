//! Just enough of Go's text/template for the `--format` strings the xtask passes to docker and helm:
//! `{{.A.B}}`, `{{json .}}`, `{{json .A}}`, literal text, and docker's `\t`/`\n` escapes
//! (docker/cli `cli/command/formatter/formatter.go` replaces them before parsing).

use serde_json::Value;

fn resolve<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    if path == "." {
        return Some(v);
    }
    let mut cur = v;
    for key in path.trim_start_matches('.').split('.') {
        cur = cur.get(key)?;
    }
    Some(cur)
}

/// Go's `%v` of a JSON-decoded value, roughly.
fn plain(v: Option<&Value>) -> String {
    match v {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => format!("[{}]", a.iter().map(|x| plain(Some(x))).collect::<Vec<_>>().join(" ")),
        Some(Value::Object(m)) => {
            format!("map[{}]", m.iter().map(|(k, x)| format!("{k}:{}", plain(Some(x)))).collect::<Vec<_>>().join(" "))
        }
        Some(other) => other.to_string(),
    }
}

pub fn render(template: &str, v: &Value) -> String {
    let t = template.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = t.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let action = rest[start + 2..start + end].trim().trim_start_matches('-').trim_end_matches('-').trim();
        if let Some(arg) = action.strip_prefix("json ") {
            out.push_str(&resolve(v, arg).map(|x| x.to_string()).unwrap_or_else(|| "null".into()));
        } else if let Some(arg) = action.strip_prefix("println ") {
            out.push_str(&plain(resolve(v, arg)));
            out.push('\n');
        } else {
            out.push_str(&plain(resolve(v, action)));
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}
