#!/usr/bin/python3
"""Send QMP commands, one JSON object per line of standard input, to the QEMU
monitor listening on the unix socket named by the first argument. Prints each
reply's "return" as JSON, one per line; exits 1 at the first error reply."""
import json
import socket
import sys


def main(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    replies = sock.makefile("r")

    def call(command):
        sock.sendall(json.dumps(command).encode() + b"\n")
        while True:
            reply = json.loads(replies.readline())
            if "event" not in reply:
                return reply

    json.loads(replies.readline())  # the greeting
    call({"execute": "qmp_capabilities"})
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = call(json.loads(line))
        if "error" in reply:
            print(json.dumps(reply["error"]))
            return 1
        print(json.dumps(reply["return"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
