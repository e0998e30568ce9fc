#!/usr/bin/env python3
"""Partial frames trickled in: N WebSocket connections to a natterd on 127.0.0.1
each send one 60,000-byte text frame 40 bytes at a time (every 2 ms, for at most
5 s), and the server's CPU is printed. Loopback only; stops by itself.

Usage: bench/trickle.py PORT PID [CONNECTIONS]   (natterd --no-tls on PORT)
"""
import os
import socket
import struct
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
connections = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    s.recv(1000)
    connections.append(s)
payload = b"x" * 60000
mask = b"\x01\x02\x03\x04"
masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
frame = bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(payload)) + mask + masked


def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return int(fields[11]) + int(fields[12])


start_ticks, start = cpu_ticks(), time.time()
offset = 0
while time.time() - start < 5 and offset < len(frame):
    for s in connections:
        s.send(frame[offset:offset + 40])
    offset += 40
    time.sleep(0.002)
seconds = time.time() - start
print("server CPU while %d connections trickle 40-byte pieces for %.1f s: %.0f %%"
      % (count, seconds, (cpu_ticks() - start_ticks) / os.sysconf("SC_CLK_TCK") / seconds * 100))
