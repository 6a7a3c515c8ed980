"""Every A/B variant in bench/gpu/plan.sh must change its example, each of its sed commands on its
own: an edit that no longer matches (after the example was rewritten) would time the default
under the variant's name. Run by the tests and by prepare.sh; exits 1 naming each dead command.

    python3 bench/gpu/check_variants.py
"""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def variants():
    script = 'source bench/gpu/plan.sh; printf "%s\\n" "${VARIANTS[@]}"'
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def commands(edit):
    """The edit's commands, one by one, each with its address and those of the groups it is in:
    `ADDR {s/a/b/;s/c/d/}` gives `ADDR {s/a/b/}` and `ADDR {s/c/d/}`. Knows the commands the
    variants use: s, d and groups."""
    out = []

    def delimited(i, delim):  # index past the closing delimiter, skipping escapes
        while edit[i] != delim:
            i += 2 if edit[i] == "\\" else 1
        return i + 1

    def address(i):
        start = i
        for _ in range(2):
            if edit[i] == "/":
                i = delimited(i + 1, "/")
            while i < len(edit) and (edit[i].isdigit() or edit[i] == "$"):
                i += 1
            if edit[i] != ",":
                break
            i += 1
        return i, edit[start:i].strip()

    def block(i, prefix):
        while i < len(edit):
            while i < len(edit) and edit[i] in " ;\n":
                i += 1
            if i >= len(edit) or edit[i] == "}":
                return i + 1
            i, addr = address(i)
            while edit[i] == " ":
                i += 1
            if edit[i] == "{":
                i = block(i + 1, prefix + [addr + " {"])
                continue
            start = i
            if edit[i] == "s":
                d = edit[i + 1]
                i = delimited(delimited(i + 2, d), d)
                while i < len(edit) and edit[i] not in ";}":
                    i += 1
            else:
                i += 1
            cmd = addr + edit[start:i]
            out.append("".join(prefix) + cmd + "}" * len(prefix))
        return i

    block(0, [])
    return out


def main():
    bad = 0
    for name, file, edit, *_ in variants():
        if edit == "s/^//":  # another mapping of the example, unedited
            continue
        path = os.path.join(ROOT, "examples", file)
        text = open(path).read()
        for cmd in commands(edit):
            edited = subprocess.run(["sed", cmd, path], check=True, capture_output=True,
                                    text=True).stdout
            if edited == text:
                print(f"variant {name}: '{cmd}' changes nothing in examples/{file}",
                      file=sys.stderr)
                bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
