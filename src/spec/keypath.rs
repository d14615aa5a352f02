//! Typed parsing of an untyped config section, with errors that name the key at fault
//! (`process.user.uid`) without a path-tracking deserializer.
//!
//! A path-tracking wrapper (serde_path_to_error) is generic over every type it passes
//! through: for oci-spec's Spec that was a quarter of berth's binary. Instead the value
//! is printed as JSON with one key or element per line, noting each line's key path,
//! and parsed from that text: serde_json's error names a line, the line names the key.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// A typed parse that failed: the key path (`.` for the top level) and serde's message.
#[derive(Debug)]
pub struct KeyError {
    pub path: String,
    pub msg: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.msg)
    }
}

/// Parse `v` as a `T`; an error names the key (path) it is about.
pub fn deserialize<T: DeserializeOwned>(v: &Value) -> Result<T, KeyError> {
    // Straight from the value, as every good config goes; the printing is only to say
    // where a bad one is wrong.
    let first = match T::deserialize(v) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let mut p = Printer::default();
    p.value(v, ".");
    let found = serde_json::from_str::<T>(&p.out).map_err(|e| {
        // serde_json appends the position to the message; the path replaces it.
        let full = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        let msg = full.strip_suffix(&at).unwrap_or(&full).to_string();
        let path = p.paths.get(e.line().saturating_sub(1)).cloned();
        KeyError {
            path: path.unwrap_or_else(|| ".".to_string()),
            msg,
        }
    });
    match found {
        Err(e) => Err(e),
        // The text parsed where the value did not: say what the value's parse said.
        Ok(_) => Err(KeyError {
            path: ".".to_string(),
            msg: first.to_string(),
        }),
    }
}

/// JSON text with a line per key or element, and the key path of each line.
#[derive(Default)]
struct Printer {
    out: String,
    /// `paths[i]`: the path of line i + 1; line 1 is the top level.
    paths: Vec<String>,
}

impl Printer {
    fn value(&mut self, v: &Value, path: &str) {
        if self.paths.is_empty() {
            self.paths.push(path.to_string());
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    let child = if path == "." {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.line(i > 0, &child);
                    self.out.push_str(&Value::String(k.clone()).to_string());
                    self.out.push(':');
                    self.value(x, &child);
                }
                self.line(false, path);
                self.out.push('}');
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('[');
                for (i, x) in a.iter().enumerate() {
                    let child = if path == "." {
                        format!("[{i}]")
                    } else {
                        format!("{path}[{i}]")
                    };
                    self.line(i > 0, &child);
                    self.value(x, &child);
                }
                self.line(false, path);
                self.out.push(']');
            }
            _ => self.out.push_str(&v.to_string()),
        }
    }

    /// End the line (after a comma if `comma`) and start one about `path`. serde_json
    /// places an error just past the character after the token at fault: a space keeps
    /// that character on the token's line.
    fn line(&mut self, comma: bool, path: &str) {
        if comma {
            self.out.push(',');
        }
        self.out.push_str(" \n");
        self.paths.push(path.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Mount, Process, Spec};
    use serde_json::json;

    fn err<T: DeserializeOwned + fmt::Debug>(v: Value) -> String {
        deserialize::<T>(&v).unwrap_err().to_string()
    }

    #[test]
    fn names_the_key_of_a_bad_value() {
        let e = err::<Process>(json!({"cwd": "/", "user": {"uid": -1, "gid": 0}}));
        assert!(
            e.starts_with("user.uid: invalid value: integer `-1`"),
            "{e}"
        );
        let e = err::<Process>(json!({"cwd": "/", "user": {"gid": 0, "uid": "x"}}));
        assert!(e.starts_with("user.uid: invalid type: string \"x\""), "{e}");
        let v = json!({"ociVersion": "1.0.0", "linux": {"namespaces": [{"type": "pid"}, {"type": "bogus"}]}});
        let e = err::<Spec>(v);
        assert!(
            e.starts_with("linux.namespaces[1].type: unknown variant `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn names_the_object_a_field_is_missing_from() {
        let v = json!({"ociVersion": "1.0.0", "mounts": [{"destination": "/a"}, {"type": "bind"}]});
        assert_eq!(err::<Spec>(v), "mounts[1]: missing field `destination`");
        assert_eq!(
            err::<Mount>(json!({"type": "bind"})),
            ".: missing field `destination`"
        );
    }

    #[test]
    fn parses_what_is_valid() {
        let v =
            json!({"cwd": "/", "user": {"uid": 1, "gid": 2}, "args": ["sh", "-c", "x"], "env": []});
        let p: Process = deserialize(&v).unwrap();
        assert_eq!(p.user().uid(), 1);
        assert_eq!(
            p.args().as_deref(),
            Some(&["sh".to_string(), "-c".into(), "x".into()][..])
        );
    }
}
