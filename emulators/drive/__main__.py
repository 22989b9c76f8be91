"""``python -m emulators.drive --host 127.0.0.1 --port P --data-dir D``: serve with waitress."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import waitress

from emulators.drive.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.drive",
                                     description="Google Drive v3 emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19070)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--fault-seed", type=int, default=None,
                        help="seed the fault-injection random generator (reproducible runs)")
    parser.add_argument("--scan-warning-bytes", type=int, default=None,
                        help="files above this size get Google's virus-scan warning page "
                             "until confirm=t (default Google's 100 MB; 0 = never)")
    parser.add_argument("--usercontent-port", type=int, default=None,
                        help="second port, the drive.usercontent.google.com host that /uc "
                             "redirects to (default --port + 1)")
    parser.add_argument("--file-download-quota", type=int, default=0,
                        help="downloads of one file per UTC day before its public link "
                             "answers Google's 'Too many users' page (0 = no limit)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    usercontent = args.usercontent_port or args.port + 1
    app = create_app(args.data_dir, args.fault_seed, args.scan_warning_bytes, usercontent,
                     args.file_download_quota)
    waitress.serve(app, listen=f"{args.host}:{args.port} {args.host}:{usercontent}",
                   threads=args.threads,
                   channel_timeout=300, connection_limit=200, ident="drive-emulator",
                   inbuf_overflow=1024 * 1024)


if __name__ == "__main__":
    main()
