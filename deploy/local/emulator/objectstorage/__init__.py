"""Emulated OCI Object Storage: on-disk backend, REST service, CloudEvents."""

from deploy.local.emulator.objectstorage.backend import (
    BucketInfo,
    ObjectMeta,
    ObjectStorageBackend,
    PartMeta,
    UploadMeta,
)
from deploy.local.emulator.objectstorage.service import ObjectStorageService

__all__ = ["BucketInfo", "ObjectMeta", "ObjectStorageBackend", "ObjectStorageService",
           "PartMeta", "UploadMeta"]
