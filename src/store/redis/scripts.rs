//! The store's Lua scripts, and the checked reading of their replies.
//!
//! Each runs with EVALSHA (a server that answers NOSCRIPT gets the script
//! loaded and the call once more), but for the two of every writing
//! request, `acquire` and `save`: where the server takes a function
//! library (Redis 7: `FUNCTION LOAD`, then `FCALL`), they run as its
//! functions, whose helpers Lua then defines once, when the library loads,
//! not on every call (8 % of the server's instructions for a writing
//! request). The library is named by a hash of its text, so processes of
//! different versions in one farm each find their own; one that is missing
//! (a restarted or flushed server) is loaded again. A server without
//! functions (before 7.0), one that refuses `FUNCTION`, and a cluster (a
//! library would be needed on every node) get the scripts. As functions
//! have no flags, Redis refuses them whole when it is out of memory, where
//! the scripts fail at their first write: `acquire` then does not claim
//! an expired session for Session_OnEnd (the sweeper does, with `claim`,
//! still a script); nothing is written either way. Each version of the
//! library stays on the server (it persists and replicates like data; a
//! few kB) until an operator removes an old one (`FUNCTION DELETE`).
//!
//! Every script touches only the keys it is given, all in one hash slot,
//! so each runs atomically on one Redis Cluster node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ::redis::{
    Cmd, ConnectionLike, ErrorKind, FromRedisValue, RedisError, RedisResult, Script,
    ServerErrorKind, ToRedisArgs, Value,
};
use sha2::{Digest, Sha256};

use super::codec::Fields;
use super::sources;
use crate::error::{self, Error, Result};

/// The body of the function library: `acquire` and `save` as Lua functions
/// of `(KEYS, ARGV)`, each script's file as it is, after the helpers they
/// call (each once).
const FUNCTIONS: &str = concat!(
    include_str!("scripts/lib/lock.lua"),
    include_str!("scripts/lib/claim.lua"),
    include_str!("scripts/lib/range.lua"),
    "local function acquire(KEYS, ARGV)\n",
    include_str!("scripts/acquire.lua"),
    "end\n",
    "local function save(KEYS, ARGV)\n",
    include_str!("scripts/save.lua"),
    "end\n",
);

/// The function library, and whether the server takes it.
struct Library {
    /// `libsess_` and a hash of the library's text.
    name: String,
    /// What `FUNCTION LOAD` is given.
    text: String,
    /// False once the server showed it has no functions or refuses them
    /// (or from the start, in a cluster): the scripts run instead.
    usable: AtomicBool,
}

impl Library {
    fn new(cluster: bool) -> Library {
        let hash = Sha256::digest(FUNCTIONS);
        let name = format!(
            "libsess_{}",
            hash[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut text = format!("#!lua name={name}\n{FUNCTIONS}");
        for f in ["acquire", "save"] {
            text.push_str(&format!("redis.register_function('{name}_{f}', {f})\n"));
        }
        Library {
            name,
            text,
            usable: AtomicBool::new(!cluster),
        }
    }

    /// Loads the library on the server behind `con`. `Ok(false)`: the
    /// server has no functions, or refuses them (the scripts run from now
    /// on). A library another process loaded meanwhile is this one.
    fn load(&self, con: &mut dyn ConnectionLike) -> RedisResult<bool> {
        let loaded: RedisResult<String> = ::redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(&self.text)
            .query(con);
        match loaded {
            Ok(_) => Ok(true),
            Err(e) if detail_starts(&e, "Library") && detail_ends(&e, "already exists") => Ok(true),
            // Refused: no such command (renamed away, a proxy), ACL.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Server(ServerErrorKind::ResponseError | ServerErrorKind::NoPerm)
                ) =>
            {
                self.usable.store(false, Ordering::Relaxed);
                Ok(false)
            }
            // Out of memory, a passing state, the connection: the call's.
            Err(e) => Err(e),
        }
    }
}

fn detail_starts(e: &RedisError, prefix: &str) -> bool {
    e.detail().is_some_and(|d| d.starts_with(prefix))
}

fn detail_ends(e: &RedisError, suffix: &str) -> bool {
    e.detail().is_some_and(|d| d.trim_end().ends_with(suffix))
}

/// A script, and the function of the library that runs it, if it is one.
pub(super) struct Lua {
    script: Script,
    function: Option<(String, Arc<Library>)>,
}

impl Lua {
    /// A script only (EVALSHA).
    fn script(source: &str) -> Lua {
        Lua {
            script: Script::new(source),
            function: None,
        }
    }

    /// The script `source`, which `library` also holds as function `name`.
    fn function(source: &str, name: &str, library: &Arc<Library>) -> Lua {
        Lua {
            script: Script::new(source),
            function: Some((format!("{}_{name}", library.name), library.clone())),
        }
    }

