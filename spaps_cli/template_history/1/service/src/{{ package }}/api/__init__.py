"""HTTP API of the service: the router registry and the service's own small routers."""
