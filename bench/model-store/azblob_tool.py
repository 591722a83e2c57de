#!/usr/bin/env python3
"""Baseline for the azblob:// rows: what a user would write with azure-storage-blob.

    azblob_tool.py create-container CONTAINER
    azblob_tool.py delete-container CONTAINER
    azblob_tool.py upload CONTAINER BLOB FILE
    azblob_tool.py download CONTAINER BLOB FILE

Credentials and endpoint come from AZURE_STORAGE_CONNECTION_STRING (Azurite on 127.0.0.1).
Transfers use the SDK defaults plus max_concurrency=4 (ShipML's default block concurrency).
"""

from __future__ import annotations

import os
import sys

from azure.storage.blob import BlobServiceClient

CONCURRENCY = 4


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    service = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    cmd, container = argv[0], argv[1]
    if cmd == "create-container":
        service.create_container(container)
    elif cmd == "delete-container":
        service.delete_container(container)
    elif cmd == "upload" and len(argv) == 4:
        blob = service.get_blob_client(container, argv[2])
        with open(argv[3], "rb") as f:
            blob.upload_blob(f, overwrite=True, max_concurrency=CONCURRENCY)
    elif cmd == "download" and len(argv) == 4:
        blob = service.get_blob_client(container, argv[2])
        with open(argv[3], "wb") as f:
            blob.download_blob(max_concurrency=CONCURRENCY).readinto(f)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
