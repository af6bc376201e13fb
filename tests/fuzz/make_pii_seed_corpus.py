#!/usr/bin/env python3
"""Writes seed inputs for pii_scanner_fuzz into DIR: one file per seed, byte 0 = key selector, then the
value. The values are written here (no external data): each detector's shapes, near misses, encodings and
the pathological runs the scanner must handle in linear time."""
import os
import sys

VALUES = [
    "Hi, I'm Ana Silva, reach me at ana.silva@example.com or +1 (415) 555-2671.",
    "call me at 07911 123456 or 030 12345678",
    "card 4111 1111 1111 1111 exp 12/29, cvv 123",
    "IBAN DE89 3704 0044 0532 0130 00 / GB82WEST12345698765432",
    "my social is 536-90-4399",
    "from 192.168.1.20 and 2001:db8:a81b:e67d::c8 (port 10.0.0.1:8443)",
    "key sk-proj-abcDEF1234567890abcdEFGH1234 and AKIAIOSFODNN7EXAMPLE and ghp_0123456789abcdefABCDEF0123456789abcd",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "password=hunter2! api_key: 8f14e45fceea167a5a36dedd4bea2543",
    "https://app.example.com/reset?email=jane%40example.com&next=%2Fhome",
    "logo@2x.png v1.2.3.4 build 2.1.4.13 ORD-884118-8521 2025-10-06T12:00:00Z",
    "Regards,\nDr. Louis Wolff IV",
    "卢晓博 권도훈 Nagy Anna, Rua Júlia Neto 3, San Francisco",
    "\xff\xfe invalid \xc3\x28 utf-8 \xe2\x82",
    "1" * 5000,
    "@" * 3000,
    "a." * 3000,
    "jane@" * 1000,
    "4111 " * 1000,
    "+1 " * 1000,
    "Ana " * 1000,
    ":" * 2000 + "a:" * 1000,
    "%40" * 1000,
    "AB12" * 1000,
]


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, value in enumerate(VALUES):
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        with open(os.path.join(out, f"seed-{i:03d}"), "wb") as f:
            f.write(bytes([i % 16]) + data)


if __name__ == "__main__":
    main()
