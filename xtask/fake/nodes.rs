//! `docker exec`, `docker cp` and `docker network connect` on containers the fakes know: those `docker run -d`
//! started and kind's node containers. Only existence is modelled (what kind's local-registry setup needs); the
//! answers were observed on this machine (docker 28.2 client, engine 20.10.24).

use anyhow::Result;

use crate::ctx::Ctx;
use crate::reply::Reply;
use crate::util::Flags;

/// moby's not-found error, as the CLI relays it (observed for exec, cp and network connect alike), exit 1.
fn no_such_container(name: &str) -> Reply {
    Reply::fail(1, format!("Error response from daemon: No such container: {name}\n"))
}

fn exists(ctx: &Ctx, name: &str) -> Result<bool> {
    Ok(crate::daemon::container_exists(ctx, name)? || crate::kind::node_exists(ctx, name)?)
}

/// `docker exec [-i] CONTAINER CMD...`: succeeds silently on a known container (the fake runs nothing in it).
pub fn exec(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["-e", "--env", "-u", "--user", "-w", "--workdir"]);
    let Some(name) = f.pos.first() else {
        return Ok(Reply::fail(1, "\"docker exec\" requires at least 2 arguments.\nSee 'docker exec --help'.\n"));
    };
    Ok(if exists(ctx, name)? { Reply::default() } else { no_such_container(name) })
}

/// `docker cp SRC CONTAINER:PATH`: the source must exist; success prints nothing when stderr is not a terminal
/// (observed).
pub fn cp(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    let [src, dst] = f.pos.as_slice() else {
        return Ok(Reply::fail(1, "\"docker cp\" requires exactly 2 arguments.\nSee 'docker cp --help'.\n"));
    };
    let Some((name, _)) = dst.split_once(':') else {
        return Ok(Reply::fail(1, "must specify at least one container source\n"));
    };
    if !ctx.cwd().join(src).exists() {
        return Ok(Reply::fail(1, format!("lstat {src}: no such file or directory\n")));
    }
    Ok(if exists(ctx, name)? { Reply::default() } else { no_such_container(name) })
}

/// `docker network connect NETWORK CONTAINER`: connecting twice succeeds on engine 20.10 (observed; newer engines
/// answer `endpoint with name ... already exists in network ...`).
pub fn network(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    match f.pos.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["connect", _network, container] => {
            Ok(if exists(ctx, container)? { Reply::default() } else { no_such_container(container) })
        }
        _ => Ok(Reply::fail(1, "docker: 'network' needs a subcommand the fake knows: connect\n")),
    }
}
