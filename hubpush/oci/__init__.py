"""The OCI side: registry addresses and media types, the distribution API client and its
authentication, and the metadata artifact stored in the registry next to each image."""
