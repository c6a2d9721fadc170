"""One module per surface of the gateway: the distribution API, the token service, the hub API."""