    /// The function to call, while the server takes the library.
    fn usable_function(&self) -> Option<&(String, Arc<Library>)> {
        self.function
            .as_ref()
            .filter(|(_, lib)| lib.usable.load(Ordering::Relaxed))
    }
}

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) acquire: Lua,
    pub(super) read: Lua,
    pub(super) slide: Lua,
    pub(super) create: Lua,
    pub(super) save: Lua,
    pub(super) release: Lua,
    pub(super) remove: Lua,
    pub(super) regenerate: Lua,
    pub(super) claim: Lua,
    pub(super) lease: Lua,
    pub(super) count: Lua,
    pub(super) due: Lua,
}

impl Scripts {
    /// The scripts; `cluster`: the servers form a Redis Cluster (no
    /// function library).
    pub(super) fn new(cluster: bool) -> Scripts {
        let library = Arc::new(Library::new(cluster));
        Scripts {
            acquire: Lua::function(sources::ACQUIRE, "acquire", &library),
            read: Lua::script(sources::READ),
            slide: Lua::script(sources::SLIDE),
            create: Lua::script(sources::CREATE),
            save: Lua::function(sources::SAVE, "save", &library),
            release: Lua::script(sources::RELEASE),
            remove: Lua::script(sources::REMOVE),
            regenerate: Lua::script(sources::REGENERATE),
            claim: Lua::script(sources::CLAIM),
            lease: Lua::script(sources::LEASE),
            count: Lua::script(sources::COUNT),
            due: Lua::script(sources::DUE),
        }
    }
}

/// One call of a script (FCALL of its function, or EVALSHA), its keys and
/// arguments written once, straight into the command (the `redis` crate's
/// `ScriptInvocation` first copies each into a vector of its own, then
/// into the command).
pub(super) struct Call<'a> {
    lua: &'a Lua,
    /// Whether `cmd` is an FCALL.
    fcall: bool,
    cmd: Cmd,
}

impl<'a> Call<'a> {
    /// A call of `lua` on `keys` (all in one hash slot).
    pub(super) fn new<K: ToRedisArgs>(lua: &'a Lua, keys: &[K]) -> Call<'a> {
        // Room for a writing request's call without growing (the store's
        // largest common calls: about 20 arguments, a few hundred bytes).
        let mut cmd = Cmd::with_capacity(24, 512);
        let fcall = match lua.usable_function() {
            Some((name, _)) => {
                cmd.arg("FCALL").arg(name);
                true
            }
            None => {
                cmd.arg("EVALSHA").arg(lua.script.get_hash());
                false
            }
        };
        cmd.arg(keys.len());
        for k in keys {
            cmd.arg(k);
        }
        Call { lua, fcall, cmd }
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

    /// Runs the call. A server without the script (NOSCRIPT: restarted,
    /// flushed, or another node) gets it loaded and the call once more; one
    /// without the library, likewise; one without functions, or refusing
    /// them, gets the script instead (and every call after). An argument
    /// longer than the server's `proto-max-bulk-len` is
    /// [`refused`](super::conn::refused), naming its length; a connection
    /// dropped while a long one was sent
    /// [says it may be that](super::conn::dropped_sending).
    pub(super) fn invoke<T: FromRedisValue>(&self, con: &mut dyn ConnectionLike) -> RedisResult<T> {
        match self.cmd.query(con) {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.lua.script.load(con)?;
                self.cmd.query(con)
            }
            Err(e) if self.fcall && detail_starts(&e, "Function not found") => {
                let library = self.lua.function.as_ref().map(|(_, lib)| lib);
                match library.map(|lib| lib.load(con)).transpose()? {
                    Some(true) => self.cmd.query(con),
                    _ => self.as_script().invoke(con),
                }
            }
            Err(e)
                if self.fcall
                    && (detail_starts(&e, "unknown command")
                        || e.kind() == ErrorKind::Server(ServerErrorKind::NoPerm)) =>
            {
                if let Some((_, lib)) = &self.lua.function {
                    lib.usable.store(false, Ordering::Relaxed);
                }
                self.as_script().invoke(con)
            }
            Err(e) if detail_starts(&e, "Protocol error: invalid bulk length") => {
                Err(super::conn::refused(self.longest_arg()))
            }
            Err(e) if e.is_connection_dropped() => {
                Err(super::conn::dropped_sending(e, self.longest_arg()))
            }
            reply => reply,
        }
    }

    /// The length of the longest argument.
    fn longest_arg(&self) -> usize {
        let lengths = self.cmd.args_iter().filter_map(|arg| match arg {
            ::redis::Arg::Simple(bytes) => Some(bytes.len()),
            _ => None,
        });
        lengths.max().unwrap_or(0)
    }

    /// The same call as an EVALSHA of the script.
    fn as_script(&self) -> Call<'a> {
        let mut cmd = Cmd::with_capacity(24, 512);
        cmd.arg("EVALSHA").arg(self.lua.script.get_hash());
        for arg in self.cmd.args_iter().skip(2) {
            if let ::redis::Arg::Simple(bytes) = arg {
                cmd.arg(bytes);
            }
        }
        Call {
            lua: self.lua,
            fcall: false,
            cmd,
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
