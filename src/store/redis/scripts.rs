//! The store's Lua scripts (run with EVALSHA; a server that answers
//! NOSCRIPT gets the script loaded and the call once more), and the checked
//! reading of their replies.
//!
//! Every script touches only the keys it is given, all in one hash slot,
//! so each runs atomically on one Redis Cluster node.

use ::redis::{
    Cmd, ConnectionLike, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind,
    ToRedisArgs, Value,
};

use super::codec::Fields;
use super::sources;
use crate::error::{self, Error, Result};

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) acquire: Script,
    pub(super) read: Script,
    pub(super) slide: Script,
    pub(super) create: Script,
    pub(super) save: Script,
    pub(super) release: Script,
    pub(super) remove: Script,
    pub(super) regenerate: Script,
    pub(super) claim: Script,
    pub(super) lease: Script,
    pub(super) count: Script,
    pub(super) due: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            acquire: Script::new(sources::ACQUIRE),
            read: Script::new(sources::READ),
            slide: Script::new(sources::SLIDE),
            create: Script::new(sources::CREATE),
            save: Script::new(sources::SAVE),
            release: Script::new(sources::RELEASE),
            remove: Script::new(sources::REMOVE),
            regenerate: Script::new(sources::REGENERATE),
            claim: Script::new(sources::CLAIM),
            lease: Script::new(sources::LEASE),
            count: Script::new(sources::COUNT),
            due: Script::new(sources::DUE),
        }
    }
}

/// One EVALSHA of a script, its keys and arguments written once, straight
/// into the command (the `redis` crate's `ScriptInvocation` first copies
/// each into a vector of its own, then into the command).
pub(super) struct Call<'a> {
    script: &'a Script,
    cmd: Cmd,
}

impl<'a> Call<'a> {
    /// A call of `script` on `keys` (all in one hash slot).
    pub(super) fn new<K: ToRedisArgs>(script: &'a Script, keys: &[K]) -> Call<'a> {
        // Room for a writing request's call without growing (the store's
        // largest common calls: about 20 arguments, a few hundred bytes).
        let mut cmd = Cmd::with_capacity(24, 512);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys.len());
        for k in keys {
            cmd.arg(k);
        }
        Call { script, cmd }
    }

    /// Appends an argument (`ARGV[i]` in the script).
    pub(super) fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Call<'a> {
        self.cmd.arg(arg);
        self
    }

    /// Appends `v`, or '' for none.
    pub(super) fn arg_or_empty(&mut self, v: Option<u64>) -> &mut Call<'a> {
        match v {
            Some(v) => self.arg(v),
            None => self.arg(""),
        }
    }

    /// Runs the call; a server without the script (NOSCRIPT: restarted,
    /// flushed, or another node) gets it loaded and the call once more.
    pub(super) fn invoke<T: FromRedisValue>(&self, con: &mut dyn ConnectionLike) -> RedisResult<T> {
        match self.cmd.query(con) {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.script.load(con)?;
                self.cmd.query(con)
            }
            reply => reply,
        }
    }
}

/// `E_STORE_UNAVAILABLE` for a reply of the wrong shape.
pub(super) fn bad_reply(what: &str) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!("Redis gave an unexpected reply: {what}"),
    )
}

/// A `{status, fields?}` reply: the status and, if present, the fields of a
/// hash (HGETALL's flat name/value list).
pub(super) fn status_and_fields(v: Value) -> Result<(i64, Option<Fields>)> {
    let Value::Array(mut items) = v else {
        return Err(bad_reply("not an array"));
    };
    if items.is_empty() || items.len() > 2 {
        return Err(bad_reply("not {status, fields}"));
    }
    let fields = if items.len() == 2 {
        items.pop().map(fields).transpose()?
    } else {
        None
    };
    match items.pop() {
        Some(Value::Int(status)) => Ok((status, fields)),
        _ => Err(bad_reply("no status")),
    }
}

/// A hash's fields, from a flat name/value list (HGETALL's reply).
pub(super) fn fields(v: Value) -> Result<Fields> {
    let Value::Array(flat) = v else {
        return Err(bad_reply("fields are not an array"));
    };
    if flat.len() % 2 != 0 {
        return Err(bad_reply("an odd field list"));
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        match (name, value) {
            (Value::BulkString(n), Value::BulkString(v)) => out.push((n, v)),
            _ => return Err(bad_reply("a field is not a string")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_checked() {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let ok = Value::Array(vec![Value::Int(1), Value::Array(vec![b("c"), b("5")])]);
        let (s, f) = status_and_fields(ok).unwrap();
        assert_eq!(s, 1);
        assert_eq!(f.unwrap(), vec![(b"c".to_vec(), b"5".to_vec())]);
        assert_eq!(
            status_and_fields(Value::Array(vec![Value::Int(0)])).unwrap(),
            (0, None)
        );
        for bad in [
            Value::Nil,
            Value::Int(1),
            Value::Array(vec![]),
            Value::Array(vec![b("x")]),
            Value::Array(vec![Value::Int(1), Value::Array(vec![b("c")])]),
            Value::Array(vec![Value::Int(1), Value::Array(vec![b("c"), Value::Nil])]),
            Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        ] {
            assert!(status_and_fields(bad).is_err());
        }
    }
}
