#!/usr/bin/env python3
"""Regenerates xtask/tests/fixtures/flags/{helm,minikube}.tsv: the flags each helm / minikube subcommand that the
xtask runs defines, per upstream tag, read from the Go source with `git show TAG:FILE`. Each row cites the file and
line that defines the flag. The CLIs cannot run here; xtask/tests/it/emitted_flags.rs checks every emitted command line
against these tables.

Usage: scripts/dev/flag-tables.py HELM_GIT_DIR MINIKUBE_GIT_DIR   (clones of helm/helm and kubernetes/minikube)

A command's flags are those of its own file plus the files of the helpers it calls (values/output/wait flags) and
the global flags; a helper file can define flags the command does not register, so the tables may allow more than
the CLI does, never less.
"""
import re
import subprocess
import sys

HELM_TAGS = ["v3.14.0", "v3.21.4", "v4.0.0", "v4.2.2"]
MINIKUBE_TAGS = ["v1.32.0", "v1.35.0", "v1.38.0"]

HELM_COMMANDS = {
    "version": ["version.go"],
    "lint": ["lint.go", "flags.go"],
    "template": ["template.go", "install.go", "flags.go"],
    "status": ["status.go", "flags.go"],
    "history": ["history.go", "flags.go"],
    "upgrade": ["upgrade.go", "flags.go"],
    "test": ["release_testing.go", "flags.go"],
    "rollback": ["rollback.go", "flags.go"],
    "uninstall": ["uninstall.go", "flags.go"],
}
MINIKUBE_COMMANDS = {
    "version": ["cmd/minikube/cmd/version.go"],
    "status": ["cmd/minikube/cmd/status.go"],
    "profile list": ["cmd/minikube/cmd/config/profile_list.go"],
    "start": ["cmd/minikube/cmd/start_flags.go"],
    "addons list": ["cmd/minikube/cmd/config/addons_list.go"],
    "addons enable": ["cmd/minikube/cmd/config/enable.go"],
    "image load": ["cmd/minikube/cmd/image.go"],
    "image ls": ["cmd/minikube/cmd/image.go"],
    "service": ["cmd/minikube/cmd/service.go"],
    "ip": ["cmd/minikube/cmd/ip.go"],
    "stop": ["cmd/minikube/cmd/stop.go"],
    "delete": ["cmd/minikube/cmd/delete.go"],
}
MINIKUBE_CONST_FILES = ["pkg/minikube/config/config.go", "pkg/minikube/constants/constants.go"]

CALL = re.compile(r"\.((?:Bool|String|Int|Int32|Int64|Uint|Uint16|Float64|Duration|StringSlice|StringArray|"
                  r"StringToString|IntSlice)?(?:Var)?(?:P)?)\(")
ARG = re.compile(r'\s*(?:&?[\w.\[\]()*&]+\s*,\s*)?')


def show(repo, tag, path):
    r = subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def consts(text):
    return dict(re.findall(r'^\s*(\w+)\s*(?:string\s*)?=\s*"([^"]+)"', text or "", re.M))


def split_args(s):
    """Top-level comma-separated arguments of a call whose text starts after '('."""
    depth, cur, out, q = 0, "", [], None
    for ch in s:
        if q:
            cur += ch
            if ch == q and not cur.endswith("\\" + q):
                q = None
            continue
        if ch in "\"`":
            q = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                out.append(cur.strip())
                return out
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    return out


def flags_in(text, path, known):
    rows = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        for m in CALL.finditer(line):
            method = m.group(1)
            if not method or method in ("P",) or "Flags" in line[: m.start()][-1:]:
                pass
            if not method:
                continue
            # Only flag-set calls: `f.`, `fs.`, `flags.`, `cmd.Flags().`, `PersistentFlags().`.
            before = line[: m.start()]
            if not re.search(r"(\bf|\bfs|\bflags|Flags\(\)|flagSet|\bflagset|\bset)$", before):
                continue
            args = split_args(" ".join([line[m.end():]] + lines[i + 1:i + 4]))
            if method.endswith("Var") or method.endswith("VarP") or method in ("Var", "VarP"):
                args = args[1:]
            if not args:
                continue
            name = args[0].strip('"`') if args[0].startswith(('"', "`")) else known.get(args[0].split(".")[-1])
            if not name or not re.fullmatch(r"[a-z][a-z0-9-]*", name):
                continue
            src = f"{path}:{i + 1}"
            rows.append(("--" + name, src))
            if method.endswith("P") and len(args) > 1 and args[1].startswith('"') and len(args[1]) == 3:
                rows.append(("-" + args[1][1], src))
    return rows


def helm(repo):
    out = []
    for tag in HELM_TAGS:
        base = "cmd/helm/" if tag.startswith("v3") else "pkg/cmd/"
        env = show(repo, tag, "pkg/cli/environment.go")
        glob = flags_in(env, "pkg/cli/environment.go", {})
        for cmd, files in HELM_COMMANDS.items():
            seen = set()
            for f in files:
                text = show(repo, tag, base + f)
                for flag, src in flags_in(text, base + f, consts(text)) + glob:
                    if flag not in seen:
                        seen.add(flag)
                        out.append((tag, cmd, flag, src))
            out.append((tag, cmd, "--help", "cobra"))
    return out


def minikube(repo):
    out = []
    for tag in MINIKUBE_TAGS:
        known = {}
        for f in MINIKUBE_CONST_FILES:
            known.update(consts(show(repo, tag, f)))
        root = show(repo, tag, "cmd/minikube/cmd/root.go")
        glob = flags_in(root, "cmd/minikube/cmd/root.go", {**known, **consts(root)})
        for cmd, files in MINIKUBE_COMMANDS.items():
            seen = set()
            for f in files:
                text = show(repo, tag, f)
                for flag, src in flags_in(text, f, {**known, **consts(text)}) + glob:
                    if flag not in seen:
                        seen.add(flag)
                        out.append((tag, cmd, flag, src))
            out.append((tag, cmd, "--help", "cobra"))
    return out


def write(path, rows, repo_name):
    with open(path, "w") as f:
        f.write(f"# Flags per subcommand and tag, read from {repo_name} with scripts/dev/flag-tables.py.\n")
        f.write("# tag\tcommand\tflag\tdefined at (file:line in that tag)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    helm_repo, minikube_repo = sys.argv[1], sys.argv[2]
    write("xtask/tests/fixtures/flags/helm.tsv", helm(helm_repo), "helm/helm")
    write("xtask/tests/fixtures/flags/minikube.tsv", minikube(minikube_repo), "kubernetes/minikube")
