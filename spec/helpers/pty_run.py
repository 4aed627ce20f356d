#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Runs a command on a new pseudo-terminal (its controlling terminal, stdin, stdout and stderr) and
# answers prompts like expect(1): each --answer PROMPT=TEXT sends TEXT and a newline the first
# time PROMPT appears in the output. Prints everything the terminal showed; exits with the
# command's status (124 after --timeout seconds). Python 3 standard library only.
import argparse
import os
import pty
import select
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answer", action="append", default=[], help="PROMPT=TEXT")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.command and a.command[0] == "--":
        a.command = a.command[1:]
    answers = []
    for item in a.answer:
        prompt, _, text = item.partition("=")
        answers.append([prompt.encode(), text.encode(), False])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(a.command[0], a.command)
    seen = b""
    deadline = time.time() + a.timeout
    status = None
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            seen += chunk
            for ans in answers:
                if not ans[2] and ans[0] in seen:
                    ans[2] = True
                    os.write(fd, ans[1] + b"\n")
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            # drain what is left
            try:
                while select.select([fd], [], [], 0.1)[0]:
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break
                    seen += chunk
            except OSError:
                pass
            break
    sys.stdout.write(seen.decode("utf-8", "replace"))
    sys.stdout.flush()
    while status is None and time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        else:
            time.sleep(0.05)
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.exit(124)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
